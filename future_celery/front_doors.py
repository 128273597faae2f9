"""Hooks through which a front door runs the rows it marks as its own.

A Django task's row (``task_backend`` set) is called with Django's TaskContext and signals
and keeps a JSON return value: what its front door (future_celery.tasks_results) knows and
the layers that run jobs (execution, runner, signal_handlers) must not import. The front
door registers its hooks here when it is imported, under the name of the field that marks
its rows; those layers look them up for a marked row only, so an ordinary job pays one
attribute check."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .exceptions import FrontDoorMissing

if TYPE_CHECKING:
    from .models import ScheduledJob


class RowHooks(Protocol):
    def call(
        self,
        job: ScheduledJob,
        func: Callable[..., Any],
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> Any:
        """Call ``func`` for ``job`` (in the job's transaction); what to store as its result."""

    def failed(self, job: ScheduledJob) -> None:
        """``job``'s attempt failed and that is recorded (``job.status`` says if for good)."""


# The field that marks a Django task's row.
TASK_BACKEND = "task_backend"

_hooks: dict[str, RowHooks] = {}


def register(marker: str, hooks: RowHooks) -> None:
    """Run the rows whose field ``marker`` is set through ``hooks``."""
    _hooks[marker] = hooks


def hooks(marker: str) -> RowHooks:
    """The hooks registered for rows marked by ``marker``; FrontDoorMissing if none is."""
    try:
        return _hooks[marker]
    except KeyError:
        raise FrontDoorMissing(
            f"this job's row is marked by {marker!r}, but no front door runs such rows in "
            "this process (is django.tasks importable, and the future_celery app loaded?)"
        ) from None
