"""Django's Tasks framework on future_celery: what Django expects of a backend (enqueue,
get_result, defer, priority, context, errors, signals), with the in-process runner as the
executor, on PostgreSQL and SQLite. (On Celery workers: tests/acceptance/
test_tasks_backend_on_celery.py.)"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys

import pytest
from asgiref.sync import async_to_sync
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import modify_settings
from django.utils import timezone

from future_celery import ScheduledJob, dispatch, lifecycle, run_jobs, runner, schedule_job
from future_celery.exceptions import (
    ArgumentNotSerializable,
    CallableNotAllowed,
    CallableNotFound,
    InvalidBackendOptions,
    ReturnValueNotStorable,
)
from future_celery.messages import RUN_JOB
from future_celery.signal_handlers import on_task_failure
from future_celery.tasks_api import (
    SOURCE,
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultMismatch,
    TaskResultStatus,
    default_task_backend,
    task,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from future_celery.tasks_backend import FutureCeleryBackend
from proj.demo.models import Note
from tests import django_task_functions as django_tasks
from tests.django_task_functions import TaskFailure

pytestmark = pytest.mark.django_db

BACKEND = "future_celery.tasks_backend.FutureCeleryBackend"
FAR = dt.timedelta(days=30)


def row(result) -> ScheduledJob:
    return ScheduledJob.objects.get(pk=int(result.id))


def run_all(now: dt.datetime | None = None):
    return run_jobs(now=now, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_broker(settings):
    """The runner runs the tasks: nothing is handed to a broker after a commit."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


@pytest.fixture
def backend_settings(settings):
    """Set the default backend's QUEUES and OPTIONS for one test."""

    def use(queues=("default",), **options):
        settings.TASKS = {
            "default": {"BACKEND": BACKEND, "QUEUES": list(queues), "OPTIONS": options}
        }
        return task_backends["default"]

    return use


@contextlib.contextmanager
def received(*signals):
    """The (signal name, sender, task result, the row's status then) of each signal sent."""
    seen = []
    receivers = []
    for signal, name in signals:

        def receiver(sender, task_result, _name=name, **kwargs):
            status = ScheduledJob.objects.get(pk=int(task_result.id)).status
            seen.append((_name, sender, task_result, status))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    try:
        yield seen
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)


ALL_SIGNALS = (
    (task_enqueued, "enqueued"),
    (task_started, "started"),
    (task_finished, "finished"),
)


# The backend and its options


def test_the_default_backend_is_future_celerys_and_says_what_it_supports():
    assert isinstance(task_backends["default"], FutureCeleryBackend)
    assert default_task_backend.alias == "default"
    assert default_task_backend.supports_defer
    assert default_task_backend.supports_priority
    assert default_task_backend.supports_get_result
    assert default_task_backend.supports_async_task
    assert default_task_backend.max_attempts == 1  # no retry unless OPTIONS say so


def test_an_unknown_option_is_refused_naming_it(backend_settings):
    with pytest.raises(ImproperlyConfigured, match=r"unknown keys \['RETRY'\]") as caught:
        backend_settings(RETRY=3)
    assert isinstance(caught.value, InvalidBackendOptions)


@pytest.mark.parametrize("bad", [-1, "3", 1.5, True])
def test_retries_must_be_a_whole_number_of_at_least_0(backend_settings, bad):
    with pytest.raises(InvalidBackendOptions, match="RETRIES"):
        backend_settings(RETRIES=bad)


# enqueue


def test_enqueue_writes_one_row_with_one_query_and_returns_a_ready_result(
    django_assert_num_queries,
):
    with django_assert_num_queries(1):
        result = django_tasks.echo.enqueue(1, two=[3])
    job = row(result)
    assert job.callable_name == "tests.django_task_functions.echo" and job.task_backend == "default"
    assert (job.args, job.kwargs, job.status) == ([1], {"two": [3]}, "scheduled")
    assert job.time_slot_end is None and job.slot is None  # never expires; not deferred
    assert (job.max_attempts, job.queue, job.priority) == (1, "", 128)
    assert result.id == str(job.pk) and result.backend == "default"
    assert result.status == TaskResultStatus.READY and not result.is_finished
    assert result.enqueued_at == job.created
    assert result.started_at is None and result.finished_at is None
    assert result.last_attempted_at is None
    assert (result.args, result.kwargs) == ([1], {"two": [3]})
    assert result.task == django_tasks.echo and result.attempts == 0
    assert result.errors == [] and result.worker_ids == []
    with pytest.raises(ValueError, match="Task has not finished yet"):
        result.return_value  # noqa: B018


