"""Unique jobs: at most one pending job (scheduled, queued or running) per ``unique_key``.

The database decides, so that callers in any number of processes cannot make two: a partial
unique index on PostgreSQL and SQLite (ScheduledJob's fc_one_pending_job_per_key), a unique
index on a generated column on MySQL and MariaDB (migration 0010). A job with a key is
inserted as any other; when that index refuses it, its IntegrityError (that index's only)
becomes JobAlreadyScheduled, or the pending job that holds the key is returned
(``on_conflict="existing"``). A concurrent caller's INSERT waits for the first one's
transaction, so the refusal comes only once the holder is committed, and readable.

The INSERT runs in a savepoint when the caller's transaction is open, so that a refusal
leaves that transaction usable; jobs without a key never come here."""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import IntegrityError, connections, router, transaction

from . import insertion, options
from .exceptions import JobAlreadyScheduled
from .models import UNIQUE_KEY_CONSTRAINT, ScheduledJob

# Migration 0010's stand-ins on MySQL and MariaDB (no partial indexes there).
MYSQL_COLUMN = "fc_pending_unique_key"
MYSQL_INDEX = "fc_one_pending_job_per_key_my"
# A refusal whose holder has ended before it could be read is tried again, this many times.
_TRIES = 3


def on_conflict(value: object) -> str:
    """The choice of schedule_job() and its kin when the key is taken: 'raise' or 'existing'."""
    return options.one_of("on_conflict", value, options.ON_CONFLICT)


def insert(job: ScheduledJob, conflict: str = "raise") -> ScheduledJob:
    """Save new ``job``, whose ``unique_key`` is set, as insertion.insert() does, and return
    it; or, if a pending job holds its key, raise JobAlreadyScheduled (``conflict`` 'raise')
    or return that job ('existing'), having saved nothing."""
    using = router.db_for_write(ScheduledJob, instance=job)
    conn = connections[using]
    for _ in range(_TRIES):
        savepoint = transaction.atomic(using) if conn.in_atomic_block else contextlib.nullcontext()
        try:
            with savepoint:
                insertion.insert(job)
            return job
        except IntegrityError as exc:
            if not is_key_conflict(exc, conn):
                raise
            job.pk, job._state.adding = None, True
        holder = pending_holder(job.unique_key, using)
        if holder is not None:
            if conflict == "existing":
                return holder
            raise taken(job.unique_key, holder)
    raise taken(job.unique_key, None)


def taken(key: Any, holder: ScheduledJob | None) -> JobAlreadyScheduled:
    """The error for a unique key a pending job holds (``holder``, if it could be read)."""
    if holder is None:
        return JobAlreadyScheduled(
            f"unique_key {key!r} is held by a pending job (which ended before it could be "
            "read); nothing was saved",
            key=key,
        )
    return JobAlreadyScheduled(
        f"unique_key {key!r} is held by pending job #{holder.pk} ({holder.callable_name}, "
        f"{holder.status}, scheduled for {holder.time_slot_start.isoformat()}); nothing was "
        "saved. on_conflict='existing' returns that job instead",
        key=key,
        job_id=holder.pk,
    )


def pending_holder(key: str | None, using: str | None = None) -> ScheduledJob | None:
    """The pending job that holds ``key``, if any (one probe of the unique index)."""
    if key is None:
        return None
    using = using or router.db_for_read(ScheduledJob)
    jobs = ScheduledJob.objects.using(using)
    conn = connections[using]
    if conn.vendor == "mysql":
        # The generated column's index; the table's collation would also match other cases.
        table = conn.ops.quote_name(ScheduledJob._meta.db_table)
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} WHERE {MYSQL_COLUMN} = CAST(%s AS BINARY)", [key]
            )
            row = cursor.fetchone()
        return None if row is None else jobs.filter(pk=row[0]).first()
    return jobs.filter(unique_key=key, status__in=ScheduledJob.PENDING_STATUSES).first()


def held_keys(keys: list[str], using: str) -> dict[str, int]:
    """Of ``keys``, those a pending job holds, with its id."""
    found = ScheduledJob.objects.using(using).filter(
        unique_key__in=keys, status__in=ScheduledJob.PENDING_STATUSES
    )
    keys_set = set(keys)
    # Compared here too: MySQL's collation would match other cases and trailing blanks.
    return {key: pk for key, pk in found.values_list("unique_key", "pk") if key in keys_set}


def is_key_conflict(exc: BaseException, conn: Any) -> bool:
    """Whether ``exc`` is the refusal of the unique-key index (and not of another constraint):
    Django's IntegrityError, or on PostgreSQL psycopg's own (from schedule_jobs()' COPY)."""
    cause = exc.__cause__
    if conn.vendor == "postgresql":
        return any(
            getattr(getattr(error, "diag", None), "constraint_name", None) == UNIQUE_KEY_CONSTRAINT
            for error in (exc, cause)
        )
    if conn.vendor == "mysql":
        # (1062, "Duplicate entry '...' for key '[table.]fc_one_pending_job_per_key_my'")
        args = getattr(cause, "args", exc.args)
        return len(args) == 2 and args[0] == 1062 and str(args[1]).endswith(f"{MYSQL_INDEX}'")
    if conn.vendor == "sqlite":
        # SQLite names the index's columns, and only this index has unique_key.
        column = ScheduledJob._meta.get_field("unique_key").column
        return str(exc) == f"UNIQUE constraint failed: {ScheduledJob._meta.db_table}.{column}"
    return False
