"""Every change of a job row's status, and only here: each function below is one named
transition (its from-states and to-state in its docstring, and in TRANSITIONS). Each is a
conditional UPDATE, so that two processes racing for the same job cannot both win: whoever
matches the expected status changes it. The dispatcher, the worker, the runner, the admin and
the model call these; none of them writes ``status`` itself (tests/unit/test_transitions.py
checks both)."""

from __future__ import annotations

import datetime as dt
import functools
import sys
import uuid
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from . import conf, retries
from .db import default_connection
from .exceptions import InvalidJobState
from .models import ScheduledJob, column_of, job_from_row
from .pg_direct import execute_hot
from .signals import job_cancelled

Job = ScheduledJob
SCHEDULED, QUEUED, RUNNING = Job.STATUS_SCHEDULED, Job.STATUS_QUEUED, Job.STATUS_RUNNING
COMPLETE, FAILED = Job.STATUS_COMPLETE, Job.STATUS_FAILED
EXPIRED, CANCELLED = Job.STATUS_EXPIRED, Job.STATUS_CANCELLED


class Transition(NamedTuple):
    source: str
    target: str
    by: str  # the function of this module that makes it


# Every status change the code makes. A new one is added here and to the function's docstring.
TRANSITIONS = frozenset(
    {
        Transition(SCHEDULED, QUEUED, "queue_due"),
        Transition(QUEUED, SCHEDULED, "unqueue"),
        Transition(QUEUED, FAILED, "fail_unsent"),
        Transition(SCHEDULED, RUNNING, "start_in_process"),
        Transition(QUEUED, RUNNING, "start_in_process"),
        Transition(QUEUED, RUNNING, "start_delivered"),
        Transition(RUNNING, COMPLETE, "complete"),
        Transition(RUNNING, FAILED, "complete_failed"),
        Transition(RUNNING, SCHEDULED, "fail"),
        Transition(RUNNING, FAILED, "fail"),
        Transition(RUNNING, SCHEDULED, "lose"),
        Transition(RUNNING, FAILED, "lose"),
        Transition(SCHEDULED, EXPIRED, "expire_overdue"),
        Transition(QUEUED, EXPIRED, "expire_overdue"),
        Transition(QUEUED, EXPIRED, "expire_delivered"),
        Transition(SCHEDULED, CANCELLED, "cancel"),
        Transition(QUEUED, CANCELLED, "cancel"),
        Transition(QUEUED, CANCELLED, "cancel_delivered"),
    }
)

# What a dispatched job's message needs, in messages.Row's order (its task id follows).
MESSAGE_FIELDS = (
    "id",
    "callable_name",
    "time_slot_start",
    "time_slot_end",
    "queue",
    "priority",
    "soft_time_limit",
    "time_limit",
)


def cap_text(text: str, keep_end: bool = False) -> str:
    """``text`` within FUTURE_CELERY_MAX_TEXT_LENGTH characters, marked where it was cut."""
    limit = conf.get("MAX_TEXT_LENGTH")
    if len(text) <= limit:
        return text
    marker = "\n[... cut ...]\n"
    return marker + text[-limit:] if keep_end else text[:limit] + marker


def queue_due(now: dt.datetime, horizon: dt.datetime, ids: list[int] | None) -> list[tuple]:
    """scheduled → queued: a batch of the jobs due by ``horizon`` (of ``ids`` when given),
    each under a new task id; their message rows (MESSAGE_FIELDS, then the task id). Rows
    another tick has locked are skipped, so two ticks never queue the same job."""
    token = uuid.uuid4().hex[:12]
    due = Job.objects.due(horizon)
    if ids is not None:
        due = due.filter(pk__in=ids)
    with transaction.atomic():
        rows = list(
            due.select_for_update(skip_locked=True).values_list(*MESSAGE_FIELDS)[
                : conf.get("DISPATCH_BATCH_SIZE")
            ]
        )
        if rows:
            Job.objects.filter(pk__in=[row[0] for row in rows]).update(
                status=QUEUED,
                queued_at=now,
                dispatches=1,
                updated=now,
                task_id=Concat(Value("fc-"), Cast("id", CharField()), Value(f"-{token}")),
            )
    return [(*row, f"fc-{row[0]}-{token}") for row in rows]


