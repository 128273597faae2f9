import datetime as dt
import os
import socket

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from future_celery import ScheduledJob, run_jobs, schedule_job
from future_celery.exceptions import InvalidJobState
from proj.demo.models import Execution, Note, Tag

pytestmark = pytest.mark.django_db


def past(seconds=60):
    return timezone.now() - dt.timedelta(seconds=seconds)


def test_due_jobs_run_in_time_order_and_record_their_result():
    for label, ago in [("c", 10), ("a", 30), ("b", 20)]:
        schedule_job(past(ago), "proj.demo.jobs.record", args=[label])
    report = run_jobs()
    assert [e.label for e in Execution.objects.order_by("id")] == ["a", "b", "c"]
    assert len(report.completed) == 3
    for job in ScheduledJob.objects.all():
        assert job.status == ScheduledJob.STATUS_COMPLETE
        assert job.return_value == job.args[0]
        assert job.attempts == 1 and job.execution_start <= job.execution_end


def test_future_jobs_are_left_alone():
    job = schedule_job("1h", "proj.demo.jobs.record", args=["later"])
    run_jobs()
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_SCHEDULED and not Execution.objects.exists()


def test_now_decides_what_is_due():
    job = schedule_job("1h", "proj.demo.jobs.record", args=["x"])
    run_jobs(now=timezone.now() + dt.timedelta(hours=2))
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_COMPLETE


def test_overdue_jobs_are_marked_expired_and_not_run():
    job = schedule_job(past(3600), "proj.demo.jobs.record", args=["old"], expires="30m")
    report = run_jobs()
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_EXPIRED and report.expired == 1
    assert not Execution.objects.exists()


def test_a_failing_job_rolls_back_its_writes_and_keeps_the_traceback():
    job = schedule_job(past(), "proj.demo.jobs.record", args=["oops"], kwargs={"fail": True})
    report = run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_FAILED
    assert "Traceback" in job.error and "record('oops') was asked to fail" in job.error
    assert not Execution.objects.exists()  # the job's own write was rolled back
    assert report.failed == [job.pk] and report.completed == []


def test_without_ignore_errors_the_jobs_own_exception_is_raised_once_its_row_says_failed():
    job = schedule_job(past(), "proj.demo.jobs.boom", args=["fail"])
    with pytest.raises(ValueError) as info:
        run_jobs()
    assert type(info.value) is ValueError and str(info.value) == "fail"  # the job's own
    assert f"job #{job.pk} (proj.demo.jobs.boom)" in "".join(info.value.__notes__)
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_FAILED and "ValueError: fail" in job.error


def test_without_ignore_errors_the_first_failure_stops_the_run():
    first = schedule_job(past(20), "proj.demo.jobs.boom")
    second = schedule_job(past(10), "proj.demo.jobs.record", args=["after"])
    with pytest.raises(ValueError, match="boom"):
        run_jobs()
    first.refresh_from_db(), second.refresh_from_db()
    assert first.status == ScheduledJob.STATUS_FAILED
    assert second.status == ScheduledJob.STATUS_SCHEDULED


def test_a_run_without_failures_returns_its_report():
    job = schedule_job(past(), "proj.demo.jobs.say_hello")
    report = run_jobs()
    assert report.completed == [job.pk] and report.failed == [] and report.error is None


def test_queued_jobs_no_worker_started_run_too_and_keep_their_message_link():
    job = schedule_job(past(), "proj.demo.jobs.record", args=["queued"])
    ScheduledJob.objects.filter(pk=job.pk).update(
        status="queued", task_id="fc-x", dispatches=1, queued_at=timezone.now()
    )
    report = run_jobs()
    job.refresh_from_db()
    assert report.completed == [job.pk] and job.status == ScheduledJob.STATUS_COMPLETE
    assert job.worker == f"runscheduledjobs@{socket.gethostname()}" and job.task_id == "fc-x"
    assert job.worker_pid == os.getpid()
    assert Execution.objects.filter(label="queued").count() == 1


