"""Database helpers for long-lived processes (workers, beat): survive a dropped connection."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
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


def default_connection() -> Any:
    """The default database connection of this thread: what django.db.connection stands for.
    Every attribute read through django.db.connection looks the connection up again (a
    thread-local read of a few microseconds), so code that runs once per job takes it once."""
    return connections[DEFAULT_DB_ALIAS]


@contextlib.contextmanager
def hot_cursor() -> Iterator[Any]:
    """A cursor of the default connection for statements run once per job by the worker.

    On PostgreSQL it binds parameters on the server, so psycopg prepares a statement after
    the connection's ``prepare_threshold`` runs (5 by default; OPTIONS {"prepare_threshold":
    None} turns that off, e.g. behind PgBouncer in transaction mode): no client-side quoting
    and no planning per job. Elsewhere it is Django's own cursor. Either way the connection is
    checked and opened as for any query, and errors arrive as Django's database errors. (Its
    statements bypass Django's cursor wrapper, so they are not in connection.queries.)"""
    conn = default_connection()
    if conn.vendor != "postgresql":
        with conn.cursor() as cursor:
            yield cursor
        return
    raw = _server_binding_cursor(conn)
    conn.validate_no_broken_transaction()
    with conn.wrap_database_errors, raw as cursor:
        yield cursor


def binding_cursor(conn: Any) -> Any:
    """Django's cursor of PostgreSQL connection ``conn`` (execute wrappers, query logging,
    error wrapping), around a psycopg cursor that binds the parameters on the server, as
    hot_cursor()'s does: nothing is quoted client-side, and psycopg prepares the statement
    after the connection's ``prepare_threshold`` runs. For statements of user-facing calls,
    which code watching the connection must see."""
    return conn._prepare_cursor(_server_binding_cursor(conn))


def _server_binding_cursor(conn: Any) -> Any:
    """A psycopg cursor (server-side binding) of ``conn``, checked and opened as Django
    opens a connection for any cursor."""
    import psycopg

    conn.close_if_health_check_failed()
    conn.ensure_connection()
    with conn.wrap_database_errors:
        return psycopg.Cursor(conn.connection)


def execute_hot(sql: str, params: Sequence[Any], returning: bool = False) -> tuple[int, Any]:
    """Run one statement on a hot_cursor(): the number of rows it affected, and with
    ``returning`` the first row it returned (or None)."""
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount, cursor.fetchone() if returning else None