def test_aenqueue_enqueues_too():
    result = async_to_sync(django_tasks.noop.aenqueue)()
    assert row(result).status == "scheduled" and result.status == TaskResultStatus.READY


def test_enqueue_sends_task_enqueued_with_the_result():
    with received(*ALL_SIGNALS) as seen:
        result = django_tasks.noop.enqueue()
    assert seen == [("enqueued", FutureCeleryBackend, result, "scheduled")]


def test_a_job_row_is_dispatched_once_its_transaction_commits(monkeypatch, settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = True
    handed = []
    monkeypatch.setattr(dispatch, "dispatch_on_commit", handed.extend)
    with transaction.atomic():
        result = django_tasks.noop.enqueue()
    assert [job.pk for job in handed] == [int(result.id)]


def test_tuples_become_lists_as_django_normalises_arguments():
    result = django_tasks.echo.enqueue((1, 2), nested={"t": (3,)})
    assert result.args == [[1, 2]] and result.kwargs == {"nested": {"t": [3]}}
    assert row(result).args == [[1, 2]]


@pytest.mark.parametrize(
    ("args", "kwargs", "where"),
    [
        ([{1, 2}], {}, r"args\[0\]"),
        ([], {"when": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}, r"kwargs\['when'\]"),
        ([{1: "int key"}], {}, r"args\[0\]"),
        (["nul \x00"], {}, r"args\[0\]"),
    ],
)
def test_an_argument_that_is_not_json_raises_and_saves_nothing(args, kwargs, where):
    with pytest.raises(ArgumentNotSerializable, match=where) as caught:
        django_tasks.echo.enqueue(*args, **kwargs)
    assert isinstance(caught.value, TypeError)
    assert not ScheduledJob.objects.exists()


def test_the_allow_list_applies_to_tasks(settings):
    settings.FUTURE_CELERY_ALLOWED_CALLABLES = ["proj.*"]
    with pytest.raises(CallableNotAllowed):
        django_tasks.noop.enqueue()
    assert not ScheduledJob.objects.exists()


# validate_task


def test_a_function_that_is_not_at_module_level_is_refused():
    def nested():
        pass

    with pytest.raises(InvalidTask, match="module level"):
        task(nested)


def test_a_function_of_main_is_refused():
    def main_function():
        pass

    main_function.__module__ = "__main__"
    main_function.__qualname__ = "main_function"
    with pytest.raises(InvalidTask, match="__main__"):
        task(main_function)


def test_a_queue_not_in_queues_is_refused(backend_settings):
    backend_settings(queues=["default", "emails"])
    assert django_tasks.noop.using(queue_name="emails").queue_name == "emails"
    with pytest.raises(InvalidTask, match="Queue 'reports' is not valid"):
        django_tasks.noop.using(queue_name="reports")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"priority": 101}, "priority must be a whole number"),
        ({"run_after": dt.datetime(2030, 1, 1)}, "run_after must be an aware datetime"),
    ],
)
def test_what_django_refuses_is_refused(change, message):
    with pytest.raises(InvalidTask, match=message):
        django_tasks.noop.using(**change)


def test_a_context_task_needs_a_context_argument():
    with pytest.raises(InvalidTask, match="first argument of 'context'"):
        task(takes_context=True)(django_tasks.order_of_runs.func)


# get_result


def test_get_result_reads_the_same_result_back():
    result = django_tasks.echo.enqueue("a")
    assert default_task_backend.get_result(result.id) == result
    assert django_tasks.echo.get_result(result.id) == result
    assert async_to_sync(default_task_backend.aget_result)(result.id) == result


