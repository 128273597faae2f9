"""manage.py import_background_tasks against the real django-background-tasks: rows made by
its own @background (tests/seed_tasks.py) in its own table move into ScheduledJob rows,
built as the call of our @background would build them, once the user has changed the
import line of the module that defines the functions."""

from __future__ import annotations

import datetime as dt
import io
import sys
import threading

import pytest
from background_task.models import CompletedTask, Task
from background_task.tasks import tasks as seed_runner
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from future_celery import ScheduledJob, background, callables, importers, retries, run_jobs
from future_celery.background_decorator import background_priority
from future_celery.exceptions import BackgroundTaskTableMissing
from proj.demo.models import Execution
from tests import seed_tasks
from tests.threads import in_thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def change_the_import_line(monkeypatch):
    """What a user does first: ``from background_task import background`` becomes ours in
    tests.seed_tasks. Its functions stay where they were (the dotted paths and names the
    rows store); calling the returned function switches them, once the rows are made."""
    monkeypatch.setattr(callables, "_registered", dict(callables._registered))

    def switch():
        for name, options in [
            ("record_visit", {"schedule": 60}),
            ("renamed", {"name": "seed-renamed"}),
        ]:
            function = getattr(seed_tasks, name).task_function
            monkeypatch.setattr(seed_tasks, name, background(**options)(function))

    return switch


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("import_background_tasks", *args, stdout=out)
    return out.getvalue()


def at(seconds: float) -> dt.datetime:
    return timezone.now().replace(microsecond=123456) + dt.timedelta(seconds=seconds)


def failed_attempt(task: Task) -> None:
    """django-background-tasks' own handling of a failed attempt: attempts + 1, run_at
    pushed back by its backoff."""
    try:
        raise ValueError("boom")
    except ValueError:
        task.reschedule(*sys.exc_info())


def runs(label: str) -> int:
    return Execution.objects.filter(label=label).count()


def test_a_dry_run_lists_what_it_would_import_and_skip_and_changes_nothing(
    change_the_import_line,
):
    visit = seed_tasks.record_visit("ada")
    stuck = seed_tasks.still_on_the_seed("bob")
    change_the_import_line()
    out = run_command("--dry-run")
    assert f"would import #{visit.pk} tests.seed_tasks.record_visit\n" in out
    assert f"would skip #{stuck.pk} tests.seed_tasks.still_on_the_seed: " in out
    assert out.endswith("1 to import, 1 to skip (dry run: nothing was changed)\n")
    assert ScheduledJob.objects.count() == 0
    assert set(Task.objects.values_list("pk", flat=True)) == {visit.pk, stuck.pk}


def test_each_waiting_row_becomes_the_job_its_call_would_make_and_leaves_the_seeds_table(
    change_the_import_line,
):
    user = User.objects.create(username="ada")
    until = at(30 * 86400)
    task = seed_tasks.record_visit(
        "ada",
        times=2,
        schedule=at(3600),
        priority=7,
        queue="visits",
        verbose_name="Record Ada's visit",
        creator=user,
        repeat=Task.DAILY,
        repeat_until=until,
    )
    failed_attempt(task)
    failed_attempt(task)
    task.refresh_from_db()
    assert task.attempts == 2
    change_the_import_line()

    assert run_command() == "1 imported, 0 skipped\n"

    job = ScheduledJob.objects.get()
    assert job.callable_name == "tests.seed_tasks.record_visit"
    assert job.args == ["ada"] and job.kwargs == {"times": 2}
    assert job.time_slot_start == task.run_at  # its backoff from the second failure
    assert job.priority == background_priority(7) and job.queue == "visits"
    assert job.verbose_name == "Record Ada's visit" and job.creator == user
    assert job.repeat == Task.DAILY and job.repeat_until == until
    assert job.slot == job.time_slot_start
    assert job.attempts == 2  # the retry count goes on
    # What our @background gives a job: the seed's retry policy, no expiry.
    assert retries.attempts_allowed(job) == 25 and job.backoff == "polynomial"
    assert job.time_slot_end is None and job.status == "scheduled"
    assert not Task.objects.exists()


def test_the_imported_job_runs_the_function(change_the_import_line):
    seed_tasks.record_visit("ada", times=3, schedule=at(-5))
    change_the_import_line()
    run_command()
    run_jobs()
    job = ScheduledJob.objects.get()
    assert job.status == "complete" and job.return_value == "ada"
    assert job.attempts == 1
    assert runs("ada") == 3


