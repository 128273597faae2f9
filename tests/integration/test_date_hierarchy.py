"""The admin's date hierarchy asks for the distinct years, months and days of the scheduled
time; ScheduledJobQuerySet answers with index seeks. The answers must equal Django's."""

import datetime as dt
import zoneinfo

import pytest
from django.db.models import QuerySet
from django.utils import timezone

from future_celery import ScheduledJob

pytestmark = pytest.mark.django_db

TIMES = [
    dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 22, 30, tzinfo=dt.UTC),
    dt.datetime(2028, 7, 4, 9, 0, tzinfo=dt.UTC),
]


@pytest.fixture
def jobs():
    ScheduledJob.objects.bulk_create(
        [
            ScheduledJob(
                callable_name="proj.demo.jobs.add",
                time_slot_start=when,
                status="failed" if i % 2 else "scheduled",
            )
            for i, when in enumerate(TIMES)
        ]
    )


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
@pytest.mark.parametrize("kind", ["year", "month", "day"])
@pytest.mark.parametrize("status", [None, "failed"])
def test_dates_and_datetimes_match_djangos(jobs, zone, kind, status):
    queryset = ScheduledJob.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for method in ("dates", "datetimes"):
            ours = list(getattr(queryset, method)("time_slot_start", kind))
            django = list(getattr(QuerySet, method)(queryset, "time_slot_start", kind))
            assert ours == django, (method, ours, django)
        assert list(queryset.dates("time_slot_start", kind, "DESC")) == list(
            QuerySet.dates(queryset, "time_slot_start", kind, "DESC")
        )


def test_the_queue_filter_offers_the_queues_in_use(admin_client):
    from future_celery import schedule_job

    schedule_job("1h", "proj.demo.jobs.say_hello", queue="mail")
    schedule_job("1h", "proj.demo.jobs.say_hello")
    page = admin_client.get("/admin/future_celery/scheduledjob/").content.decode()
    assert "?queue=mail" in page and "(default)" in page
    filtered = admin_client.get("/admin/future_celery/scheduledjob/?queue=mail").content.decode()
    assert filtered.count("proj.demo.jobs.say_hello") >= 1


def test_jobs_over_thousands_of_years_cost_the_job_list_a_bounded_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    """Anyone who can choose job times could spread them over thousands of distinct years:
    the list must not run a query per year (it ran 7,911 for 7,900 years)."""
    from future_celery.models import DATE_SEEKS_MAX

    years = 3 * DATE_SEEKS_MAX
    ScheduledJob.objects.bulk_create(
        [
            ScheduledJob(
                callable_name="proj.demo.jobs.add",
                time_slot_start=dt.datetime(2030 + n, 6, 1, tzinfo=dt.UTC),
            )
            for n in range(years)
        ]
    )
    queryset = ScheduledJob.objects.all()
    assert list(queryset.dates("time_slot_start", "year")) == list(
        QuerySet.dates(queryset, "time_slot_start", "year")
    )
    # The seeks up to the bound, the aggregate, and the page's own queries (session, user,
    # count, rows, filters: 15 with a handful of jobs).
    with django_assert_max_num_queries(DATE_SEEKS_MAX + 1 + 15):
        response = admin_client.get("/admin/future_celery/scheduledjob/")
    assert response.status_code == 200
    assert (
        "2030" in response.content.decode() and str(2030 + years - 1) in response.content.decode()
    )


def test_few_distinct_years_are_still_found_by_seeks(django_assert_num_queries):
    ScheduledJob.objects.bulk_create(
        [ScheduledJob(callable_name="proj.demo.jobs.add", time_slot_start=when) for when in TIMES]
    )
    # One seek per year and one that finds nothing after the last: 3 years, 4 queries.
    with django_assert_num_queries(4):
        years = ScheduledJob.objects.dates("time_slot_start", "year")
    assert [day.year for day in years] == [2025, 2026, 2028]