def unqueue(task_ids: list[str]) -> int:
    """queued → scheduled: the jobs whose messages (``task_ids``) could not be sent, for the
    next tick. A message that did get out names a task id that is no longer its job's, so
    the worker that gets it does nothing."""
    return Job.objects.filter(status=QUEUED, task_id__in=task_ids).update(
        status=SCHEDULED, task_id="", queued_at=None, dispatches=0, updated=timezone.now()
    )


def fail_unsent(job_id: int, task_id: str, error: str) -> Job | None:
    """queued → failed: the job whose message ``task_id`` could not be built or sent for a
    reason of its own (see messages.send), failed for good with ``error``; sending it again
    would fail the same way. The job as recorded, or None if it was no longer queued under
    that message."""
    now = timezone.now()
    error = cap_text(error, keep_end=True)
    done = Job.objects.filter(pk=job_id, status=QUEUED, task_id=task_id).update(
        status=FAILED, error=error, execution_end=now, updated=now
    )
    return Job.objects.filter(pk=job_id).first() if done else None


def take_for_resend(candidates: QuerySet[Job], now: dt.datetime) -> list[tuple]:
    """queued → queued: a batch of ``candidates`` (queued jobs) whose messages are to be
    sent again, stamped as sent ``now`` once more; their message rows, with their own task
    ids (a copy already out and the new one run the job once). Rows another tick has locked
    are skipped."""
    with transaction.atomic():
        rows = list(
            candidates.select_for_update(skip_locked=True).values_list(*MESSAGE_FIELDS, "task_id")[
                : conf.get("DISPATCH_BATCH_SIZE")
            ]
        )
        if rows:
            Job.objects.filter(pk__in=[row[0] for row in rows], status=QUEUED).update(
                queued_at=now, dispatches=F("dispatches") + 1, updated=now
            )
    return rows


def start_in_process(
    job: Job, worker: str, now: dt.datetime | None = None, pid: int | None = None
) -> bool:
    """scheduled or queued → running, for the in-process runner: ``job`` (attempts + 1) if
    it is still in the status it was read with, as run by ``worker`` in process ``pid``;
    True if this process won it. A worker that gets the job's message later finds it taken.
    The row must also still be due when and as often as it was read (another process may
    have run it and scheduled a retry since). Where the database can (PostgreSQL, MySQL 8,
    MariaDB 10.6), a row another transaction holds locked (a tick queueing it, a caller's
    select_for_update) is skipped, False, instead of waited on: the runner tries it later."""
    if job.status not in (SCHEDULED, QUEUED):
        raise InvalidJobState(f"job #{job.pk} is {job.status}: only a due job can be started")
    now = now or timezone.now()
    as_read = Job.objects.filter(
        pk=job.pk, status=job.status, attempts=job.attempts, time_slot_start=job.time_slot_start
    )
    conn = transaction.get_connection(as_read.db)
    if conn.vendor == "postgresql":
        # One statement, in autocommit: the row is locked by the subquery, skipped if
        # another transaction holds it (a claim in two statements inside a transaction
        # halved process_tasks' throughput: see docs/performance.md).
        with conn.cursor() as cursor:
            cursor.execute(
                _in_process_claim_sql(),
                [
                    *(RUNNING, job.attempts + 1, now, now, worker, pid, now),
                    *(job.pk, job.status, job.attempts, job.time_slot_start),
                ],
            )
            won = cursor.rowcount
    else:
        with transaction.atomic(using=as_read.db):
            if conn.features.has_select_for_update_skip_locked and not list(
                as_read.select_for_update(skip_locked=True).values_list("pk", flat=True)
            ):
                return False  # locked by another transaction, or no longer as read
            won = as_read.update(
                status=RUNNING,
                attempts=job.attempts + 1,
                execution_start=now,
                execution_end=None,
                heartbeat=now,
                worker=worker,
                worker_pid=pid,
                updated=now,
            )
    if won:
        job.status, job.attempts, job.execution_start = RUNNING, job.attempts + 1, now
        job.execution_end, job.heartbeat, job.worker = None, now, worker
        job.worker_pid = pid
    return bool(won)