def test_scheduled_and_queued_jobs_run_in_one_time_order():
    for label, ago, status in [("c", 10, "queued"), ("a", 30, "scheduled"), ("b", 20, "queued")]:
        job = schedule_job(past(ago), "proj.demo.jobs.record", args=[label])
        ScheduledJob.objects.filter(pk=job.pk).update(status=status)
    run_jobs()
    assert [e.label for e in Execution.objects.order_by("id")] == ["a", "b", "c"]


def test_queued_jobs_that_are_running_or_not_due_are_left_alone():
    running = schedule_job(past(), "proj.demo.jobs.record", args=["running"])
    later = schedule_job("1h", "proj.demo.jobs.record", args=["later"])
    # A live runner's job: its heartbeat is fresh.
    ScheduledJob.objects.filter(pk=running.pk).update(status="running", heartbeat=timezone.now())
    ScheduledJob.objects.filter(pk=later.pk).update(status="queued")
    assert run_jobs().completed == []
    assert not Execution.objects.exists()


def test_a_queued_job_past_its_expiry_is_expired_not_run():
    job = schedule_job(past(3600), "proj.demo.jobs.record", args=["old"], expires="30m")
    ScheduledJob.objects.filter(pk=job.pk).update(status="queued")
    report = run_jobs()
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_EXPIRED and report.expired == 1
    assert not Execution.objects.exists()


def test_with_ignore_errors_the_run_goes_on():
    schedule_job(past(20), "proj.demo.jobs.boom")
    schedule_job(past(10), "proj.demo.jobs.record", args=["after"])
    report = run_jobs(ignore_errors=True)
    assert len(report.failed) == 1 and len(report.completed) == 1
    assert Execution.objects.filter(label="after").exists()


def test_delete_completed_removes_completed_rows_only():
    schedule_job(past(20), "proj.demo.jobs.say_hello")
    failed = schedule_job(past(10), "proj.demo.jobs.boom")
    run_jobs(delete_completed=True, ignore_errors=True)
    assert list(ScheduledJob.objects.values_list("pk", flat=True)) == [failed.pk]


@override_settings(FUTURE_CELERY_KEEP_COMPLETED=False)
def test_keep_completed_false_deletes_completed_rows():
    schedule_job(past(), "proj.demo.jobs.say_hello")
    run_jobs()
    assert not ScheduledJob.objects.exists()


def test_the_return_value_is_stored_as_text():
    job = schedule_job(past(), "proj.demo.jobs.add", args=[2, 3])
    run_jobs()
    job.refresh_from_db()
    assert job.return_value == "5"


def test_arguments_arrive_as_they_were_sent():
    args = [dt.date(2026, 1, 2), (1, 2), {"$odd": "key"}]
    job = schedule_job(
        past(), "proj.demo.jobs.echo", args=args, kwargs={"d": dt.timedelta(hours=1)}
    )
    run_jobs()
    job.refresh_from_db()
    assert job.return_value == repr((tuple(args), {"d": dt.timedelta(hours=1)}))


def test_model_arguments_are_fetched_fresh_when_the_job_runs():
    note = Note.objects.create(title="before")
    job = schedule_job(past(), "proj.demo.jobs.note_title", args=[note])
    Note.objects.filter(pk=note.pk).update(title="after")
    run_jobs()
    job.refresh_from_db()
    assert job.args == [{"$model": ["demo.note", str(note.pk)]}]
    assert job.return_value == "after"


def test_the_content_object_is_passed_first():
    note = Note.objects.create(title="note")
    job = schedule_job(past(), "proj.demo.jobs.note_title", args=["!"], content_object=note)
    run_jobs()
    job.refresh_from_db()
    assert job.return_value == "note!"


def test_a_method_of_the_content_object_runs_on_it():
    note = Note.objects.create(title="n")
    job = schedule_job(past(), "remind", kwargs={"text": "hi"}, content_object=note)
    run_jobs()
    job.refresh_from_db(), note.refresh_from_db()
    assert note.reminders == 1 and job.return_value == "n: hi #1"


def test_content_objects_with_uuid_keys_work():
    tag = Tag.objects.create(name="urgent")
    job = schedule_job(past(), "shout", content_object=tag)
    run_jobs()
    job.refresh_from_db()
    assert job.object_id == str(tag.pk) and job.return_value == "URGENT"