def test_a_failed_attempt_after_the_import_is_counted_after_the_seeds_ones(
    change_the_import_line,
):
    task = seed_tasks.record_visit("flaky", fail=True, schedule=at(-5))
    failed_attempt(task)
    failed_attempt(task)
    change_the_import_line()
    run_command()
    ScheduledJob.objects.update(time_slot_start=timezone.now())  # due now, not in 21 s
    before = timezone.now()
    run_jobs(ignore_errors=True)
    job = ScheduledJob.objects.get()
    assert job.status == "scheduled" and job.attempts == 3
    # django-background-tasks' backoff after a third failure: 3 ** 4 + 5 seconds.
    assert job.time_slot_start - before >= dt.timedelta(seconds=86)
    assert job.time_slot_start - timezone.now() <= dt.timedelta(seconds=86)


def test_the_attempts_made_before_the_import_count_against_our_max_attempts(
    change_the_import_line, settings
):
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 3
    task = seed_tasks.record_visit("last", fail=True, schedule=at(-5))
    failed_attempt(task)
    failed_attempt(task)
    change_the_import_line()
    run_command()
    job = ScheduledJob.objects.get()
    assert retries.attempts_allowed(job) == 3 and job.attempts == 2
    ScheduledJob.objects.update(time_slot_start=timezone.now())
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 3  # its third attempt was its last


def test_running_and_failed_rows_stay_in_the_seeds_table(change_the_import_line):
    seed_tasks.record_visit("waiting")
    running = seed_tasks.record_visit("running")
    assert running.lock("4242") is not None  # a worker of django-background-tasks has it
    failed = seed_tasks.record_visit("failed")
    # django-background-tasks 1.2 moves a task that failed for good to its completed table;
    # a row left in background_task with failed_at (as older versions left them) stays.
    Task.objects.filter(pk=failed.pk).update(failed_at=timezone.now(), attempts=25)
    change_the_import_line()

    out = run_command()

    assert out == "left in background_task: 1 running, 1 failed\n1 imported, 0 skipped\n"
    assert ScheduledJob.objects.get().args == ["waiting"]
    assert set(Task.objects.values_list("pk", flat=True)) == {running.pk, failed.pk}


def test_a_row_locked_longer_than_max_run_time_ago_has_lost_its_worker_and_is_imported(
    change_the_import_line, settings
):
    settings.MAX_RUN_TIME = 600  # django-background-tasks' setting (default 3600 s)
    lost = seed_tasks.record_visit("lost")
    lost.lock("4242")
    Task.objects.filter(pk=lost.pk).update(locked_at=timezone.now() - dt.timedelta(seconds=601))
    recent = seed_tasks.record_visit("recent")
    recent.lock("4343")
    Task.objects.filter(pk=recent.pk).update(locked_at=timezone.now() - dt.timedelta(seconds=500))
    change_the_import_line()
    assert run_command().endswith("1 imported, 0 skipped\n")
    assert ScheduledJob.objects.get().args == ["lost"]
    assert list(Task.objects.values_list("pk", flat=True)) == [recent.pk]


def test_completed_tasks_are_left_alone():
    seed_tasks.still_on_the_seed("done")
    assert seed_runner.run_next_task()  # django-background-tasks' worker runs it
    assert runs("done") == 1
    assert not Task.objects.exists() and CompletedTask.objects.count() == 1
    assert run_command() == "0 imported, 0 skipped\n"
    assert CompletedTask.objects.count() == 1 and ScheduledJob.objects.count() == 0


def test_a_row_whose_function_does_not_resolve_is_skipped_listed_and_stays(
    change_the_import_line,
):
    gone = Task.objects.new_task("myapp.tasks.deleted_function", args=[1])
    gone.save()
    seed_tasks.record_visit("ada")
    change_the_import_line()
    out = run_command()
    assert f"skipped #{gone.pk} myapp.tasks.deleted_function: callable " in out
    assert "cannot be imported" in out
    assert out.endswith("1 imported, 1 skipped\n")
    assert list(Task.objects.values_list("pk", flat=True)) == [gone.pk]
    assert ScheduledJob.objects.get().callable_name == "tests.seed_tasks.record_visit"


def test_a_function_still_decorated_by_django_background_tasks_is_skipped_with_the_fix():
    # Its job would only write another row of background_task when run.
    stuck = seed_tasks.still_on_the_seed("bob")
    report = importers.import_background_tasks()
    [skipped] = report.skipped
    assert skipped.task_id == stuck.pk
    assert "still decorated with django-background-tasks' @background" in skipped.reason
    assert "from future_celery import background" in skipped.reason
    assert report.imported == [] and Task.objects.count() == 1


def test_a_name_given_to_the_decorator_is_kept(change_the_import_line):
    seed_tasks.renamed("by-name", schedule=at(-5))
    assert Task.objects.get().task_name == "seed-renamed"
    change_the_import_line()
    run_command()
    assert ScheduledJob.objects.get().callable_name == "seed-renamed"
    run_jobs()
    assert runs("by-name") == 1