@functools.cache
def _in_process_claim_sql() -> str:
    """start_in_process's claim on PostgreSQL: the row as it was read, unless another
    transaction holds it locked (FOR UPDATE SKIP LOCKED in the subquery: no wait)."""
    table = connection.ops.quote_name(Job._meta.db_table)
    return (
        f"UPDATE {table} SET status = %s, attempts = %s, execution_start = %s, "
        "execution_end = NULL, heartbeat = %s, worker = %s, worker_pid = %s, updated = %s "
        f"WHERE id = (SELECT id FROM {table} WHERE id = %s AND status = %s AND attempts = %s "
        "AND time_slot_start = %s FOR UPDATE SKIP LOCKED)"
    )


def complete(job: Job, result: Any, delete: bool = False) -> None:
    """running → complete (or the row deleted, with ``delete`` or KEEP_COMPLETED off): the
    attempt succeeded. Called inside the job's transaction, so it commits with its writes.
    If the attempt was taken away meanwhile (declared lost), raise: the writes roll back.
    In autocommit (the job wrote nothing) it skips the WAL flush, as the claim does.
    (One UPDATE of cached SQL, prepared where the connection allows it: it runs once per
    job, where the ORM's compiling shows.)"""
    now = timezone.now()
    if delete or not conf.get("KEEP_COMPLETED"):
        done = Job.objects.filter(pk=job.pk, status=RUNNING, attempts=job.attempts).delete()[0]
    else:
        job.return_value = "" if result is None else cap_text(str(result))
        conn = default_connection()
        stamp = _sql_time(now, conn)
        done, _ = execute_hot(
            _complete_sql(conn.vendor, _unflushed(conn)),
            [
                COMPLETE,
                stamp,
                job.return_value,
                stamp,
                job.pk,
                RUNNING,
                job.attempts,
            ],
        )
    if not done:
        raise InvalidJobState(
            f"job #{job.pk} attempt {job.attempts} is no longer running here (it was declared "
            "lost or cancelled meanwhile); its writes are rolled back"
        )
    job.status, job.execution_end, job.error, job.heartbeat = COMPLETE, now, "", None


def complete_failed(job: Job, text: str) -> None:
    """running → failed: the job returned normally but reported failure (a superdjango
    Result with a failure status): failed for good, without a traceback, ``text`` as its
    error. Called inside the job's transaction; raises as complete() does if the attempt was
    taken away meanwhile."""
    now = timezone.now()
    job.error = cap_text(text, keep_end=True)
    done = Job.objects.filter(pk=job.pk, status=RUNNING, attempts=job.attempts).update(
        status=FAILED, execution_end=now, error=job.error, heartbeat=None, updated=now
    )
    if not done:
        raise InvalidJobState(
            f"job #{job.pk} attempt {job.attempts} is no longer running here (it was declared "
            "lost or cancelled meanwhile); its writes are rolled back"
        )
    job.status, job.execution_end, job.heartbeat = FAILED, now, None


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


