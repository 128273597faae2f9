"""django-background-tasks' exceptions, at its import path on future_celery:
``from future_celery.compat.background_task.exceptions import InvalidTaskError``."""

from __future__ import annotations

from typing import Any

from future_celery.exceptions import DoNotRetry


class BackgroundTaskError(Exception):
    """Base of django-background-tasks' errors (``errors``: whatever the raiser attaches)."""

    def __init__(self, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.errors = errors


class InvalidTaskError(BackgroundTaskError, DoNotRetry):
    """Raised by a task that must not be tried again: it is failed at once, whatever
    attempts it has left (future_celery.exceptions.DoNotRetry, which every door honours)."""


__all__ = ["BackgroundTaskError", "InvalidTaskError"]
