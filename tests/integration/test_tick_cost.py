"""The tick's cost grows with the due jobs, not the future ones: every query it sends is an
index scan, never a scan of the whole table (PostgreSQL's plans, on 30,000 future rows)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from future_celery import ScheduledJob, dispatch

pytestmark = pytest.mark.postgresql


@pytest.mark.django_db
def test_the_tick_never_scans_the_whole_table(settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    now = timezone.now()
    ScheduledJob.objects.bulk_create(
        [
            ScheduledJob(
                callable_name="proj.demo.jobs.add",
                args=[i, i],
                time_slot_start=now + dt.timedelta(days=1, seconds=i),
                time_slot_end=now + dt.timedelta(days=8),
            )
            for i in range(30_000)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE future_celery_scheduledjob")
    with CaptureQueriesContext(connection) as queries:
        report = dispatch.tick(now)
    assert report.dispatched == 0
    statements = [
        q["sql"]
        for q in queries
        if "future_celery_scheduledjob" in q["sql"]
        and not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) >= 4  # expire, requeue, recover, claim
    for sql in statements:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan on future_celery_scheduledjob" not in plan, (sql, plan)