def test_get_result_of_another_task_is_a_mismatch():
    result = django_tasks.noop.enqueue()
    with pytest.raises(TaskResultMismatch):
        django_tasks.echo.get_result(result.id)


@pytest.mark.parametrize("result_id", ["987654", "not-an-id", "", "99999999999999999999"])
def test_an_unknown_id_does_not_exist(result_id):
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(result_id)


def test_the_id_of_an_ordinary_job_is_no_task_result():
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(str(job.pk))


def test_a_result_maps_each_status():
    result = django_tasks.noop.enqueue()
    expected = {
        "scheduled": TaskResultStatus.READY,
        "queued": TaskResultStatus.READY,
        "running": TaskResultStatus.RUNNING,
        "complete": TaskResultStatus.SUCCESSFUL,
        "failed": TaskResultStatus.FAILED,
        "expired": TaskResultStatus.FAILED,
        "cancelled": TaskResultStatus.FAILED,
    }
    for status, django_status in expected.items():
        ScheduledJob.objects.filter(pk=int(result.id)).update(status=status)
        result.refresh()
        assert result.status == django_status, status
        assert result.is_finished == (django_status in ("SUCCESSFUL", "FAILED"))


def test_a_cancelled_task_is_failed_and_finished():
    result = django_tasks.noop.enqueue()
    row(result).cancel()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.finished_at is not None


# Running: results, refresh, async, context


def test_a_task_runs_and_its_result_holds_its_json_return_value():
    result = django_tasks.echo.enqueue(1, (2, 3), key="value")
    before = timezone.now()
    assert run_all().completed == [int(result.id)]
    job = row(result)
    assert job.return_value == '{"args": [1, [2, 3]], "kwargs": {"key": "value"}}'
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.is_finished
    assert result.return_value == {"args": [1, [2, 3]], "kwargs": {"key": "value"}}
    assert before <= result.started_at <= result.finished_at <= timezone.now()
    assert result.last_attempted_at == result.started_at == job.execution_start
    assert result.attempts == 1 and result.worker_ids == [runner.node_name(runner.RUNNER)]
    assert result.errors == []


def test_none_is_a_return_value_too():
    result = django_tasks.noop.enqueue()
    run_all()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value is None
    assert row(result).return_value == "null"


def test_arefresh_reloads_a_held_result():
    result = django_tasks.echo.enqueue()
    run_all()
    async_to_sync(result.arefresh)()
    assert result.return_value == {"args": [], "kwargs": {}}


def test_an_async_task_runs():
    result = django_tasks.async_echo.enqueue("x")
    run_all()
    result.refresh()
    assert result.return_value == {"async": "x"}


def test_a_context_task_gets_its_attempt_and_its_result():
    result = django_tasks.context_report.enqueue()
    run_all()
    result.refresh()
    assert result.return_value == {
        "attempt": 1,
        "id": result.id,
        "status": "RUNNING",
        "worker_ids": [runner.node_name(runner.RUNNER)],
    }


def test_process_tasks_runs_a_result_enqueued_there_too():
    result = django_tasks.order_of_runs.enqueue("processed")
    runner.process(duration=0.5, sleep=0.05)
    result.refresh()
    assert result.return_value == "processed"


# Defer and priority


def test_run_after_a_datetime_defers_the_task_until_then():
    at = timezone.now().replace(microsecond=0) + dt.timedelta(hours=2)
    deferred = django_tasks.noop.using(run_after=at)
    result = deferred.enqueue()
    job = row(result)
    assert job.time_slot_start == at and job.slot == at
    assert result.task == deferred and result.task.run_after == at
    assert default_task_backend.get_result(result.id) == result
    assert run_all().completed == []
    assert run_all(now=at).completed == [job.pk]


def test_run_after_a_timedelta_counts_from_enqueue():
    before = timezone.now()
    result = django_tasks.noop.using(run_after=dt.timedelta(minutes=10)).enqueue()
    job = row(result)
    assert before + dt.timedelta(minutes=10) <= job.time_slot_start
    assert job.time_slot_start <= timezone.now() + dt.timedelta(minutes=10)
    assert result.task.run_after == job.time_slot_start  # the datetime it came to
    assert run_all().completed == []


