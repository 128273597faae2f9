"""The state changes of a job row. Each is one conditional UPDATE, so that two processes
racing for the same job cannot both win: whoever matches the expected status changes it."""

from __future__ import annotations

import datetime as dt
import functools
import random
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from . import conf
from .db import default_connection, execute_hot
from .exceptions import InvalidJobState
from .models import ScheduledJob, job_from_fields

Job = ScheduledJob


def cap_text(text: str, keep_end: bool = False) -> str:
    """``text`` within FUTURE_CELERY_MAX_TEXT_LENGTH characters, marked where it was cut."""
    limit = conf.get("MAX_TEXT_LENGTH")
    if len(text) <= limit:
        return text
    marker = "\n[... cut ...]\n"
    return marker + text[-limit:] if keep_end else text[:limit] + marker


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1-based): exponential, capped, jittered."""
    ceiling = min(conf.get("RETRY_BACKOFF_MAX"), conf.get("RETRY_BACKOFF") * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def claim(job: Job, from_status: str, worker: str = "", now: dt.datetime | None = None) -> bool:
    """Mark ``job`` running (attempts + 1) if it is still in ``from_status``; True if we won."""
    now = now or timezone.now()
    won = Job.objects.filter(pk=job.pk, status=from_status).update(
        status=Job.STATUS_RUNNING,
        attempts=job.attempts + 1,
        execution_start=now,
        execution_end=None,
        heartbeat=now,
        worker=worker,
        updated=now,
    )
    if won:
        job.status, job.attempts, job.execution_start = Job.STATUS_RUNNING, job.attempts + 1, now
        job.execution_end, job.heartbeat, job.worker = None, now, worker
    return bool(won)


def complete(job: Job, result: Any, delete: bool = False) -> None:
    """Record success. Called inside the job's transaction, so it commits with its writes.
    If the attempt was taken away meanwhile (declared lost), raise: the writes roll back.
    In autocommit (the job wrote nothing) it skips the WAL flush, as the claim does.
    (One UPDATE of cached SQL, prepared where the connection allows it: it runs once per
    job, where the ORM's compiling shows.)"""
    now = timezone.now()
    if delete or not conf.get("KEEP_COMPLETED"):
        done = Job.objects.filter(
            pk=job.pk, status=Job.STATUS_RUNNING, attempts=job.attempts
        ).delete()[0]
    else:
        job.return_value = "" if result is None else cap_text(str(result))
        conn = default_connection()
        stamp = _sql_time(now, conn)
        done, _ = execute_hot(
            _complete_sql(conn.vendor, _unflushed(conn)),
            [
                Job.STATUS_COMPLETE,
                stamp,
                job.return_value,
                stamp,
                job.pk,
                Job.STATUS_RUNNING,
                job.attempts,
            ],
        )
    if not done:
        raise InvalidJobState(
            f"job #{job.pk} attempt {job.attempts} is no longer running here (it was declared "
            "lost or cancelled meanwhile); its writes are rolled back"
        )
    job.status, job.execution_end, job.error, job.heartbeat = Job.STATUS_COMPLETE, now, "", None


# "(status = %s) IS TRUE" is the same test as "status = %s", but no index can serve it, so
# the planner finds the row by its primary key. Given a bare status = 'running', it may pick
# the partial index of running jobs instead and walk all its entries, dead ones included, on
# every completion: in a burst, thousands per job.
_STATUS_IS = "(status = %s) IS TRUE"


# A one-row FROM item that turns the WAL flush off for the transaction of the statement that
# names it (and for no other: the session keeps its setting). See _unflushed().
_UNFLUSH = " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS fc_unflushed"


def _unflushed(conn: Any = None) -> bool:
    """Whether the worker's next claim or completion may commit without waiting for its WAL
    flush: on PostgreSQL, in autocommit (a statement that commits nothing but our own
    bookkeeping), unless FUTURE_CELERY_SYNCHRONOUS_COMMIT asks for the wait. PostgreSQL
    flushes such commits within a fraction of a second (wal_writer_delay); a server crash
    before then forgets them, and the job is then recovered as if it had still been queued
    or running at the crash."""
    conn = conn or default_connection()
    return (
        conn.vendor == "postgresql"
        and not conn.in_atomic_block
        and not conf.get("SYNCHRONOUS_COMMIT")
    )


@functools.cache
def _complete_sql(vendor: str, unflushed: bool = False) -> str:
    table = connection.ops.quote_name(Job._meta.db_table)
    return (
        f"UPDATE {table} SET status = %s, execution_end = %s, return_value = %s, "
        f"error = '', heartbeat = NULL, updated = %s{_UNFLUSH if unflushed else ''} "
        f"WHERE id = %s AND {_STATUS_IS} AND attempts = %s"
    )


def fail(job: Job, error: str) -> bool:
    """Record a failed attempt: back to scheduled after a backoff while attempts remain and
    the retry falls before the expiry, else failed for good. The error text is kept.
    Attempts lost with their worker do not count against max_attempts.
    Only a running job is changed; False if it was not running any more."""
    now = timezone.now()
    retry_at = now + dt.timedelta(seconds=backoff(job.attempts - job.lost))
    retry = job.attempts - job.lost < job.max_attempts
    return _end_attempt(job, error, now, retry_at if retry else None)


def lose(job: Job, error: str) -> bool:
    """Record an attempt lost with its worker (killed, out of memory, host gone: not the
    job's own failure): scheduled again at once, up to FUTURE_CELERY_MAX_LOST times, then
    failed with a clear error. Only a running job is changed; False if it was not running."""
    now = timezone.now()
    job.lost += 1
    limit = conf.get("MAX_LOST")
    if job.lost > limit:
        times = "once" if job.lost == 1 else f"{job.lost} times"
        error += (
            f"\nThis job's attempts were lost with their worker {times} "
            f"(FUTURE_CELERY_MAX_LOST = {limit}), so it is failed: does the job itself "
            "kill its worker, for instance by running out of memory?"
        )
        return _end_attempt(job, error, now, None)
    return _end_attempt(
        job, f"{error}\nRetried (lost {job.lost} of {limit} times allowed).", now, now
    )


def _end_attempt(job: Job, error: str, now: dt.datetime, retry_at: dt.datetime | None) -> bool:
    """End the running attempt: scheduled again at ``retry_at`` (if given and before the
    expiry), else failed. Only a running job is changed; False if it was not running."""
    job.error = cap_text(error, keep_end=True)
    job.execution_end, job.heartbeat = now, None
    if retry_at is not None and (job.time_slot_end is None or retry_at < job.time_slot_end):
        job.status, job.time_slot_start = Job.STATUS_SCHEDULED, retry_at
    else:
        job.status = Job.STATUS_FAILED
    # The task id and dispatch facts stay: they name this attempt's message in Flower and
    # the worker log (a retry's dispatch records its own).
    return bool(
        Job.objects.filter(pk=job.pk, status=Job.STATUS_RUNNING).update(
            status=job.status,
            time_slot_start=job.time_slot_start,
            error=job.error,
            execution_end=now,
            heartbeat=None,
            lost=job.lost,
            updated=now,
        )
    )


def expire_overdue(now: dt.datetime | None = None, queued_too: bool = False) -> int:
    """Mark scheduled jobs whose expiry has passed as expired (with ``queued_too``, queued
    ones too: the in-process runner, which would otherwise run them); the number marked."""
    now = now or timezone.now()
    expired = Job.objects.overdue(now).update(status=Job.STATUS_EXPIRED, updated=now)
    if queued_too:
        expired += Job.objects.filter(status=Job.STATUS_QUEUED, time_slot_end__lte=now).update(
            status=Job.STATUS_EXPIRED, updated=now
        )
    return expired


def _sql_time(value: dt.datetime, conn: Any) -> object:
    return conn.ops.adapt_datetimefield_value(value)


_ATTNAMES = [f.attname for f in Job._meta.concrete_fields]  # the order of a claimed row


def claim_delivered(job_id: int, task_id: str, worker: str) -> Job | None:
    """The worker's claim, in one round trip: mark the job running if it is still queued
    under this message's task id and has not expired. None when another delivery, a later
    dispatch, a cancel or an expiry got there first.

    On PostgreSQL, outside a transaction, the claim commits without waiting for its WAL
    flush (see _unflushed; the statement sets synchronous_commit off for its own transaction,
    so that it can still be prepared). A later commit flushes it too: the job's own, or any
    other on the server."""
    conn = default_connection()
    now = _sql_time(timezone.now(), conn)
    params = [Job.STATUS_RUNNING, now, now, worker, now, job_id, Job.STATUS_QUEUED, task_id, now]
    _, row = execute_hot(_claim_sql(conn.vendor, _unflushed(conn)), params, returning=True)
    if row is None:
        return None
    values = list(row)
    for index, converters, col in _converters(conn.vendor):
        for converter in converters:
            values[index] = converter(values[index], col, conn)
    return job_from_fields(dict(zip(_ATTNAMES, values, strict=True)), db=conn.alias)


@functools.cache
def _claim_sql(vendor: str, unflushed: bool = False) -> str:
    table = connection.ops.quote_name(Job._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in Job._meta.concrete_fields)
    return (
        f"UPDATE {table} SET status = %s, attempts = attempts + 1, execution_start = %s, "
        f"execution_end = NULL, heartbeat = %s, worker = %s, updated = %s"
        f"{_UNFLUSH if unflushed else ''} "
        f"WHERE id = %s AND {_STATUS_IS} AND task_id = %s "
        "AND (time_slot_end IS NULL OR time_slot_end > %s) "
        f"RETURNING {columns}"
    )


@functools.cache
def _converters(vendor: str) -> list[tuple[int, list, Any]]:
    """Per column of a claimed row, the converters a queryset would apply (JSON, dates...)."""
    out = []
    for index, field in enumerate(Job._meta.concrete_fields):
        col = field.get_col(Job._meta.db_table)
        converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if converters:
            out.append((index, converters, col))
    return out


def expire_delivered(job_id: int, task_id: str) -> bool:
    """Mark a job expired whose message came after its expiry (or was dropped as expired)."""
    now = timezone.now()
    return bool(
        Job.objects.filter(
            pk=job_id,
            status=Job.STATUS_QUEUED,
            task_id=task_id,
            time_slot_end__lte=now,
        ).update(status=Job.STATUS_EXPIRED, updated=now)
    )


def cancel_delivered(job_id: int, task_id: str) -> bool:
    """Mark a queued job cancelled whose message was revoked (e.g. from Flower)."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, status=Job.STATUS_QUEUED, task_id=task_id).update(
            status=Job.STATUS_CANCELLED, execution_end=now, updated=now
        )
    )


def fail_delivered(job_id: int, task_id: str, error: str, lost: bool = False) -> bool:
    """Record the failure of the attempt that message ``task_id`` started (``lost``: the
    pool process running it died, see lose)."""
    job = Job.objects.filter(pk=job_id, status=Job.STATUS_RUNNING, task_id=task_id).first()
    return job is not None and (lose if lost else fail)(job, error)


def recover_lost(now: dt.datetime | None = None) -> int:
    """Running jobs whose heartbeat stopped lost their worker: each runs again (the lost
    attempt does not count against max_attempts), or fails with a clear error once it was
    lost more than FUTURE_CELERY_MAX_LOST times. The number recovered (at most a batch
    per call; the next tick takes the rest)."""
    now = now or timezone.now()
    timeout = conf.get("HEARTBEAT_TIMEOUT")
    lost = Job.objects.filter(
        Q(heartbeat__lt=now - dt.timedelta(seconds=timeout)) | Q(heartbeat__isnull=True),
        status=Job.STATUS_RUNNING,
    ).order_by("heartbeat")
    recovered = 0
    for job in list(lost[: conf.get("DISPATCH_BATCH_SIZE")]):  # no server-side cursor
        recovered += lose(
            job,
            (
                f"Worker lost: {job.worker or 'the worker'} stopped sending heartbeats for this job "
                f"(last {job.heartbeat.isoformat() if job.heartbeat else 'never'}, timeout "
                f"{timeout:g}s); it was killed, ran out of memory or lost its host."
            ),
        )
    return recovered
