"""Checking the options a job is scheduled with (queue, priority, attempts, seconds, a saved
model, a choice), the same way for every front door; each bad value raises an error that
names the option."""

from __future__ import annotations

from collections.abc import Collection

from django.db import models

from .exceptions import InvalidOption, WrongOptionType


def saved_model(name: str, value: object) -> None:
    """``value`` must be a saved model instance (a content object, a creator)."""
    if not isinstance(value, models.Model):
        raise WrongOptionType(f"{name} must be a model instance, not {type(value).__name__}")
    if value.pk is None:
        raise InvalidOption(f"{name} must be saved before a job can refer to it")


def queue(value: str | None, default: str | None) -> str:
    """A Celery queue name ("" for Celery's default)."""
    value = default if value is None else value
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WrongOptionType(f"queue must be a string, not {type(value).__name__}")
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
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidOption(f"{name} must be a whole number of at least 1, not {value!r}")
    return value


def seconds(name: str, value: float | None, default: float | None) -> float | None:
    value = default if value is None else value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidOption(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def one_of(name: str, value: object, choices: Collection[str]) -> str:
    if value not in choices:
        raise InvalidOption(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return str(value)
