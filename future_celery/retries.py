"""The retry policy: how long a job that failed waits before its next attempt."""

from __future__ import annotations

import random

from . import conf


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1-based): exponential, capped, jittered."""
    ceiling = min(conf.get("RETRY_BACKOFF_MAX"), conf.get("RETRY_BACKOFF") * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)
