"""Django's Tasks framework, wherever it comes from: ``django.tasks`` on Django 6.0, or on
Django 5.2 the django-tasks backport (``django_tasks``, ``pip install future_celery[tasks]``),
which has the same modules (its InvalidTaskError is Django's InvalidTask). Importing this
module without either raises an ImportError that names the backport."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from .exceptions import TasksFrameworkMissing


def _package(name: str) -> bool:
    """Whether ``name`` is an importable package (not a module of that name on the path,
    such as a project's own django_tasks.py)."""
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None


# The package that provides the framework here, or None.
SOURCE = next((name for name in ("django.tasks", "django_tasks") if _package(name)), None)

# mypy reads the first branch (Django 6 is what make lint type-checks against).
if TYPE_CHECKING or SOURCE == "django.tasks":
    from django.tasks import DEFAULT_TASK_QUEUE_NAME, default_task_backend, task, task_backends
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import (
        DEFAULT_TASK_PRIORITY,
        TASK_MAX_PRIORITY,
        TASK_MIN_PRIORITY,
        Task,
        TaskContext,
        TaskError,
        TaskResult,
        TaskResultStatus,
    )
    from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist, TaskResultMismatch
    from django.tasks.signals import task_enqueued, task_finished, task_started
    from django.utils.json import normalize_json
elif SOURCE == "django_tasks":
    from django_tasks import (
        DEFAULT_TASK_QUEUE_NAME,
        default_task_backend,
        task,
        task_backends,
    )
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import (
        DEFAULT_TASK_PRIORITY,
        TASK_MAX_PRIORITY,
        TASK_MIN_PRIORITY,
        Task,
        TaskContext,
        TaskError,
        TaskResult,
        TaskResultStatus,
    )
    from django_tasks.exceptions import (
        InvalidTaskError as InvalidTask,
    )
    from django_tasks.exceptions import (
        TaskResultDoesNotExist,
        TaskResultMismatch,
    )
    from django_tasks.signals import (
        task_enqueued,
        task_finished,
        task_started,
    )
    from django_tasks.utils import normalize_json
else:
    raise TasksFrameworkMissing(
        "future_celery's Django Tasks backend needs Django's Tasks framework: django.tasks "
        "(Django 6.0) or, on Django 5.2, the django-tasks backport "
        "(pip install 'future_celery[tasks]' or pip install django-tasks)."
    )

__all__ = [
    "DEFAULT_TASK_PRIORITY",
    "DEFAULT_TASK_QUEUE_NAME",
    "SOURCE",
    "TASK_MAX_PRIORITY",
    "TASK_MIN_PRIORITY",
    "BaseTaskBackend",
    "InvalidTask",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultMismatch",
    "TaskResultStatus",
    "default_task_backend",
    "normalize_json",
    "task",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]
