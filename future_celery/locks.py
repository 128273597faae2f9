"""Process-held locks: they die with their process, so a crash never leaves one behind.

- The runner lock keeps two in-process runners (runscheduledjobs) from running at once: on
  PostgreSQL a session-level advisory lock (shared by every host using the database),
  elsewhere an flock on a file in the temporary directory (one host).
- On SQLite, which lets one writer in at a time, a second celery beat or a second worker on
  the same database file is refused at start-up with a clear error."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO

from django.db import connections

from .exceptions import RunnerAlreadyActive, SQLiteRoleTaken

# pg_try_advisory_lock takes a bigint; this one is "future_celery runner".
_ADVISORY_KEY = int.from_bytes(
    hashlib.sha256(b"future_celery runner").digest()[:8], "big", signed=True
)
_BUSY = (
    "another runscheduledjobs runner is active on this database; it releases its lock "
    "when it finishes or dies"
)
# Locks held for the life of this process (a beat or worker on SQLite).
_held: dict[str, IO[str]] = {}


def _lock_path(using: str, role: str) -> str:
    name = str(connections[using].settings_dict["NAME"])
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"future_celery-{role}-{digest}.lock")


def _try_flock(path: str) -> IO[str] | None:
    handle = open(path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextlib.contextmanager
def runner_lock(using: str = "default") -> Iterator[None]:
    """Hold the runner lock for the block; RunnerAlreadyActive if another runner has it."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_ADVISORY_KEY])
            if not cursor.fetchone()[0]:
                raise RunnerAlreadyActive(_BUSY)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_KEY])
        return
    handle = _try_flock(_lock_path(using, "runner"))
    if handle is None:
        raise RunnerAlreadyActive(_BUSY)
    with handle:
        yield


def claim_sqlite_role(role: str, using: str = "default") -> None:
    """On SQLite, make this process the only ``role`` ('beat' or 'worker') on the database
    file; raise SQLiteRoleTaken if another process already is. Does nothing on other databases."""
    if connections[using].vendor != "sqlite" or role in _held:
        return
    handle = _try_flock(_lock_path(using, role))
    if handle is None:
        raise SQLiteRoleTaken(
            f"future_celery: another celery {role} already runs on the SQLite database "
            f"{connections[using].settings_dict['NAME']}. SQLite lets one process write at a "
            f"time, so future_celery allows one {role} on it; use PostgreSQL to run several."
        )
    _held[role] = handle