@pytest.mark.parametrize(
    ("django", "celery"), [(-100, 0), (-1, 126), (0, 128), (50, 191), (100, 255)]
)
def test_a_priority_is_stored_as_celerys_and_read_back_as_djangos(django, celery):
    prioritised = django_tasks.noop.using(priority=django)
    result = prioritised.enqueue()
    assert row(result).priority == celery
    assert default_task_backend.get_result(result.id).task == prioritised


def test_process_tasks_runs_higher_priorities_first():
    django_tasks.RUNS.clear()
    for label, priority in [("low", -50), ("high", 90), ("default", 0)]:
        django_tasks.order_of_runs.using(priority=priority).enqueue(label)
    runner.process(duration=0.5, sleep=0.05)
    assert django_tasks.RUNS == ["high", "default", "low"]


def test_a_named_queue_is_the_celery_queue_and_default_is_ours(backend_settings):
    backend_settings(queues=["default", "emails"])
    on_emails = django_tasks.noop.using(queue_name="emails").enqueue()
    on_default = django_tasks.noop.enqueue()
    assert row(on_emails).queue == "emails" and row(on_default).queue == ""
    assert default_task_backend.get_result(on_emails.id).task.queue_name == "emails"
    assert default_task_backend.get_result(on_default.id).task.queue_name == "default"


# Errors


def test_a_failing_task_is_failed_with_its_exception_class_and_traceback():
    result = django_tasks.fail.enqueue("boom")
    assert run_all().failed == [int(result.id)]
    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.is_finished
    assert result.finished_at is not None and result.attempts == 1
    (error,) = result.errors
    assert error.exception_class_path == "tests.django_task_functions.TaskFailure"
    assert error.exception_class is TaskFailure
    assert "Traceback (most recent call last)" in error.traceback
    assert error.traceback.rstrip().endswith("tests.django_task_functions.TaskFailure: boom")
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018


def test_a_builtin_exception_is_named_in_builtins():
    result = django_tasks.fail_builtin.enqueue()
    run_all()
    result.refresh()
    assert result.errors[0].exception_class_path == "builtins.ValueError"
    assert result.errors[0].exception_class is ValueError


@pytest.mark.parametrize(("kind", "size"), [("set", 0), ("long", 20_000)])
def test_a_return_value_that_cannot_be_stored_fails_the_task(kind, size):
    result = django_tasks.returns.enqueue(kind, size)
    run_all()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class is ReturnValueNotStorable


def test_a_task_that_fails_rolls_its_writes_back():
    result = django_tasks.write_note_then_return_a_set.enqueue("rolled back?")
    run_all()
    assert row(result).status == "failed"
    assert not Note.objects.filter(title="rolled back?").exists()


# Retries


def test_without_retries_a_failing_task_fails_after_one_attempt():
    result = django_tasks.context_report.enqueue(fail_until=1)
    run_all(now=timezone.now() + FAR)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.attempts == 1


def test_with_retries_a_failing_task_runs_again_after_the_backoff(backend_settings):
    backend_settings(RETRIES=2)
    result = django_tasks.context_report.enqueue(fail_until=2)
    job = row(result)
    assert (job.max_attempts, job.backoff) == (3, "exponential")
    run_all()
    result.refresh()
    assert result.status == TaskResultStatus.READY and result.attempts == 1
    assert result.errors[0].exception_class is TaskFailure  # the last attempt's error
    assert result.finished_at is None and not result.is_finished
    assert row(result).time_slot_start > timezone.now()  # the backoff
    for _ in range(2):
        run_all(now=timezone.now() + FAR)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.attempts == 3
    assert result.return_value["attempt"] == 3 and len(result.worker_ids) == 3


# Signals (the job's transaction commits: transactional tests)


