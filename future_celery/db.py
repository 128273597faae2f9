"""Database helpers for long-lived processes (workers, beat): survive a dropped connection,
and take the default connection once per job. The statements sent past Django's cursor are
in future_celery.pg_direct."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections

logger = logging.getLogger(__name__)
T = TypeVar("T")

DISCONNECT_ERRORS = (OperationalError, InterfaceError)


def reconnecting(func: Callable[..., T], attempts: int = 5, delay: float = 0.5) -> Callable[..., T]:
    """Run ``func``; when the connection was closed or the server restarted, drop the
    connection and try again (with a growing pause), so a write-back never kills a worker.
    (No health check up front: that would cost a round trip on every call.)"""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        for attempt in range(1, attempts):
            try:
                return func(*args, **kwargs)
            except DISCONNECT_ERRORS as exc:
                if connection.in_atomic_block:
                    raise
                logger.warning("Database connection lost (%s); reconnecting, try %s", exc, attempt)
                connection.close()
                time.sleep(delay * attempt)
        return func(*args, **kwargs)  # the last try: its error propagates

    return wrapper


def default_connection() -> Any:
    """The default database connection of this thread: what django.db.connection stands for.
    Every attribute read through django.db.connection looks the connection up again (a
    thread-local read), so code that runs once per job takes it once."""
    return connections[DEFAULT_DB_ALIAS]
