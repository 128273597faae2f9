"""Moving django-background-tasks' waiting jobs into ScheduledJob rows (manage.py
import_background_tasks).

The rows of its ``background_task`` table that wait to run become jobs built as a call of
their @background function builds one (scheduling.prepare_background), and are deleted from
that table in the same transaction: a second import finds nothing left to move. The table
is read with plain SQL, so django-background-tasks need not be installed any more. Running
and failed rows stay where they are, and so does a row that cannot be imported (its
function does not resolve, its values are out of range): the report says why."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import background_decorator, callables, scheduling
from .exceptions import (
    BackgroundTaskTableMissing,
    FutureCeleryError,
    MalformedJob,
)
from .models import ScheduledJob

TABLE = "background_task"
# The columns read, in django-background-tasks' names (its models.Task, 1.2.8).
COLUMNS = (
    "id",
    "task_name",
    "task_params",
    "run_at",
    "priority",
    "attempts",
    "queue",
    "verbose_name",
    "creator_content_type_id",
    "creator_object_id",
    "repeat",
    "repeat_until",
)
# Read only to tell waiting rows from running and failed ones.
STATE_COLUMNS = ("failed_at", "locked_by", "locked_at")
# Rows deleted per statement (well under SQLite's limit of bound variables).
DELETE_BATCH = 500


@dataclasses.dataclass(frozen=True)
class Imported:
    """A row moved (or, in a dry run, that would be): the seed's id and the new job (not
    saved in a dry run)."""

    task_id: int
    task_name: str
    job: ScheduledJob


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A waiting row left in background_task, and why."""

    task_id: int
    task_name: str
    reason: str


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What import_background_tasks() did (or, with dry_run, would do). ``running`` and
    ``failed`` count the rows it leaves alone as django-background-tasks left them."""

    imported: list[Imported]
    skipped: list[Skipped]
    running: int
    failed: int
    dry_run: bool


def import_background_tasks(*, dry_run: bool = False) -> ImportReport:
    """Move the waiting rows of django-background-tasks' table into ScheduledJob rows, in one
    transaction, in the database where ScheduledJob rows are written. With ``dry_run``,
    nothing is written or deleted. BackgroundTaskTableMissing if there is no such table."""
    using = router.db_for_write(ScheduledJob)
    connection = connections[using]
    with transaction.atomic(using=using):
        _check_table(connection)
        rows = _waiting_rows(connection, lock=not dry_run)
        imported, skipped = [], []
        for row in rows:
            try:
                job = _job_of(row, connection)
            except FutureCeleryError as exc:
                skipped.append(Skipped(row["id"], row["task_name"], str(exc)))
            else:
                imported.append(Imported(row["id"], row["task_name"], job))
        total, failed = _counts(connection)
        if imported and not dry_run:
            scheduling.save_prepared([item.job for item in imported])
            _delete(connection, [item.task_id for item in imported])
    return ImportReport(
        imported=imported,
        skipped=skipped,
        running=total - failed - len(rows),
        failed=failed,
        dry_run=dry_run,
    )


def _check_table(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if TABLE not in connection.introspection.table_names(cursor):
            raise BackgroundTaskTableMissing(
                f"there is no {TABLE!r} table in the database "
                f"{connection.settings_dict['NAME']!r}: nothing to import from "
                "django-background-tasks (is this the database it used?)"
            )
        found = {c.name for c in connection.introspection.get_table_description(cursor, TABLE)}
    missing = [c for c in (*COLUMNS, *STATE_COLUMNS) if c not in found]
    if missing:
        raise BackgroundTaskTableMissing(
            f"the {TABLE!r} table has no column {', '.join(map(repr, missing))}: it is not "
            "django-background-tasks' table, or one of a version this import does not read"
        )


def _waiting_rows(connection: BaseDatabaseWrapper, *, lock: bool) -> list[dict[str, Any]]:
    """The rows that wait to run, oldest first: not failed, and not locked by a worker, or
    locked longer ago than django-background-tasks' MAX_RUN_TIME (its worker is gone: that
    project runs such rows again too). ``lock``: FOR UPDATE where the database has it, so
    that a django-background-tasks worker still running cannot take a row while it moves
    (SQLite lets one transaction write at a time anyway)."""
    quote = connection.ops.quote_name
    cutoff = timezone.now() - dt.timedelta(seconds=getattr(settings, "MAX_RUN_TIME", 3600))
    sql = (
        f"SELECT {', '.join(quote(c) for c in COLUMNS)} FROM {quote(TABLE)} "
        f"WHERE {quote('failed_at')} IS NULL "
        f"AND ({quote('locked_by')} IS NULL OR {quote('locked_at')} < %s) "
        f"ORDER BY {quote('id')}"
    )
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(cutoff)])
        return [dict(zip(COLUMNS, values, strict=True)) for values in cursor.fetchall()]


def _counts(connection: BaseDatabaseWrapper) -> tuple[int, int]:
    """All the table's rows, and its failed ones."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), COUNT({quote('failed_at')}) FROM {quote(TABLE)}")
        total, failed = cursor.fetchone()
    return total, failed


