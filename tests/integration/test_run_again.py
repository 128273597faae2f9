"""The admin's "run again" keeps each job's front door: the copy of a Django task's job is a
Django task (its backend, its TaskResult, its context), of an @background job an @background
job (its retry policy, name, creator, repeats), of a recurring job's occurrence an extra
occurrence of the same recurring job. Each copy then runs through the engine's run path (the
in-process runner here; the workers run the same code) and keeps its door there too."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from future_celery import ScheduledJob, recurring, run_jobs
from future_celery.tasks_api import task_backends
from proj.demo import django_tasks
from proj.demo.models import Execution
from proj.demo.tasks import record_background

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = reverse("admin:future_celery_scheduledjob_changelist")


def run_again(admin_client, job):
    ScheduledJob.objects.filter(pk=job.pk).update(status="failed")
    admin_client.post(CHANGELIST, {"action": "run_again", "_selected_action": [job.pk]})
    return ScheduledJob.objects.get(rescheduled_from=job)


def test_a_django_tasks_job_run_again_is_a_django_task(admin_client):
    result = django_tasks.report_attempt.enqueue("first")
    original = ScheduledJob.objects.get(pk=int(result.id))
    copy = run_again(admin_client, original)
    assert copy.task_backend == original.task_backend == "default"
    assert copy.time_slot_end is None  # a Django task never expires
    run_jobs(timezone.now() + dt.timedelta(seconds=1))
    copy.refresh_from_db()
    assert copy.status == "complete", copy.error
    again = task_backends["default"].get_result(str(copy.pk))
    assert again.status == "SUCCESSFUL"
    assert again.return_value["id"] == str(copy.pk) and again.return_value["attempt"] == 1


def test_a_background_job_run_again_keeps_its_policy_name_creator_and_repeats(admin_client):
    creator = User.objects.get(username="admin")
    original = record_background(
        "bg", repeat=3600, verbose_name="nightly", creator=creator, schedule=0
    )
    copy = run_again(admin_client, original)
    assert (copy.backoff, copy.verbose_name, copy.repeat) == ("polynomial", "nightly", 3600)
    assert copy.creator == creator and copy.time_slot_end is None
    assert copy.slot == copy.time_slot_start  # its repeats count from its own time
    run_jobs(timezone.now() + dt.timedelta(seconds=1))
    copy.refresh_from_db()
    assert copy.status == "complete", copy.error
    following = ScheduledJob.objects.get(repeat_of=copy)
    assert following.time_slot_start == copy.slot + dt.timedelta(seconds=3600)
    assert Execution.objects.filter(label="bg").exists()


def test_a_recurring_jobs_occurrence_run_again_is_an_extra_occurrence(admin_client):
    rec = recurring("nightly", "proj.demo.jobs.record", every="1 day", kwargs={"label": "r"})
    occurrence = ScheduledJob.objects.create(
        callable_name="proj.demo.jobs.record",
        kwargs={"label": "r"},
        time_slot_start=timezone.now() - dt.timedelta(hours=1),
        recurring=rec,
        slot=timezone.now() - dt.timedelta(hours=1),
    )
    copy = run_again(admin_client, occurrence)
    assert copy.recurring == rec and copy.slot == copy.time_slot_start
    assert set(rec.occurrences.all()) == {occurrence, copy}
    run_jobs(timezone.now() + dt.timedelta(seconds=1))
    assert ScheduledJob.objects.get(pk=copy.pk).status == "complete"
