"""What a superdjango scheduler callback returns: a Result with a STATUS, a message and an
output. future_celery stores its text on the occurrence's row (``return_value``, or ``error``
for a failure) through the ``__job_outcome__`` protocol of future_celery.execution."""

from __future__ import annotations

import dataclasses
import enum

from ..exceptions import WrongOptionType


class STATUS(enum.StrEnum):
    """The outcome a callback reports. FAILURE and ERROR mark the occurrence failed."""

    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"
    ERROR = "error"

    @property
    def failed(self) -> bool:
        """Whether this status marks the occurrence failed."""
        return self in FAILED


FAILED = frozenset({STATUS.FAILURE, STATUS.ERROR})


@dataclasses.dataclass(frozen=True)
class Result:
    """The result of one run of a callback: ``message`` for users, ``output`` for
    administrators and developers. ``status`` is a STATUS (or its name or value as text)."""

    status: STATUS
    message: str | None = None
    output: str | None = None

    def __post_init__(self) -> None:
        # A frozen dataclass converts its field this way (the status as a STATUS).
        object.__setattr__(self, "status", _status(self.status))

    @property
    def failed(self) -> bool:
        """Whether the run failed (its status is FAILURE or ERROR)."""
        return self.status.failed

    def __str__(self) -> str:
        """'SUCCESS: message', then the output after a blank line: the text stored on the row."""
        text = self.status.name
        if self.message:
            text += f": {self.message}"
        if self.output:
            text += f"\n\n{self.output}"
        return text

    def __job_outcome__(self) -> tuple[bool, str]:
        """(failed, text) for future_celery.execution: a failure is stored without a traceback."""
        return self.failed, str(self)


def _status(value: object) -> STATUS:
    """``value`` as a STATUS: a STATUS, or its value ('success') or name ('SUCCESS')."""
    if isinstance(value, STATUS):
        return value
    if isinstance(value, str):
        for status in STATUS:
            if value in (status.value, status.name):
                return status
    names = ", ".join(f"STATUS.{status.name}" for status in STATUS)
    raise WrongOptionType(f"a Result's status must be one of {names}, not {value!r}")