@pytest.mark.django_db(transaction=True)
def test_signals_are_sent_in_order_with_the_rows_state_of_the_moment():
    with received(*ALL_SIGNALS) as seen:
        result = django_tasks.echo.enqueue("s")
        run_all()
    assert [(name, sender, status) for name, sender, _, status in seen] == [
        ("enqueued", FutureCeleryBackend, "scheduled"),
        ("started", FutureCeleryBackend, "running"),  # before the call
        ("finished", FutureCeleryBackend, "complete"),  # once the completion committed
    ]
    started, finished = seen[1][2], seen[2][2]
    assert started.status == TaskResultStatus.RUNNING and started.attempts == 1
    assert finished.status == TaskResultStatus.SUCCESSFUL
    assert finished.return_value == {"args": ["s"], "kwargs": {}}
    assert finished == default_task_backend.get_result(result.id)


@pytest.mark.django_db(transaction=True)
def test_a_failure_sends_task_finished_failed_once_it_is_recorded():
    with received((task_finished, "finished")) as seen:
        result = django_tasks.fail.enqueue("f")
        run_all()
    ((_, _, finished, status),) = seen
    assert status == "failed" and finished.status == TaskResultStatus.FAILED
    assert finished.errors[0].exception_class is TaskFailure
    assert finished.id == result.id


