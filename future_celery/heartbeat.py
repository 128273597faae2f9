"""Heartbeats of running jobs: proof that the worker running a job is alive.

One daemon thread per process, on its own database connection, stamps ``heartbeat = now``
on every job this process is running, each FUTURE_CELERY_HEARTBEAT_INTERVAL seconds. When
the process dies (SIGKILL, out of memory, host gone) the stamps stop, and the tick takes the
job back once its heartbeat is older than FUTURE_CELERY_HEARTBEAT_TIMEOUT."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

from django.db import DatabaseError, connection
from django.utils import timezone

from . import conf, lifecycle

logger = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self) -> None:
        self._jobs: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @contextlib.contextmanager
    def beating(self, job_id: int) -> Iterator[None]:
        """Keep job ``job_id``'s heartbeat fresh for the duration of the block."""
        self._ensure_thread()
        with self._lock:
            self._jobs.add(job_id)
        try:
            yield
        finally:
            with self._lock:
                self._jobs.discard(job_id)

    def _ensure_thread(self) -> None:
        # A forked pool child inherits the object but not the thread: start one per process.
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._jobs = set()
            self._thread = threading.Thread(
                target=self._run, name="future_celery-heartbeat", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._wake.wait(conf.get("HEARTBEAT_INTERVAL")):
            with self._lock:
                jobs = list(self._jobs)
            if not jobs:
                # Idle: hold no database connection (this thread's own, opened by the last
                # stamp). A connection left open kept a session on the database after the
                # jobs ended: in a test run, it made dropping the test database fail.
                connection.close()
                continue
            try:
                lifecycle.stamp_heartbeats(jobs, timezone.now())
            except DatabaseError:
                logger.warning("Heartbeat of jobs %s failed; retrying", jobs, exc_info=True)
                connection.close()  # this thread's connection; reconnects next time


heartbeat = Heartbeat()
