"""Database helpers for long-lived processes (workers, beat): survive a dropped connection."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)
T = TypeVar("T")

DISCONNECT_ERRORS = (OperationalError, InterfaceError)


def reconnecting(func: Callable[..., T], attempts: int = 5, delay: float = 0.5) -> Callable[..., T]:
    """Run ``func``; when the connection was closed or the server restarted, drop the
    connection and try again (with a growing pause), so a write-back never kills a worker.
    (No health check up front: that would cost a round trip on every call.)"""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, attempts + 1):
            try:
                return func(*args, **kwargs)
            except DISCONNECT_ERRORS as exc:
                if connection.in_atomic_block or attempt == attempts:
                    raise
                logger.warning("Database connection lost (%s); reconnecting, try %s", exc, attempt)
                connection.close()
                time.sleep(delay * attempt)
        raise AssertionError("unreachable")

    return wrapper