def test_a_deleted_content_object_fails_the_job_with_a_clear_error():
    note = Note.objects.create(title="gone")
    job = schedule_job(past(), "remind", content_object=note)
    note.delete()
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_FAILED
    assert (
        f"content object of this job (demo.note with primary key '{job.object_id}') was deleted"
        in job.error
    )


def test_a_deleted_model_argument_fails_the_job_with_a_clear_error():
    note = Note.objects.create(title="gone")
    job = schedule_job(past(), "proj.demo.jobs.note_title", args=[note])
    note.delete()
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert "the demo.note with primary key" in job.error and "no longer exists" in job.error


def test_a_row_edited_to_an_unknown_callable_fails_clearly():
    job = schedule_job(past(), "proj.demo.jobs.say_hello")
    ScheduledJob.objects.filter(pk=job.pk).update(callable_name="proj.demo.jobs.vanished")
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_FAILED and "has no 'vanished'" in job.error


def test_the_allow_list_is_checked_again_before_running():
    job = schedule_job(past(), "proj.demo.jobs.record", args=["x"])
    with override_settings(FUTURE_CELERY_ALLOWED_CALLABLES=["proj.demo.jobs.say_*"]):
        run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_FAILED and "not allowed" in job.error
    assert not Execution.objects.exists()


def test_job_as_parameter_passes_the_running_job_first():
    job = schedule_job(past(), "proj.demo.jobs.whoami")
    run_jobs()
    job.refresh_from_db()
    assert job.return_value == f"job #{job.pk} attempt 1"


def test_a_failed_job_with_attempts_left_is_scheduled_again_with_backoff():
    job = schedule_job(past(), "proj.demo.jobs.boom", max_attempts=2)
    with pytest.raises(ValueError):
        run_jobs()
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_SCHEDULED and job.attempts == 1
    assert job.time_slot_start > timezone.now() and "ValueError: boom" in job.error
    run_jobs(now=job.time_slot_start, ignore_errors=True)
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_FAILED and job.attempts == 2


def test_reschedule_counts_a_relative_time_from_the_scheduled_time():
    start = timezone.now() - dt.timedelta(days=1)
    job = schedule_job(start, "proj.demo.jobs.add", args=[1, 2], queue="q", priority=3)
    new = job.reschedule("3d")
    assert new.pk != job.pk and new.rescheduled_from == job
    assert new.time_slot_start == start + dt.timedelta(days=3)
    assert (new.callable_name, new.args, new.queue, new.priority) == (
        job.callable_name,
        [1, 2],
        "q",
        3,
    )
    assert new.time_slot_end == new.time_slot_start + dt.timedelta(days=7)


def test_reschedule_overrides_what_it_is_given():
    note = Note.objects.create(title="n")
    job = schedule_job(
        "1h", "proj.demo.jobs.note_title", args=["a"], kwargs={"suffix": "s"}, content_object=note
    )
    new = job.reschedule("1d", kwargs={"suffix": "t"}, expires=None)
    assert new.args == ["a"] and new.kwargs == {"suffix": "t"} and new.time_slot_end is None
    assert new.content_object == note
    with pytest.raises(TypeError, match="unexpected keyword"):
        job.reschedule("1d", colour="red")


def test_a_job_reschedules_itself_while_running():
    start = past()
    schedule_job(start, "proj.demo.jobs.countdown", kwargs={"n": 2})
    run_jobs(now=start)
    first, second = ScheduledJob.objects.order_by("id")
    assert first.status == ScheduledJob.STATUS_COMPLETE
    assert second.status == ScheduledJob.STATUS_SCHEDULED and second.kwargs == {"n": 1}
    assert second.time_slot_start == first.time_slot_start + dt.timedelta(seconds=1)
    assert second.rescheduled_from_id == first.pk


def test_a_reschedule_inside_a_failing_job_is_rolled_back():
    schedule_job(past(), "proj.demo.jobs.countdown", kwargs={"n": "not a number"})
    run_jobs(ignore_errors=True)
    assert ScheduledJob.objects.count() == 1


