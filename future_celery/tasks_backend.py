"""Django's Tasks framework (``django.tasks``, or the django-tasks backport on Django 5.2:
see tasks_api) on future_celery's rows.

    TASKS = {"default": {"BACKEND": "future_celery.tasks_backend.FutureCeleryBackend"}}

``enqueue()`` writes an ordinary ScheduledJob row through schedule_job's insertion path (its
JSON rules, allow-list and on-commit dispatch), marked with the backend's alias
(``task_backend``). The tick, the Celery workers and the in-process runners run it as any
job; the hooks of tasks_results (see front_doors) give the task its TaskContext, send
Django's task signals and keep its return value as JSON. A TaskResult is read from the
row, by its id (the row's primary key), in any process.

This module does not import the job table's model, so that a project that names the
backend in TASKS without the future_celery app in INSTALLED_APPS gets the backend's check()
error (Django's check framework makes every backend), not an import error; the row side
(tasks_results, which the app's ready() imports) is imported once the app is known to be
installed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core import checks

from . import callables, conf, options
from .exceptions import (
    AppNotLoaded,
    ArgumentNotSerializable,
    InvalidBackendOptions,
    InvalidOption,
    WrongOptionType,
)
from .tasks_api import (
    DEFAULT_TASK_PRIORITY,
    DEFAULT_TASK_QUEUE_NAME,
    TASK_MAX_PRIORITY,
    TASK_MIN_PRIORITY,
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResult,
    TaskResultDoesNotExist,
    normalize_json,
    task_enqueued,
)

if TYPE_CHECKING:
    from types import ModuleType

OPTIONS = {"RETRIES": 0}
# Celery's priorities, which a job row holds.
CELERY_MIN_PRIORITY, CELERY_MAX_PRIORITY = 0, 255
# The app this backend keeps its rows in.
APP = "future_celery"

# The Task of each task function's path, as the backends validated them (the module that
# defines a task validates it when it is imported): what a row's callable runs, and the
# task a TaskResult names.
_tasks: dict[str, Task] = {}


def registered(path: str) -> Task | None:
    """The Task validated under ``path`` in this process, if any."""
    return _tasks.get(path)


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
        # As given: Django makes a set of it, of a string's characters too (see check()).
        self._queues_setting = params.get("QUEUES", [DEFAULT_TASK_QUEUE_NAME])
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
            super().validate_task(copy_task(task, run_after=None))
        else:
            super().validate_task(task)
        if task.func.__module__ == "__main__":
            raise InvalidTask("Task function must be importable by a worker, not in __main__.")
        callables.register(task.module_path, task.func)
        _tasks[task.module_path] = task

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """Save the task's row (due at its run_after) and return its TaskResult; the row is
        handed to Celery once the transaction commits."""
        rows = _rows()
        from . import scheduling  # with the model, as _rows()

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
        result = rows.result_of(job, task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        """The TaskResult of task ``result_id``, read from its row now."""
        rows = _rows()
        text = str(result_id)
        job = None
        if text.isdigit() and int(text) < 2**63:
            job = rows.Job.objects.filter(pk=int(text), task_backend=self.alias).first()
        if job is None:
            raise TaskResultDoesNotExist(result_id)
        return rows.result_of(job)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        """What this backend can see is wrong in its configuration (Django's check framework
        runs it: manage.py check, migrate, runserver): the future_celery app missing from
        INSTALLED_APPS, and QUEUES that are not a list of queue names a job row and Celery
        can take. (A process with no configured Celery app is future_celery's own check.)"""
        where = f"TASKS[{self.alias!r}]"
        messages = [*super().check(**kwargs)]
        if not apps.is_installed(APP):
            messages.append(
                checks.Error(
                    f"{where} uses FutureCeleryBackend, but the future_celery app is not in "
                    "INSTALLED_APPS: its tasks' rows live in the app's table, and enqueue() "
                    "and get_result() cannot work without it.",
                    hint="Add 'future_celery' to INSTALLED_APPS and run manage.py migrate.",
                    id="future_celery.E101",
                )
            )
        return messages + list(self._queue_checks(where))

    def _queue_checks(self, where: str) -> Iterator[checks.CheckMessage]:
        setting = self._queues_setting
        if isinstance(setting, str | bytes) or not isinstance(setting, Iterable):
            yield checks.Error(
                f"{where}['QUEUES'] must be a list of queue names, not {setting!r} (Django "
                "would take each character of a string for a queue name).",
                hint=f"For instance {[DEFAULT_TASK_QUEUE_NAME, 'emails']!r}.",
                id="future_celery.E102",
            )
            return
        for name in setting:
            if name == DEFAULT_TASK_QUEUE_NAME:
                continue  # future_celery's default queue, not a queue of that name
            try:
                options.queue(name, None)
            except (InvalidOption, WrongOptionType) as exc:
                yield checks.Error(
                    f"{where}['QUEUES'] lists {name!r}, which no task can be enqueued on: {exc}.",
                    hint="Name the Celery queues your workers consume (celery worker -Q).",
                    id="future_celery.E103",
                )
        default = conf.get("DEFAULT_QUEUE")
        if default and default in self.queues and DEFAULT_TASK_QUEUE_NAME in self.queues:
            yield checks.Warning(
                f"{where}['QUEUES'] lists both {DEFAULT_TASK_QUEUE_NAME!r} and {default!r}, "
                f"which FUTURE_CELERY_DEFAULT_QUEUE makes the same Celery queue: a task "
                f"enqueued on {default!r} reads back as enqueued on "
                f"{DEFAULT_TASK_QUEUE_NAME!r}.",
                hint=f"List only {DEFAULT_TASK_QUEUE_NAME!r}.",
                id="future_celery.W101",
            )


def _rows() -> ModuleType:
    """tasks_results (the rows' side of the backend), once the app is known to be installed
    (that module needs the job table's model)."""
    if not apps.is_installed(APP):
        raise AppNotLoaded(
            "FutureCeleryBackend keeps its tasks in the future_celery app's table: add "
            "'future_celery' to INSTALLED_APPS (and run manage.py migrate)"
        )
    from . import tasks_results

    return tasks_results


def queue_name(queue: str, queues: set[str]) -> str:
    """The Django queue name of a row's Celery ``queue``: "default" for future_celery's
    default queue ("", or FUTURE_CELERY_DEFAULT_QUEUE's name unless QUEUES lists that name
    and not "default"); any other name is itself, whether QUEUES lists it or not (with
    QUEUES = [], Django takes any name)."""
    if not queue:
        return DEFAULT_TASK_QUEUE_NAME
    if queue == conf.get("DEFAULT_QUEUE") and (
        DEFAULT_TASK_QUEUE_NAME in queues or queue not in queues
    ):
        return DEFAULT_TASK_QUEUE_NAME
    return queue


def copy_task(task: Task, **changes: Any) -> Task:
    """A copy of ``task`` with ``changes``, not validated again (Task.using() would be: a
    result enqueued under other settings must still be readable). Built field by field, not
    by copy.copy: Django 6.1's Task.__reduce__ rebuilds the task through its __init__, whose
    validate_task (ours calls copy_task) would copy it again without end."""
    changed = object.__new__(type(task))
    state = getattr(task, "__dict__", None)  # the backport's Task has no __slots__
    if state:
        changed.__dict__.update(state)
    for field in dataclasses.fields(task):
        value = changes[field.name] if field.name in changes else getattr(task, field.name)
        object.__setattr__(changed, field.name, value)
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