@pytest.mark.django_db(transaction=True)
def test_a_retried_attempt_sends_task_finished_only_at_the_end(backend_settings):
    backend_settings(RETRIES=1)
    with received((task_started, "started"), (task_finished, "finished")) as seen:
        django_tasks.context_report.enqueue(fail_until=1)
        run_all()
        run_all(now=timezone.now() + FAR)
    assert [(name, result.status) for name, _, result, _ in seen] == [
        ("started", "RUNNING"),
        ("started", "RUNNING"),
        ("finished", "SUCCESSFUL"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_raises_does_not_undo_the_completion(caplog):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    task_finished.connect(broken)
    try:
        result = django_tasks.noop.enqueue()
        assert run_all().completed == [int(result.id)]
    finally:
        task_finished.disconnect(broken)
    assert row(result).status == "complete"
    assert "receiver bug" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_on_a_worker_the_failure_handler_sends_task_finished():
    """What a Celery worker's pool process does for a task that raised: the task_failure
    handler records the failure, then sends task_finished (here without the worker)."""
    result = django_tasks.fail.enqueue("on a worker")
    ScheduledJob.objects.filter(pk=int(result.id)).update(status="queued", task_id="fc-t")
    job = lifecycle.start_delivered(int(result.id), "fc-t", "celery@host:1")
    with received((task_started, "started"), (task_finished, "finished")) as seen:
        from future_celery import execution

        with pytest.raises(TaskFailure) as raised:
            execution.execute(job)
        on_task_failure(
            sender=type("RunJob", (), {"name": RUN_JOB}),
            task_id="fc-t",
            exception=raised.value,
            args=[job.pk],
            einfo=type(
                "Info",
                (),
                {"traceback": "Traceback...\ntests.django_task_functions.TaskFailure: x"},
            ),
        )
    assert [(name, status) for name, _, _, status in seen] == [
        ("started", "running"),
        ("finished", "failed"),
    ]
    assert seen[1][2].worker_ids == ["celery@host:1"]
    assert seen[1][2].errors[0].exception_class is TaskFailure


# Another process


@pytest.mark.django_db(transaction=True)
def test_another_process_reads_the_result_by_its_id(process_env, manage_py):
    result = django_tasks.echo.enqueue("elsewhere")
    run_all()
    code = (
        "from future_celery.tasks_api import default_task_backend as b; "
        f"r = b.get_result({result.id!r}); print(r.status, r.return_value, r.task.module_path)"
    )
    out = subprocess.run(
        [*manage_py, "shell", "-c", code],
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == (
        "SUCCESSFUL {'args': ['elsewhere'], 'kwargs': {}} tests.django_task_functions.echo"
    )


# Issue 24: the contract's gaps


def test_a_return_value_that_is_not_json_fails_with_a_type_error_as_djangos_contract_says():
    result = django_tasks.returns.enqueue("set")
    run_all()
    result.refresh()
    error_class = result.errors[0].exception_class
    assert error_class is ReturnValueNotStorable
    assert issubclass(error_class, TypeError)  # Django's contract
    assert issubclass(error_class, ValueError)  # what it was: except ValueError still works


@pytest.mark.parametrize("queue", ["queue-2", "emails"])
def test_with_queues_empty_any_queue_name_is_carried_by_its_result(backend_settings, queue):
    backend_settings(queues=[])  # Django: any queue name is valid
    on_queue = django_tasks.echo.using(queue_name=queue)
    result = on_queue.enqueue()
    assert result.task.queue_name == queue and result.task == on_queue
    assert row(result).queue == queue  # the Celery queue it goes to
    assert default_task_backend.get_result(result.id).task.queue_name == queue
    run_all()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.task.queue_name == queue
    assert django_tasks.echo.enqueue().task.queue_name == "default"


def test_a_result_keeps_its_queue_when_queues_change_later(backend_settings):
    backend_settings(queues=["default", "emails"])
    result = django_tasks.noop.using(queue_name="emails").enqueue()
    backend_settings(queues=["default"])
    assert default_task_backend.get_result(result.id).task.queue_name == "emails"


def test_default_reads_back_as_default_on_the_projects_default_queue(backend_settings, settings):
    settings.FUTURE_CELERY_DEFAULT_QUEUE = "jobs"
    backend_settings(queues=[])
    result = django_tasks.noop.enqueue()
    assert row(result).queue == "jobs"
    assert default_task_backend.get_result(result.id).task.queue_name == "default"


# The backend's check()


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_a_configuration_that_is_right_is_reported_by_no_check(backend_settings):
    assert backend_settings(queues=["default", "emails"]).check() == []
    assert backend_settings(queues=[]).check() == []


def test_the_app_missing_from_installed_apps_is_an_error():
    with modify_settings(INSTALLED_APPS={"remove": ["future_celery"]}):
        (error,) = task_backends["default"].check()
    assert error.id == "future_celery.E101" and error.level == checks.ERROR
    assert "INSTALLED_APPS" in error.msg and "'future_celery'" in error.hint
    assert task_backends["default"].check() == []


@pytest.mark.django_db(transaction=True)
def test_a_project_without_the_app_is_told_by_manage_py_check(process_env):
    """As a project would see it: the backend imports without the app (its rows' model is
    not imported), `check` names the missing app, and using the backend raises AppNotLoaded
    (not Django's RuntimeError about a model of an app that is not installed)."""
    env = dict(process_env, DJANGO_SETTINGS_MODULE="tests.settings_without_app")
    check = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 1, check.stdout + check.stderr
    assert "(future_celery.E101) TASKS['default'] uses FutureCeleryBackend" in check.stderr
    assert "Traceback" not in check.stderr
    code = (
        "import django; django.setup()\n"
        "from future_celery.tasks_api import default_task_backend\n"
        "try:\n"
        "    default_task_backend.get_result('1')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, isinstance(exc, ImproperlyConfigured))\n"
    )
    used = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.core.exceptions import ImproperlyConfigured\n" + code,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert used.stdout.strip() == "AppNotLoaded True", used.stderr


def test_queues_as_a_string_is_an_error(settings):
    settings.TASKS = {"default": {"BACKEND": BACKEND, "QUEUES": "emails"}}
    (error,) = task_backends["default"].check()
    assert error.id == "future_celery.E102" and "'emails'" in error.msg


@pytest.mark.parametrize(
    ("queue", "why"),
    [
        ("celeryev.mine", "Celery keeps for itself"),
        ("q" * 201, "at most 200 characters"),
        ("tab\tqueue", "control characters"),
        (7, "must be a string"),
    ],
)
def test_a_queue_no_task_can_be_enqueued_on_is_an_error(backend_settings, queue, why):
    (error,) = backend_settings(queues=["default", "emails", queue]).check()
    assert error.id == "future_celery.E103" and why in error.msg
    assert error.msg.startswith(f"TASKS['default']['QUEUES'] lists {queue!r}")


def test_listing_the_default_celery_queue_beside_default_is_a_warning(backend_settings, settings):
    settings.FUTURE_CELERY_DEFAULT_QUEUE = "jobs"
    (warning,) = backend_settings(queues=["default", "jobs"]).check()
    assert warning.id == "future_celery.W101" and warning.level == checks.WARNING
    assert backend_settings(queues=["jobs"]).check() == []  # "jobs" is then itself
    assert backend_settings(queues=["default"]).check() == []


def test_djangos_check_framework_runs_the_backends_check(settings):
    settings.TASKS = {"default": {"BACKEND": BACKEND, "QUEUES": "emails"}}
    if SOURCE == "django.tasks":
        assert "future_celery.E102" in ids(checks.run_checks())
    else:
        # The backport registers the check of every backend when its app, django_tasks, is
        # installed (as the README says): the check it registers runs ours.
        from django_tasks.checks import check_tasks

        assert "future_celery.E102" in ids(check_tasks())


# A row whose function is gone


def gone(result, path="tests.django_task_functions.deleted_since") -> ScheduledJob:
    """The row of ``result``, now naming a function that no longer exists (renamed or
    deleted in a deploy after the task was enqueued)."""
    ScheduledJob.objects.filter(pk=int(result.id)).update(callable_name=path)
    return row(result)


@pytest.mark.parametrize(
    "path",
    [
        "tests.django_task_functions.deleted_since",  # the module is there, the function not
        "tests.module_deleted_since.task",  # the module is gone too
        "tests.django_task_functions.TaskFailure",  # importable, but not a task
    ],
)
def test_a_row_whose_function_is_gone_has_a_readable_result(path):
    result = django_tasks.echo.enqueue("x")
    job = gone(result, path)
    pending = default_task_backend.get_result(result.id)  # before it runs
    assert pending.status == TaskResultStatus.READY and pending.task.module_path == path
    assert pending.args == ["x"] and pending.task.backend == "default"
    assert run_all().failed == [job.pk]
    failed = default_task_backend.get_result(result.id)
    assert failed.status == TaskResultStatus.FAILED and failed.is_finished
    (error,) = failed.errors
    assert error.exception_class is CallableNotFound  # an ImportError
    assert (
        error.traceback.rstrip()
        .splitlines()[-1]
        .startswith("future_celery.exceptions.CallableNotFound: ")
    )
    assert repr(path) in error.traceback.rstrip().splitlines()[-1]
    assert failed == default_task_backend.get_result(result.id)
    assert failed.task.module_path == path and failed.task.queue_name == "default"
    with pytest.raises(CallableNotFound, match="no longer exists"):
        failed.task.func()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("runs", ["run_jobs", "process_tasks"])
def test_a_row_whose_function_is_gone_sends_task_finished_failed(runs):
    with received(*ALL_SIGNALS) as seen:
        result = django_tasks.echo.enqueue("x")
        gone(result)
        if runs == "run_jobs":
            run_all()
        else:
            runner.process(duration=0.5, sleep=0.05)
    assert [(name, status) for name, _, _, status in seen] == [
        ("enqueued", "scheduled"),
        ("finished", "failed"),  # no task_started: there was no function to start
    ]
    finished = seen[1][2]
    assert finished.status == TaskResultStatus.FAILED and finished.id == result.id
    assert finished.errors[0].exception_class is CallableNotFound
    assert finished.task.module_path == "tests.django_task_functions.deleted_since"


@pytest.mark.django_db(transaction=True)
def test_a_row_of_a_backend_alias_gone_from_tasks_still_reports_its_failure(settings):
    settings.TASKS = {
        "default": {"BACKEND": BACKEND},
        "other": {"BACKEND": BACKEND},
    }
    result = django_tasks.echo.using(backend="other").enqueue()
    gone(result)
    settings.TASKS = {"default": {"BACKEND": BACKEND}}
    with received((task_finished, "finished")) as seen:
        run_all()
    ((_, sender, finished, status),) = seen
    assert status == "failed" and sender is FutureCeleryBackend
    assert finished.backend == "other" and finished.errors[0].exception_class is CallableNotFound