def fail(job: Job, error: str, exception: BaseException | None = None) -> bool:
    """running → scheduled or failed: a failed attempt. Back to scheduled after a backoff
    while attempts remain and the retry falls before the expiry, else failed for good. The
    error text is kept. Attempts lost with their worker do not count against max_attempts.
    The one retry decision of every door and runner: ``exception`` (by default the one being
    handled, when called from an ``except`` block) that is a DoNotRetry fails the job at
    once; an @background job stamped to follow FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS reads
    it now (see retries.attempts_allowed). Only a running job is changed; False if it was
    not running any more."""
    now = timezone.now()
    if exception is None:
        exception = sys.exc_info()[1]
    if retries.gives_up(exception):
        error += (
            f"\nNot retried: the job raised {type(exception).__name__}, a "
            "future_celery.exceptions.DoNotRetry."
        )
        return _end_attempt(job, error, now, None)
    retry_at = now + dt.timedelta(seconds=retries.backoff(job.attempts - job.lost, job.backoff))
    retry = job.attempts - job.lost < retries.attempts_allowed(job)
    return _end_attempt(job, error, now, retry_at if retry else None)


def lose(job: Job, error: str) -> bool:
    """running → scheduled or failed: an attempt lost with its worker (killed, out of
    memory, host gone: not the job's own failure). Scheduled again at once, up to
    FUTURE_CELERY_MAX_LOST times, then failed with a clear error. Only a running job is
    changed; False if it was not running."""
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
        job.status, job.time_slot_start = SCHEDULED, retry_at
    else:
        job.status = FAILED
    # The task id and dispatch facts stay: they name this attempt's message in Flower and
    # the worker log (a retry's dispatch records its own).
    return bool(
        Job.objects.filter(pk=job.pk, status=RUNNING).update(
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
    """scheduled or queued → expired: the scheduled jobs whose expiry has passed, and with
    ``queued_too`` the queued ones (for the in-process runner, which would otherwise run
    them); the number marked."""
    now = now or timezone.now()
    expired = Job.objects.overdue(now).update(status=EXPIRED, updated=now)
    if queued_too:
        expired += Job.objects.filter(status=QUEUED, time_slot_end__lte=now).update(
            status=EXPIRED, updated=now
        )
    return expired


def _sql_time(value: dt.datetime, conn: Any) -> object:
    return conn.ops.adapt_datetimefield_value(value)


def start_delivered(job_id: int, task_id: str, worker: str, pid: int | None = None) -> Job | None:
    """queued → running, for the worker that got message ``task_id`` (``worker``: its node
    name; ``pid``: the process running the job), in one round trip: the job, if it is still
    queued under this task id and has not expired. None when another delivery, a later
    dispatch, a cancel or an expiry got there first.

    On PostgreSQL, outside a transaction, the claim commits without waiting for its WAL
    flush (see _unflushed; the statement sets synchronous_commit off for its own transaction,
    so that it can still be prepared). A later commit flushes it too: the job's own, or any
    other on the server."""
    conn = default_connection()
    now = _sql_time(timezone.now(), conn)
    params = [RUNNING, now, now, worker, pid, now, job_id, QUEUED, task_id, now]
    if conn.vendor == "mysql":  # no UPDATE ... RETURNING: the claim, then the row
        won, _ = execute_hot(_claim_sql(conn.vendor), params)
        return Job.objects.filter(pk=job_id).first() if won else None
    _, row = execute_hot(_claim_sql(conn.vendor, _unflushed(conn)), params, returning=True)
    if row is None:
        return None
    return job_from_row(row, conn)


@functools.cache
def _claim_sql(vendor: str, unflushed: bool = False) -> str:
    table = connection.ops.quote_name(Job._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column_of(f)) for f in Job._meta.concrete_fields)
    return (
        f"UPDATE {table} SET status = %s, attempts = attempts + 1, execution_start = %s, "
        f"execution_end = NULL, heartbeat = %s, worker = %s, worker_pid = %s, updated = %s"
        f"{_UNFLUSH if unflushed else ''} "
        f"WHERE id = %s AND {_STATUS_IS} AND task_id = %s "
        "AND (time_slot_end IS NULL OR time_slot_end > %s)"
        + ("" if vendor == "mysql" else f" RETURNING {columns}")
    )


def expire_delivered(job_id: int, task_id: str) -> bool:
    """queued → expired: a job whose message came after its expiry (or was dropped as
    expired)."""
    now = timezone.now()
    return bool(
        Job.objects.filter(
            pk=job_id,
            status=QUEUED,
            task_id=task_id,
            time_slot_end__lte=now,
        ).update(status=EXPIRED, updated=now)
    )


def cancel_delivered(job_id: int, task_id: str) -> bool:
    """queued → cancelled: a job whose message was revoked (e.g. from Flower)."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, status=QUEUED, task_id=task_id).update(
            status=CANCELLED, execution_end=now, updated=now
        )
    )


def fail_delivered(
    job_id: int,
    task_id: str,
    error: str,
    lost: bool = False,
    exception: BaseException | None = None,
) -> Job | None:
    """running → scheduled or failed (see fail and lose): the attempt that message
    ``task_id`` started failed, raising ``exception`` (``lost``: the pool process running it
    died). The job as recorded, or None if that attempt was not running any more."""
    job = Job.objects.filter(pk=job_id, status=RUNNING, task_id=task_id).first()
    if job is None:
        return None
    return job if (lose(job, error) if lost else fail(job, error, exception)) else None


def recover_lost(now: dt.datetime | None = None) -> int:
    """running → scheduled or failed (see lose): running jobs whose heartbeat stopped lost
    their worker. Each runs again (the lost
    attempt does not count against max_attempts), or fails with a clear error once it was
    lost more than FUTURE_CELERY_MAX_LOST times. The number recovered (at most a batch
    per call; the next tick takes the rest)."""
    now = now or timezone.now()
    timeout = conf.get("HEARTBEAT_TIMEOUT")
    lost = Job.objects.filter(
        Q(heartbeat__lt=now - dt.timedelta(seconds=timeout)) | Q(heartbeat__isnull=True),
        status=RUNNING,
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


def cancel(job: Job) -> None:
    """scheduled or queued → cancelled: ``job``, for its owner or the admin. A running or
    finished job raises InvalidJobState. A queued job's message is revoked (job_cancelled),
    so workers drop it; were it not, the worker's start would refuse it anyway."""
    now = timezone.now()
    changed = Job.objects.filter(pk=job.pk, status__in=Job.CANCELLABLE_STATUSES).update(
        status=CANCELLED, execution_end=now, updated=now
    )
    job.refresh_from_db(fields=["status", "execution_end", "updated", "task_id"])
    if not changed:
        raise InvalidJobState(
            f"job #{job.pk} cannot be cancelled: it is {job.status}, and only scheduled "
            "or queued jobs can be"
        )
    job_cancelled.send(sender=Job, job=job)


def edit_scheduled(job: Job, fields: list[str]) -> bool:
    """scheduled → scheduled: write ``fields`` of ``job`` (an edit in the admin) if it is
    still scheduled, and only them (a full save would overwrite what the engine wrote
    meanwhile). False if it is no longer scheduled."""
    values = {name: getattr(job, name) for name in fields}
    return bool(
        Job.objects.filter(pk=job.pk, status=SCHEDULED).update(updated=timezone.now(), **values)
    )


def stamp_heartbeats(job_ids: list[int], now: dt.datetime) -> int:
    """running → running: the heartbeat of each of ``job_ids`` that is still running."""
    return Job.objects.filter(pk__in=job_ids, status=RUNNING).update(heartbeat=now)


def remove_pending(callable_name: str, args: list[Any], kwargs: dict[str, Any]) -> int:
    """scheduled or queued → (deleted): the jobs of ``callable_name`` with these (encoded)
    arguments that no worker has started (django-background-tasks' remove_existing_tasks).
    A queued job's message then finds no row, and does nothing. The number removed."""
    return Job.objects.filter(
        callable_name=callable_name,
        status__in=Job.CANCELLABLE_STATUSES,
        args=args,
        kwargs=kwargs,
    ).delete()[0]
