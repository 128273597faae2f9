"""The retry policy: whether a job that failed gets another attempt, and how long it waits
before it."""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

from . import conf, options
from .exceptions import DoNotRetry, InvalidOption

if TYPE_CHECKING:
    from .models import ScheduledJob

logger = logging.getLogger(__name__)

# The max_attempts an @background job is stamped with when it was given none: "as many as
# FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS says when it fails", as django-background-tasks read
# its MAX_ATTEMPTS at each failure (a lowered setting fails the waiting tasks at their next
# failure). A value of the column itself (no migration), and the largest it holds: no job
# is given that many attempts on purpose, and any other value is the job's own.
FOLLOW_BACKGROUND_SETTING = options.MAX_INT

BACKOFFS = ("exponential", "polynomial")
# Past these attempts the delays stop growing, so that a job allowed millions of attempts
# never overflows a float or a timedelta: 2 ** 62 times RETRY_BACKOFF (capped by
# RETRY_BACKOFF_MAX long before), and 3,000 ** 4 seconds (some 2.5 million years).
_EXPONENT_MAX = 62
_POLYNOMIAL_ATTEMPT_MAX = 3000


def backoff(attempt: int, policy: str = "exponential") -> float:
    """Seconds before retry number ``attempt`` (1-based). "exponential": doubling from
    FUTURE_CELERY_RETRY_BACKOFF up to RETRY_BACKOFF_MAX, jittered (so that jobs that failed
    together do not retry together). "polynomial": django-background-tasks' attempts ** 4 + 5
    seconds (6, 21, 86, 261... about four days after 25)."""
    if policy == "polynomial":
        return float(min(attempt, _POLYNOMIAL_ATTEMPT_MAX) ** 4 + 5)
    doublings = min(attempt - 1, _EXPONENT_MAX)
    ceiling = min(conf.get("RETRY_BACKOFF_MAX"), conf.get("RETRY_BACKOFF") * 2**doublings)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def check_backoff(policy: object, where: str) -> str:
    """``policy`` if it is a backoff this module knows; InvalidOption naming ``where``."""
    if policy not in BACKOFFS:
        raise InvalidOption(f"{where} must be one of {', '.join(BACKOFFS)}, not {policy!r}")
    return str(policy)


def attempts_allowed(job: ScheduledJob) -> int:
    """The attempts ``job`` may use: its max_attempts, or for an @background job stamped
    FOLLOW_BACKGROUND_SETTING, FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS as it is now."""
    if job.max_attempts != FOLLOW_BACKGROUND_SETTING:
        return job.max_attempts
    return background_max_attempts(failing=True)


def background_max_attempts(failing: bool = False) -> int:
    """FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS, checked. A bad value raises InvalidOption when
    a job is scheduled; when a job is ``failing`` it is logged and the default used instead
    (the failure must still be recorded)."""
    value = conf.get("BACKGROUND_MAX_ATTEMPTS")
    try:
        if value is None:  # positive_int would read None as "its default"
            raise InvalidOption("FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS must be a number, not None")
        return options.positive_int("FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS", value, 1)
    except InvalidOption:
        if not failing:
            raise
        default: int = conf.DEFAULTS["BACKGROUND_MAX_ATTEMPTS"]
        logger.error(
            "FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = %r is not a whole number from 1 up; "
            "a failed @background job is retried as if it were %s",
            value,
            default,
        )
        return default


def gives_up(exception: BaseException | None) -> bool:
    """Whether a job that raised ``exception`` is failed at once, without a retry: a
    DoNotRetry, such as django-background-tasks' InvalidTaskError."""
    return isinstance(exception, DoNotRetry)