def test_cancel_a_scheduled_job():
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    job.cancel()
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_CANCELLED
    run_jobs(now=timezone.now() + dt.timedelta(hours=2))
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_CANCELLED


@pytest.mark.parametrize("status", ["running", "complete", "failed", "expired", "cancelled"])
def test_cancel_refuses_running_and_finished_jobs(status):
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    ScheduledJob.objects.filter(pk=job.pk).update(status=status)
    with pytest.raises(InvalidJobState, match=f"it is {status}"):
        job.cancel()
    job.refresh_from_db()
    assert job.status == status


def test_the_command_runs_due_jobs(capsys):
    schedule_job(past(), "proj.demo.jobs.say_hello")
    call_command("runscheduledjobs")
    assert "1 completed, 0 failed, 0 expired" in capsys.readouterr().out
    assert ScheduledJob.objects.get().status == ScheduledJob.STATUS_COMPLETE


def test_the_command_stops_on_a_failure_with_the_traceback():
    job = schedule_job(past(20), "proj.demo.jobs.boom")
    schedule_job(past(10), "proj.demo.jobs.say_hello")
    with pytest.raises(CommandError) as info:
        call_command("runscheduledjobs")
    assert f"job #{job.pk} (proj.demo.jobs.boom) failed" in str(info.value)
    assert "ValueError: boom" in str(info.value)
    assert ScheduledJob.objects.filter(status="scheduled").count() == 1


def test_the_command_with_i_and_d(capsys):
    schedule_job(past(20), "proj.demo.jobs.boom")
    schedule_job(past(10), "proj.demo.jobs.say_hello")
    call_command("runscheduledjobs", "-i", "-d")
    assert "1 completed, 1 failed" in capsys.readouterr().out
    assert list(ScheduledJob.objects.values_list("status", flat=True)) == ["failed"]


@pytest.mark.parametrize(("args", "kwargs"), [({"a": 1}, {}), ([], ["x"]), ("text", {})])
def test_a_row_with_malformed_arguments_fails_clearly(args, kwargs):
    job = schedule_job(past(), "proj.demo.jobs.echo")
    ScheduledJob.objects.filter(pk=job.pk).update(args=args, kwargs=kwargs)
    other = schedule_job(past(), "proj.demo.jobs.say_hello")
    run_jobs(ignore_errors=True)
    job.refresh_from_db(), other.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_FAILED and "malformed arguments" in job.error
    assert other.status == ScheduledJob.STATUS_COMPLETE


def test_a_row_edited_to_name_another_callable_does_not_run_it_under_projs_allow_list():
    """The README's promise, with proj's settings: a row whose callable was changed in the
    database (here to subprocess.getoutput) is failed, not run."""
    from proj import settings as proj_settings

    with override_settings(
        FUTURE_CELERY_ALLOWED_CALLABLES=proj_settings.FUTURE_CELERY_ALLOWED_CALLABLES
    ):
        job = schedule_job(timezone.now(), "proj.demo.jobs.say_hello", args=["x"])
        ScheduledJob.objects.filter(pk=job.pk).update(
            callable_name="subprocess.getoutput", args=["touch /tmp/fc-pwned"]
        )
        run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_FAILED
    assert "is not allowed by FUTURE_CELERY_ALLOWED_CALLABLES" in job.error
    assert job.return_value == ""


@pytest.mark.postgresql  # pg_stat_activity lists the sessions
def test_the_heartbeat_thread_holds_no_connection_once_its_jobs_end(settings):
    """The heartbeat thread stamps a running job's row over a connection of its own; idle, it
    closes it, so that no session stays open on the database after the jobs."""
    from django.db import connection

    from tests.processes import wait_until

    schedule_job(timezone.now(), "proj.demo.jobs.record", args=["beating"], kwargs={"seconds": 1.5})
    run_jobs()  # 1.5 s at a heartbeat every 0.5 s: the thread opened its connection

    def sessions() -> int:
        with connection.cursor() as cursor:
            # The test runs in a transaction, where the view is a snapshot unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]

    assert wait_until(lambda: sessions() == 1, timeout=5), sessions()
