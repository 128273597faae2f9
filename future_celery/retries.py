"""The retry policy: how long a job that failed waits before its next attempt."""

from __future__ import annotations

import random

from . import conf
from .exceptions import InvalidOption

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