def _delete(connection: BaseDatabaseWrapper, ids: Sequence[int]) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start : start + DELETE_BATCH]
            cursor.execute(
                f"DELETE FROM {quote(TABLE)} WHERE {quote('id')} IN "
                f"({', '.join(['%s'] * len(batch))})",
                batch,
            )


def _job_of(row: dict[str, Any], connection: BaseDatabaseWrapper) -> ScheduledJob:
    """The unsaved job of one waiting row, as its @background call would make it, with its
    attempts so far and its creator."""
    name = _callable_name(row["task_name"])
    args, kwargs = _params(row["task_params"])
    # django-background-tasks' priority (any whole number, higher first), mapped as the
    # @background door maps it, so imported and new jobs keep one order.
    priority = background_decorator.background_priority(row["priority"] or 0)
    attempts = row["attempts"] or 0
    if attempts < 0:
        raise MalformedJob(f"attempts is {attempts}, not a count")
    repeat_until = row["repeat_until"]
    job = scheduling.prepare_background(
        name,
        args,
        kwargs,
        when=column_datetime(row["run_at"], connection),
        repeat=background_decorator.repeat_seconds(row["repeat"] or 0),
        repeat_until=None if repeat_until is None else column_datetime(repeat_until, connection),
        verbose_name=row["verbose_name"] or "",
        creator=None,
        priority=priority,
        queue=row["queue"] or None,
    )
    job.attempts = attempts  # the retries go on counting from where they were
    if row["creator_content_type_id"] is not None:
        # The creator as it is referred to (not fetched: it may be gone, as it may for any job).
        job.creator_content_type_id = row["creator_content_type_id"]
        object_id = row["creator_object_id"]
        job.creator_object_id = "" if object_id is None else str(object_id)
    return job


def _callable_name(task_name: str) -> str:
    """The name the job runs under: the row's, once it resolves to something a job can run.
    A function still decorated with django-background-tasks' @background would only make
    another row of that table when run; one decorated with ours runs under its own name."""
    target = callables.resolve_path(task_name)
    if type(target).__module__.startswith("background_task."):
        raise callables.CallableNotFound(
            f"{task_name!r} is still decorated with django-background-tasks' @background: "
            "change its import to `from future_celery import background` and run the "
            "import again"
        )
    if isinstance(target, background_decorator.BackgroundTask):
        return target.name
    return task_name


def _params(text: str) -> tuple[list[Any], dict[str, Any]]:
    """django-background-tasks' task_params: the JSON text of [args, kwargs]."""
    try:
        params = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise MalformedJob(f"task_params is not JSON: {exc}") from None
    if (
        not isinstance(params, list)
        or len(params) != 2
        or not isinstance(params[0], list)
        or not isinstance(params[1], dict)
    ):
        raise MalformedJob(f"task_params is not [args, kwargs]: {text[:200]!r}")
    return params[0], params[1]


def column_datetime(value: Any, connection: BaseDatabaseWrapper) -> dt.datetime:
    """A datetime column's value as an aware datetime: SQLite hands back naive ones (or
    text), in the database's time zone. (from_django_future reads its table with it too.)"""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise MalformedJob(f"{value!r} is not a date and time")
        value = parsed
    if not isinstance(value, dt.datetime):
        raise MalformedJob(f"{value!r} is not a date and time")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, connection.timezone)
    return value
