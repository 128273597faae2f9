"""Django's Tasks framework (``django.tasks``, or the django-tasks backport on Django 5.2:
see tasks_api) on future_celery's rows.

    TASKS = {"default": {"BACKEND": "future_celery.tasks_backend.FutureCeleryBackend"}}

``enqueue()`` writes an ordinary ScheduledJob row through schedule_job's insertion path (its
JSON rules, allow-list and on-commit dispatch), marked with the backend's alias
(``task_backend``). The tick, the Celery workers and the in-process runners run it as any
job; the hooks registered here (see front_doors) give the task its TaskContext, send
Django's task signals and keep its return value as JSON. A TaskResult is read from the
row, by its id (the row's primary key), in any process.

Imported by the app's ready() when the framework is importable."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction
from django.dispatch import Signal

from . import callables, conf, front_doors, options, scheduling, serialization
from .exceptions import (
    ArgumentNotSerializable,
    CallableNotFound,
    InvalidBackendOptions,
    ReturnValueNotStorable,
)
from .models import ScheduledJob
from .tasks_api import (
    DEFAULT_TASK_PRIORITY,
    DEFAULT_TASK_QUEUE_NAME,
    TASK_MAX_PRIORITY,
    TASK_MIN_PRIORITY,
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    normalize_json,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)

logger = logging.getLogger(__name__)

Job = ScheduledJob
READY, RUNNING = TaskResultStatus.READY, TaskResultStatus.RUNNING
SUCCESSFUL, FAILED = TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED
STATUSES = {
    Job.STATUS_SCHEDULED: READY,
    Job.STATUS_QUEUED: READY,
    Job.STATUS_RUNNING: RUNNING,
    Job.STATUS_COMPLETE: SUCCESSFUL,
    Job.STATUS_FAILED: FAILED,
    Job.STATUS_EXPIRED: FAILED,
    Job.STATUS_CANCELLED: FAILED,
}
OPTIONS = {"RETRIES": 0}
# Celery's priorities, which a job row holds.
CELERY_MIN_PRIORITY, CELERY_MAX_PRIORITY = 0, 255

# The Task of each task function's path, as the backends validated them (the module that
# defines a task validates it when it is imported): what a row's callable runs, and the
# task a TaskResult names.
_tasks: dict[str, Task] = {}


def to_celery_priority(priority: int) -> int:
    """Django's priority (-100..100, higher first) on Celery's 0..255, linearly and
    rounded: -100 → 0, 0 → 128, 100 → 255."""
    span, celery_span = TASK_MAX_PRIORITY - TASK_MIN_PRIORITY, CELERY_MAX_PRIORITY
    return ((int(priority) - TASK_MIN_PRIORITY) * celery_span * 2 + span) // (2 * span)


def from_celery_priority(priority: int | None) -> int:
    """The Django priority that to_celery_priority() mapped onto ``priority`` (exactly: a
    Celery step is less than a Django one); Django's default for a row without one."""
    if priority is None:
        return DEFAULT_TASK_PRIORITY
    span, celery_span = TASK_MAX_PRIORITY - TASK_MIN_PRIORITY, CELERY_MAX_PRIORITY
    return (priority * span * 2 + celery_span) // (2 * celery_span) + TASK_MIN_PRIORITY


