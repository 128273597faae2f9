"""Liveness of Celery workers: each worker's main process announces itself in the Worker
table, and the tick finds the workers that died without stopping.

A worker holds the eta messages of the jobs due within the look-ahead until they fall due.
If it is killed (SIGKILL, out of memory, host gone), RabbitMQ gives its unacknowledged
messages back at once, but Redis only after ``visibility_timeout`` (an hour, say): without
this, those jobs would wait for FUTURE_CELERY_REQUEUE_AFTER. Here a thread of the worker's
main process stamps its row every FUTURE_CELERY_HEARTBEAT_INTERVAL seconds (one UPDATE per
interval, nothing per message), and the tick sends again, under the same task ids, the
messages of the queued jobs that the dead worker may have held: the first copy to reach a
worker runs the job, the other finds it taken. Running jobs have heartbeats of their own
(see heartbeat)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import threading

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from . import conf
from .models import Worker

logger = logging.getLogger(__name__)

# Rows of lost workers are kept this long, for the admin.
KEEP_LOST = dt.timedelta(days=1)


class Announcer:
    """The heartbeat of this worker's main process."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._row_id: int | None = None

    def start(self, name: str) -> None:
        """Insert this worker's row and keep it fresh from a daemon thread."""
        if self._thread is not None:
            return
        now = timezone.now()
        self._row_id = Worker.objects.create(
            name=name, pid=os.getpid(), started=now, last_seen=now
        ).pk
        connection.close()  # the thread uses its own; this one would sit idle
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="future_celery-worker-heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Delete this worker's row: it stopped cleanly and gave its messages back."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(5)
        self._thread = None
        assert self._row_id is not None  # start() set it before it started the thread
        try:
            Worker.objects.filter(pk=self._row_id).delete()
        except DatabaseError:  # the tick will find it lost: a few messages sent twice
            logger.warning("Could not remove worker row #%s", self._row_id, exc_info=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(conf.get("HEARTBEAT_INTERVAL")):
                assert self._row_id is not None  # start() set it before it started this thread
                try:
                    Worker.objects.filter(pk=self._row_id).update(last_seen=timezone.now())
                except DatabaseError:
                    logger.warning("Worker heartbeat failed; retrying", exc_info=True)
                    connection.close()  # this thread's connection; reconnects next time
        finally:
            connection.close()


announcer = Announcer()


@dataclasses.dataclass(frozen=True)
class LostWorker:
    name: str
    pid: int
    last_seen: dt.datetime


def find_lost(now: dt.datetime) -> list[LostWorker]:
    """The workers whose heartbeat stopped more than HEARTBEAT_TIMEOUT ago, each returned
    once: their rows are marked lost (rows another tick is marking are skipped)."""
    cutoff = now - dt.timedelta(seconds=conf.get("HEARTBEAT_TIMEOUT"))
    with transaction.atomic():
        rows = list(
            Worker.objects.filter(lost_at__isnull=True, last_seen__lt=cutoff).select_for_update(
                skip_locked=True
            )
        )
        if not rows:
            return []
        Worker.objects.filter(pk__in=[row.pk for row in rows]).update(lost_at=now)
        Worker.objects.filter(lost_at__lt=now - KEEP_LOST).delete()
    for row in rows:
        logger.warning(
            "Worker %s (pid %s) is lost: no heartbeat since %s",
            row.name,
            row.pid,
            row.last_seen.isoformat(),
        )
    return [LostWorker(row.name, row.pid, row.last_seen) for row in rows]
