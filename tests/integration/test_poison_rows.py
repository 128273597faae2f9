"""One bad row must not hold back its batch: a job whose message the broker cannot take (a
priority py-amqp cannot encode on RabbitMQ; a router that raises for its queue, on any
broker) is failed alone, with an error that says why, and the rest of its batch goes out.
A broker that is down still returns the whole batch (test_dispatch). And the database
refuses such rows in the first place: the options' ranges are constraints too."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from future_celery import ScheduledJob, dispatch, schedule_jobs
from future_celery.models import RecurringJob
from tests.routing import POISON_ROUTE

pytestmark = pytest.mark.engine

QUEUE = "poison-test"  # no worker consumes it: the messages stay to be counted


def constraint(model, name):
    return next(c for c in model._meta.constraints if c.name == name)


@pytest.fixture
def without_the_priority_constraint(transactional_db):
    """A row as an older version, or a hand, could have left it: the range constraint
    dropped for the test, and put back after (the bad rows are gone by then)."""
    check = constraint(ScheduledJob, "fc_priority_range")
    with connection.schema_editor() as editor:
        editor.remove_constraint(ScheduledJob, check)
    yield
    ScheduledJob.objects.all().delete()
    with connection.schema_editor() as editor:
        editor.add_constraint(ScheduledJob, check)


def due_jobs(count):
    when = timezone.now() - dt.timedelta(seconds=1)
    return schedule_jobs(
        [
            {"when": when, "callable": "proj.demo.jobs.add", "args": [i, i], "queue": QUEUE}
            for i in range(count)
        ]
    )


@pytest.mark.parametrize("poison", ["priority", "route"])
def test_a_job_the_broker_cannot_take_is_failed_alone_and_its_batch_goes_out(
    without_the_priority_constraint, broker, settings, poison
):
    if poison == "priority" and broker.kind != "rabbitmq":
        # Redis takes any priority (kombu's transport maps it onto its steps): the same row
        # goes out with the others there.
        settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
        bad = due_jobs(3)[1]
        ScheduledJob.objects.filter(pk=bad.pk).update(priority=300)
        assert dispatch.tick().dispatched == 3
        assert broker.message_count(QUEUE) == 3
        broker.purge()
        return
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    bad = due_jobs(3)[1]
    if poison == "priority":
        ScheduledJob.objects.filter(pk=bad.pk).update(priority=300)
    else:
        ScheduledJob.objects.filter(pk=bad.pk).update(queue=POISON_ROUTE)

    report = dispatch.tick()

    assert report.dispatched == 2
    assert broker.message_count(QUEUE) == 2
    bad.refresh_from_db()
    assert bad.status == "failed"
    assert "could not send this job's message to the broker" in bad.error
    assert ("'B' format requires" if poison == "priority" else POISON_ROUTE) in bad.error
    assert {job.status for job in ScheduledJob.objects.exclude(pk=bad.pk)} == {"queued"}
    # The next ticks neither send it again nor hold anything back for it.
    later = due_jobs(1)[0]
    assert dispatch.tick().dispatched == 1
    assert ScheduledJob.objects.get(pk=later.pk).status == "queued"
    assert ScheduledJob.objects.get(pk=bad.pk).status == "failed"
    broker.purge()


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("priority", 300, "fc_priority_range"),
        ("max_attempts", 0, "fc_max_attempts_range"),
        ("soft_time_limit", 0.0, "fc_time_limits_range"),
        ("time_limit", 1e300, "fc_time_limits_range"),
    ],
)
def test_the_database_refuses_a_job_row_out_of_range(transactional_db, field, value, name):
    job = schedule_jobs([{"when": "1h", "callable": "proj.demo.jobs.add", "args": [1, 2]}])[0]
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        ScheduledJob.objects.filter(pk=job.pk).update(**{field: value})
    if connection.vendor != "sqlite":  # SQLite's message names the check's expression
        assert name in str(raised.value)
    assert getattr(ScheduledJob.objects.get(pk=job.pk), field) != value


def test_the_database_refuses_a_recurring_job_row_out_of_range(transactional_db):
    from future_celery import recurring

    job = recurring("ranged", "proj.demo.jobs.add", every="1 hour")
    for field, value in [("priority", 256), ("expires_after", -1.0)]:
        with pytest.raises(IntegrityError), transaction.atomic():
            RecurringJob.objects.filter(pk=job.pk).update(**{field: value})