def test_any_whole_priority_is_imported_in_the_order_background_gives_it(
    change_the_import_line,
):
    # django-background-tasks takes any whole number (negative ones after 0); the import
    # maps it as @background does, so the order between imported jobs is kept.
    seed_tasks.record_visit("nice", priority=-5)
    seed_tasks.record_visit("ok", priority=255)
    seed_tasks.record_visit("plain")
    change_the_import_line()
    assert run_command().endswith("3 imported, 0 skipped\n")
    by_name = {job.args[0]: job.priority for job in ScheduledJob.objects.all()}
    assert by_name == {
        "nice": background_priority(-5),
        "ok": background_priority(255),
        "plain": background_priority(0),
    }
    assert by_name["nice"] < by_name["plain"] < by_name["ok"]
    assert not Task.objects.exists()


def test_task_params_that_are_not_args_and_kwargs_are_skipped(change_the_import_line):
    task = seed_tasks.record_visit("ada")
    Task.objects.filter(pk=task.pk).update(task_params='{"args": []}')
    change_the_import_line()
    [skipped] = importers.import_background_tasks().skipped
    assert skipped.reason.startswith("task_params is not [args, kwargs]")


def test_running_it_twice_imports_nothing_the_second_time(change_the_import_line):
    seed_tasks.record_visit("ada")
    seed_tasks.record_visit("bob")
    change_the_import_line()
    assert run_command() == "2 imported, 0 skipped\n"
    assert run_command() == "0 imported, 0 skipped\n"
    assert ScheduledJob.objects.count() == 2


def test_with_verbosity_2_it_lists_each_row_it_moved_and_its_job(change_the_import_line):
    task = seed_tasks.record_visit("ada")
    change_the_import_line()
    out = run_command("-v", "2")
    job = ScheduledJob.objects.get()
    assert out == f"imported #{task.pk} tests.seed_tasks.record_visit as job #{job.pk}\n" + (
        "1 imported, 0 skipped\n"
    )


def test_everything_is_one_transaction(change_the_import_line, monkeypatch):
    seed_tasks.record_visit("ada")
    change_the_import_line()

    def broken_delete(connection, ids):
        raise RuntimeError("the delete failed")

    monkeypatch.setattr(importers, "_delete", broken_delete)
    with pytest.raises(RuntimeError, match="the delete failed"):
        run_command()
    assert ScheduledJob.objects.count() == 0 and Task.objects.count() == 1


def test_due_jobs_are_handed_to_celery_after_the_commit(
    change_the_import_line, django_capture_on_commit_callbacks
):
    seed_tasks.record_visit("due", schedule=at(-5))
    seed_tasks.record_visit("later", schedule=at(3600))
    change_the_import_line()
    with django_capture_on_commit_callbacks() as callbacks:
        run_command()
    assert len(callbacks) == 1  # one dispatch, of the due job, once the import commits


@pytest.mark.django_db(transaction=True)  # DDL (MySQL's cannot be rolled back)
def test_without_the_table_it_says_so():
    with connection.schema_editor() as editor:
        editor.delete_model(Task)
    try:
        with pytest.raises(BackgroundTaskTableMissing):
            importers.import_background_tasks()
        with pytest.raises(
            CommandError, match="there is no 'background_task' table in the database"
        ):
            run_command()
    finally:
        with connection.schema_editor() as editor:
            editor.create_model(Task)


def test_the_table_is_what_matters_not_the_installed_app(change_the_import_line, settings):
    seed_tasks.record_visit("ada")
    change_the_import_line()
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "background_task"]
    assert not apps.is_installed("background_task")
    assert run_command() == "1 imported, 0 skipped\n"
    assert ScheduledJob.objects.get().args == ["ada"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_of_django_background_tasks_cannot_take_a_row_while_it_moves(
    change_the_import_line, monkeypatch
):
    task = seed_tasks.record_visit("ada", schedule=at(3600))
    change_the_import_line()
    selected, go_on = threading.Event(), threading.Event()
    counts = importers._counts

    def paused_counts(connection):  # the rows are selected; the import waits here
        selected.set()
        go_on.wait(10)
        return counts(connection)

    monkeypatch.setattr(importers, "_counts", paused_counts)
    taken = []

    importer = in_thread(importers.import_background_tasks)
    try:
        assert selected.wait(10)
        worker = in_thread(lambda: taken.append(task.lock("4242")))  # its worker's claim
        worker.join(0.5)
        waited = worker.is_alive()
    finally:
        go_on.set()
        importer.join(10)
    worker.join(10)
    assert waited  # its claim waited for the import's transaction
    assert taken == [None]  # and found the row gone: nothing for it to run
    assert ScheduledJob.objects.get().args == ["ada"] and not Task.objects.exists()
