"""A Django task's row as Django sees it: its TaskResult, read from the row in any process,
and the hooks (see front_doors) through which the layers that run jobs run such a row: its
TaskContext, Django's task signals, its return value kept as JSON.

The backend itself (tasks_backend) imports this module only once it knows the future_celery
app is installed: this one needs the job table's model. The app's ready() imports it, which
registers the hooks."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from . import callables, conf, front_doors, serialization
from .exceptions import CallableNotFound, ReturnValueNotStorable
from .models import ScheduledJob
from .tasks_api import (
    BaseTaskBackend,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultStatus,
    normalize_json,
    task_backends,
    task_finished,
    task_started,
)
from .tasks_backend import (
    FutureCeleryBackend,
    copy_task,
    from_celery_priority,
    queue_name,
    registered,
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


def task_of(path: str) -> Task:
    """The Task whose function has module path ``path``; its module is imported if need be
    (defining the task validates it, which registers it: see tasks_backend.registered)."""
    task = registered(path)
    if task is None:
        callables.resolve_path(path)
        task = registered(path)
    if task is None:
        raise CallableNotFound(f"{path!r} is not a task of a FutureCeleryBackend")
    return task


def _backend(alias: str) -> BaseTaskBackend | None:
    """The backend ``alias`` names in TASKS now; None if it names none any more."""
    try:
        return task_backends[alias]
    except Exception:  # InvalidTaskBackend: the alias left TASKS after the row was written
        return None


def result_of(job: Job, task: Task | None = None, **values: Any) -> TaskResult:
    """The TaskResult of a Django task's row, as ``job`` holds it. ``task``: the row's Task
    when the caller has it. ``return_value``, when given, is the one its completion stored.
    A row whose function is gone (renamed, deleted, no longer a task) still has a result:
    its task stands in for the function (see _stand_in), and once the row has failed its
    error says why the function could not be imported."""
    backend = _backend(job.task_backend)
    if task is None:
        try:
            task = task_of(job.callable_name)
        except CallableNotFound:
            task = _stand_in(job.callable_name, job.task_backend)
    task = _as_enqueued(task, job, backend.queues if backend else set())
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


def _as_enqueued(task: Task, job: Job, queues: set[str]) -> Task:
    """``task`` as it was enqueued for ``job``: its priority, queue, run_after and backend."""
    enqueued = {
        "priority": from_celery_priority(job.priority),
        "queue_name": queue_name(job.queue, queues),
        "run_after": job.slot,
        "backend": job.task_backend,
    }
    changes = {name: value for name, value in enqueued.items() if getattr(task, name) != value}
    return copy_task(task, **changes) if changes else task


@functools.cache
def _missing_function(path: str) -> Callable[..., Any]:
    """A function named ``path`` (its module path is ``path``) that raises CallableNotFound:
    what the task of a row whose function is gone holds. One per path, so that two results
    of such a row compare equal."""
    module, _, name = path.rpartition(".")

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise CallableNotFound(f"the task function {path!r} no longer exists")

    missing.__module__, missing.__name__, missing.__qualname__ = module, name, name
    return missing


def _stand_in(path: str, alias: str) -> Task:
    """The Task of a row whose function ``path`` cannot be imported any more, with the row's
    backend ``alias`` and Django's defaults otherwise (_as_enqueued then sets the row's).
    Built field by field, not validated: the backend would refuse a function that is not
    at module level."""
    # (getattr: the django-tasks backport's backends may have no task_class.)
    task_class = getattr(_backend(alias) or FutureCeleryBackend, "task_class", Task)
    task = object.__new__(task_class)
    for field in dataclasses.fields(task_class):
        if field.name == "func":
            value: Any = _missing_function(path)
        elif field.name == "backend":
            value = alias
        elif field.default is not dataclasses.MISSING:
            value = field.default
        elif field.default_factory is not dataclasses.MISSING:
            value = field.default_factory()
        else:
            # No default (Django 6.0's priority, queue_name and run_after): _as_enqueued
            # sets the row's.
            value = None
        object.__setattr__(task, field.name, value)
    return task


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


def _sender(job: Job) -> type:
    """The sender of a row's task signals: the class of its backend."""
    backend = _backend(job.task_backend)
    return type(backend) if backend is not None else FutureCeleryBackend


class _TaskRows:
    """The hooks through which the layers that run jobs run a Django task's row."""

    def call(
        self, job: Job, func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
    ) -> str:
        """task_started, then the function (with its TaskContext first if it takes one; an
        async one to its end, as callables.invoke runs any); its return value as JSON text,
        and task_finished once its completion commits."""
        task = task_of(job.callable_name)
        sender = _sender(job)
        result = result_of(job, task)
        task_started.send(sender, task_result=result)
        if task.takes_context:
            args = [TaskContext(task_result=result), *args]
        value, text = _json_text(callables.invoke(func, args, kwargs))
        transaction.on_commit(functools.partial(self._finished, job, task, sender, value))
        return text

    @staticmethod
    def _finished(job: Job, task: Task, sender: type, value: Any) -> None:
        _send(task_finished, sender, result_of(job, task, return_value=value))

    def failed(self, job: Job) -> None:
        """task_finished, FAILED, once the attempt's failure is final (a retry follows
        otherwise: its attempt sends task_started again). Its function may be gone: the
        result is then the stand-in's (see result_of)."""
        if job.status != Job.STATUS_FAILED:
            return
        try:
            result = result_of(job)
        except Exception:
            logger.exception("Task %s failed, and its TaskResult cannot be made", job.pk)
            return
        _send(task_finished, _sender(job), result)


front_doors.register(front_doors.TASK_BACKEND, _TaskRows())
