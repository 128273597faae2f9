"""Checking the options a job is scheduled with (queue, priority, attempts, seconds, a saved
model, a choice, a text, a unique key), the same way for every front door; each bad value
raises an error that names the option and the limit, before anything is written.

The limits are what the columns hold on every database we run on, and what a worker can
honour: a value past them would otherwise fail in the database (PostgreSQL's "integer out of
range", a NUL character in text) or never be enforced."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from .exceptions import InvalidOption, WrongOptionType

# PostgreSQL's integer (PositiveIntegerField): the smallest of the integer columns' ranges.
MAX_INT = 2**31 - 1
# The longest a Python timer can wait (threading.TIMEOUT_MAX on Linux and macOS, about 292
# years): the worker's time limits run on such timers (billiard's pool caps its waits at it),
# so a longer limit is never enforced. A constant, not the platform's value: the table's check
# constraint (migration 0008) holds it too.
MAX_SECONDS = 9_223_372_036.0
# The job's queue column (a CharField); AMQP takes queue names of up to 255 bytes.
QUEUE_MAX_LENGTH = 200
QUEUE_MAX_BYTES = 255
# The job's unique_key column (a CharField).
UNIQUE_KEY_MAX_LENGTH = 255
# What schedule_job() does when a pending job holds the unique key: raise JobAlreadyScheduled,
# or return that job.
ON_CONFLICT = ("raise", "existing")
# Queues Celery keeps for itself: its workers' control boxes and event queues.
_CELERYS_OWN_QUEUE = re.compile(r"\.pidbox$|^celeryev\.|^celery@")
# Control characters: PostgreSQL refuses NUL in text, and no broker's queue name holds any.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def saved_model(name: str, value: object) -> None:
    """``value`` must be a saved model instance (a content object, a creator)."""
    if not isinstance(value, models.Model):
        raise WrongOptionType(f"{name} must be a model instance, not {type(value).__name__}")
    if value.pk is None:
        raise InvalidOption(f"{name} must be saved before a job can refer to it")


def queue(value: str | None, default: str | None) -> str:
    """A Celery queue name ("" or None: Celery's default queue, task_default_queue)."""
    value = default if value is None else value
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WrongOptionType(f"queue must be a string, not {type(value).__name__}")
    if len(value) > QUEUE_MAX_LENGTH or len(value.encode()) > QUEUE_MAX_BYTES:
        raise InvalidOption(
            f"queue must be at most {QUEUE_MAX_LENGTH} characters and {QUEUE_MAX_BYTES} bytes "
            f"in UTF-8, not {len(value)} characters, {len(value.encode())} bytes "
            f"({value[:40]!r}...)"
        )
    if _CONTROL.search(value):
        raise InvalidOption(f"queue must not contain control characters, not {value!r}")
    if _CELERYS_OWN_QUEUE.search(value):
        raise InvalidOption(
            f"queue {value!r} is one Celery keeps for itself (a worker's control box or an "
            "event queue): choose another name"
        )
    return value


def text(name: str, value: object, max_length: int | None = None) -> str:
    """A string for a text column: at most ``max_length`` characters, no NUL character."""
    if not isinstance(value, str):
        raise WrongOptionType(f"{name} must be a string, not {type(value).__name__}")
    if max_length is not None and len(value) > max_length:
        raise InvalidOption(
            f"{name} must be at most {max_length} characters, not {len(value)} ({value[:40]!r}...)"
        )
    if "\x00" in value:
        raise InvalidOption(f"{name} must not contain a NUL character (\\x00)")
    return value


def unique_key(value: object) -> str | None:
    """A job's unique key (None: no key): a string of 1 to UNIQUE_KEY_MAX_LENGTH characters,
    not only blanks, without control characters (keys are compared byte for byte, so an
    invisible character would make two keys that look the same differ)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise WrongOptionType(f"unique_key must be a string or None, not {type(value).__name__}")
    if not value.strip():
        raise InvalidOption(f"unique_key must not be empty or only blanks, not {value!r}")
    if len(value) > UNIQUE_KEY_MAX_LENGTH:
        raise InvalidOption(
            f"unique_key must be at most {UNIQUE_KEY_MAX_LENGTH} characters, not {len(value)} "
            f"({value[:40]!r}...)"
        )
    if _CONTROL.search(value):
        raise InvalidOption(f"unique_key must not contain control characters, not {value!r}")
    return value


def priority(value: int | None, default: int | None) -> int | None:
    """A Celery priority, 0 to 255 (None: the broker's default)."""
    value = default if value is None else value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise InvalidOption(f"priority must be a whole number from 0 to 255, not {value!r}")
    return value


def positive_int(name: str, value: int | None, default: int) -> int:
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT:
        raise InvalidOption(f"{name} must be a whole number from 1 to {MAX_INT:,}, not {value!r}")
    return value


def seconds(name: str, value: float | None, default: float | None) -> float | None:
    """A positive, finite number of seconds, at most MAX_SECONDS (None: no limit)."""
    value = default if value is None else value
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_SECONDS  # NaN fails both comparisons
    ):
        raise InvalidOption(
            f"{name} must be a number of seconds above 0 and at most {MAX_SECONDS:.0f} (the "
            f"longest a worker's timer can wait), not {value!r}"
        )
    return float(value)


def one_of(name: str, value: object, choices: Collection[str]) -> str:
    if value not in choices:
        raise InvalidOption(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


# The same checks as model field validators, so that every form (the admin's) runs them too.


def _as_validation_error(check: Callable[[], object]) -> None:
    try:
        check()
    except (InvalidOption, WrongOptionType) as exc:
        raise ValidationError(str(exc)) from None


def validate_queue(value: Any) -> None:
    _as_validation_error(lambda: queue(value, None))


def validate_priority(value: Any) -> None:
    _as_validation_error(lambda: priority(value, None))


def validate_unique_key(value: Any) -> None:
    _as_validation_error(lambda: unique_key(value))


def validate_max_attempts(value: Any) -> None:
    _as_validation_error(lambda: positive_int("max_attempts", value, 1))


def validate_seconds(value: Any) -> None:
    """A time limit or an expiry in seconds (None is left to the field's null)."""
    _as_validation_error(lambda: seconds("the number of seconds", value, None))