class FutureCeleryBackend(BaseTaskBackend):
    """Django tasks as future_celery jobs, run by Celery workers or the in-process runners.

    QUEUES: Django's queue names; "default" is future_celery's default queue
    (FUTURE_CELERY_DEFAULT_QUEUE, else Celery's), any other name the Celery queue of that
    name. OPTIONS: ``RETRIES`` (0): how many times a task that raises is run again, with
    the exponential backoff (FUTURE_CELERY_RETRY_BACKOFF)."""

    # run_after: an aware datetime, or a timedelta counted from enqueue().
    supports_defer = True
    # An ``async def`` task runs in the worker, through async_to_sync (as Task.call does).
    supports_async_task = True
    # A result is its job's row: any process reads it by id.
    supports_get_result = True
    # -100..100 onto Celery's 0..255 (to_celery_priority); what brokers make of it: README.
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        unknown = sorted(set(self.options) - set(OPTIONS))
        if unknown:
            raise InvalidBackendOptions(
                f"TASKS[{alias!r}]['OPTIONS'] has unknown keys {unknown}: FutureCeleryBackend "
                f"takes {sorted(OPTIONS)}"
            )
        retries = self.options.get("RETRIES", OPTIONS["RETRIES"])
        if (
            isinstance(retries, bool)
            or not isinstance(retries, int)
            or not 0 <= retries < options.MAX_INT
        ):
            raise InvalidBackendOptions(
                f"TASKS[{alias!r}]['OPTIONS']['RETRIES'] must be a whole number from 0 to "
                f"{options.MAX_INT - 1:,}, not {retries!r}"
            )
        self.max_attempts = retries + 1

    def validate_task(self, task: Task) -> None:
        """Django's checks (a module-level function, a queue in QUEUES, a priority in
        range...), and a function a worker can import (not in __main__). A valid task's
        function is registered under its path, so that the rows naming it run it."""
        if isinstance(task.run_after, dt.timedelta):
            super().validate_task(_with(task, run_after=None))
        else:
            super().validate_task(task)
        if task.func.__module__ == "__main__":
            raise InvalidTask("Task function must be importable by a worker, not in __main__.")
        callables.register(task.module_path, task.func)
        _tasks[task.module_path] = task

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """Save the task's row (due at its run_after) and return its TaskResult; the row is
        handed to Celery once the transaction commits."""
        self.validate_task(task)
        plain_args, plain_kwargs = _plain_json(args, kwargs)
        job = scheduling.schedule_task(
            task.module_path,
            plain_args,
            plain_kwargs,
            backend=self.alias,
            run_after=task.run_after,
            queue=None if task.queue_name == DEFAULT_TASK_QUEUE_NAME else task.queue_name,
            priority=to_celery_priority(task.priority),
            max_attempts=self.max_attempts,
        )
        result = result_of(job, task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        """The TaskResult of task ``result_id``, read from its row now."""
        text = str(result_id)
        job = None
        if text.isdigit() and int(text) < 2**63:
            job = Job.objects.filter(pk=int(text), task_backend=self.alias).first()
        if job is None:
            raise TaskResultDoesNotExist(result_id)
        return result_of(job)


def queue_name(queue: str, queues: set[str]) -> str:
    """The Django queue name of a row's Celery ``queue``: itself if it is one of the
    backend's QUEUES, else "default" (future_celery's default queue)."""
    return queue if queue and queue in queues else DEFAULT_TASK_QUEUE_NAME


def _with(task: Task, **changes: Any) -> Task:
    """A copy of ``task`` with ``changes``, not validated again (Task.using() would be: a
    result enqueued under other settings must still be readable). Built field by field, not
    by copy.copy: Django 6.1's Task.__reduce__ rebuilds the task through its __init__, whose
    validate_task (ours calls _with) would copy it again without end."""
    changed = object.__new__(type(task))
    state = getattr(task, "__dict__", None)  # the backport's Task has no __slots__
    if state:
        changed.__dict__.update(state)
    for field in dataclasses.fields(task):
        object.__setattr__(changed, field.name, changes.get(field.name, getattr(task, field.name)))
    return changed


def _plain_json(args: Any, kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    """The arguments under Django's JSON rules (normalize_json: mappings become dicts, other
    sequences lists, bytes text; anything else is refused); then schedule_job's own apply
    (string keys, no NUL character)."""
    try:
        items = list(args)
    except TypeError:
        raise ArgumentNotSerializable(
            f"args must be a list or tuple of arguments, not {type(args).__name__}"
        ) from None
    plain_args = [_plain(value, f"args[{i}]") for i, value in enumerate(items)]
    plain_kwargs = {key: _plain(value, f"kwargs[{key!r}]") for key, value in dict(kwargs).items()}
    return plain_args, plain_kwargs


def _plain(value: Any, path: str) -> Any:
    try:
        return normalize_json(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentNotSerializable(
            f"{path} cannot be stored as JSON ({exc}): a Django task's arguments are JSON "
            "values (str, int, float, bool, None, lists, dicts)"
        ) from None


def task_of(path: str) -> Task:
    """The Task whose function has module path ``path``; its module is imported if need be
    (defining the task validates it, which registers it here)."""
    task = _tasks.get(path)
    if task is None:
        callables.resolve_path(path)
        task = _tasks.get(path)
    if task is None:
        raise CallableNotFound(f"{path!r} is not a task of a FutureCeleryBackend")
    return task


def result_of(job: Job, task: Task | None = None, **values: Any) -> TaskResult:
    """The TaskResult of a Django task's row, as ``job`` holds it. ``task``: the row's Task
    when the caller has it. ``return_value``, when given, is the one its completion stored."""
    backend = task_backends[job.task_backend]
    task = _as_enqueued(task or task_of(job.callable_name), job, backend)
    status = STATUSES[job.status]
    finished = status in (SUCCESSFUL, FAILED)
    result: TaskResult[..., Any] = TaskResult(
        task=task,
        id=str(job.pk),
        status=status,
        enqueued_at=job.created,
        started_at=job.execution_start,
        finished_at=(job.execution_end or job.updated) if finished else None,
        last_attempted_at=job.execution_start,
        args=serialization.decode(job.args),
        kwargs=serialization.decode(job.kwargs),
        backend=job.task_backend,
        errors=[error_of(job.error)] if job.error else [],
        # The row keeps the last attempt's worker, not each attempt's.
        worker_ids=[job.worker] * job.attempts,
    )
    if status == SUCCESSFUL:
        if "return_value" in values:
            value = values["return_value"]
        else:
            value = json.loads(job.return_value) if job.return_value else None
        object.__setattr__(result, "_return_value", value)
    return result


def _as_enqueued(task: Task, job: Job, backend: BaseTaskBackend) -> Task:
    """``task`` as it was enqueued for ``job``: its priority, queue, run_after and backend."""
    enqueued = {
        "priority": from_celery_priority(job.priority),
        "queue_name": queue_name(job.queue, backend.queues),
        "run_after": job.slot,
        "backend": job.task_backend,
    }
    changes = {name: value for name, value in enqueued.items() if getattr(task, name) != value}
    return _with(task, **changes) if changes else task


# A traceback's exception line: the class's name, module-qualified unless it is a builtin,
# then ": message" or nothing.
_EXCEPTION_LINE = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?::|$)")


def error_of(text: str) -> TaskError:
    """The TaskError of a row's error text (the last attempt's traceback): the class is the
    one its last exception line names (``builtins.X`` for a builtin); ``builtins.Exception``
    if no line names one (a worker lost without a traceback)."""
    name = "Exception"
    for line in reversed(text.splitlines()):
        match = _EXCEPTION_LINE.match(line)
        if match:
            name = match.group(1)
            break
    return TaskError(
        exception_class_path=name if "." in name else f"builtins.{name}", traceback=text
    )


def _json_text(value: Any) -> tuple[Any, str]:
    """A task's return value as JSON (Django's normalize_json) and as the text its row keeps."""
    try:
        text = json.dumps(normalize_json(value))
    except (TypeError, ValueError) as exc:
        raise ReturnValueNotStorable(
            f"the task returned a value that cannot be stored as JSON: {exc}"
        ) from exc
    limit = conf.get("MAX_TEXT_LENGTH")
    if len(text) > limit:
        raise ReturnValueNotStorable(
            f"the task's return value is {len(text)} characters long as JSON, more than "
            f"FUTURE_CELERY_MAX_TEXT_LENGTH ({limit}) allows on its row"
        )
    return json.loads(text), text


def _send(signal: Signal, sender: type, result: TaskResult) -> None:
    """Send ``signal`` after the fact: a receiver's error is logged, not raised."""
    for receiver, response in signal.send_robust(sender, task_result=result):
        if isinstance(response, Exception):
            logger.error(
                "Receiver %r of a task signal raised for task %s",
                receiver,
                result.id,
                exc_info=response,
            )


class _TaskRows:
    """The hooks through which the layers that run jobs run a Django task's row."""

    def call(
        self, job: Job, func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
    ) -> str:
        """task_started, then the function (with its TaskContext first if it takes one, an
        async one through async_to_sync); its return value as JSON text, and task_finished
        once its completion commits."""
        task = task_of(job.callable_name)
        sender = type(task_backends[job.task_backend])
        result = result_of(job, task)
        task_started.send(sender, task_result=result)
        if task.takes_context:
            args = [TaskContext(task_result=result), *args]
        if inspect.iscoroutinefunction(func):
            value = async_to_sync(func)(*args, **kwargs)
        else:
            value = func(*args, **kwargs)
        value, text = _json_text(value)
        transaction.on_commit(functools.partial(self._finished, job, task, sender, value))
        return text

    @staticmethod
    def _finished(job: Job, task: Task, sender: type, value: Any) -> None:
        _send(task_finished, sender, result_of(job, task, return_value=value))

    def failed(self, job: Job) -> None:
        """task_finished, FAILED, once the attempt's failure is final (a retry follows
        otherwise: its attempt sends task_started again)."""
        if job.status != Job.STATUS_FAILED:
            return
        try:
            result = result_of(job)
            sender = type(task_backends[job.task_backend])
        except Exception:
            logger.exception("Task %s failed, and its TaskResult cannot be made", job.pk)
            return
        _send(task_finished, sender, result)


front_doors.register(front_doors.TASK_BACKEND, _TaskRows())
