"""Moving django-future's scheduled jobs into ScheduledJob rows (manage.py
import_django_future).

The rows of its ``django_future_scheduledjob`` table still waiting to run (status
``scheduled``) become jobs made as schedule_job() makes them (scheduling.prepare_job: the
callable resolved and allowed, the arguments stored as JSON, the expiry after the run
time), and are deleted from that table in the same transaction: a second import finds
nothing left to move. The other rows (running, complete, failed, expired) stay, as the
record they are. A waiting row that cannot be imported stays too, and the report says why.

django-future kept ``args`` and ``kwargs`` in django-picklefield columns: the base64 text of
a pickle (protocol 0 or 2, written by Python 2's cPickle in django-future 0.2.3's days).
Unpickling runs whatever code the pickle names, so it happens only when the operator asks
for it (``unpickle_arguments``) for a table that is theirs. Without it, only the rows whose
arguments are empty (None, (), [], {}: recognised from the pickle's opcodes, which are
parsed, never run) are imported."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import pickle
import pickletools
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from . import callables, execution, importers, scheduling
from .exceptions import (
    CallableNotFound,
    ContentObjectMissing,
    DjangoFutureTableMissing,
    FutureCeleryError,
    MalformedJob,
)
from .models import ScheduledJob

TABLE = "django_future_scheduledjob"
# The columns read, in django-future 0.2.3's names (its models.ScheduledJob).
COLUMNS = (
    "id",
    "time_slot_start",
    "time_slot_end",
    "status",
    "content_type_id",
    "object_id",
    "callable_name",
    "args",
    "kwargs",
)
PENDING = "scheduled"  # the only status of django-future's that has not started
FLAG = "--unpickle-arguments"


@dataclasses.dataclass(frozen=True)
class Imported:
    """A row moved (or, in a dry run, that would be): its id and the new job (not saved in
    a dry run)."""

    row_id: int
    callable_name: str
    job: ScheduledJob


@dataclasses.dataclass(frozen=True)
class Refused:
    """A waiting row left in django_future_scheduledjob, and why. ``pickled``: refused only
    because its arguments are pickled and unpickling was not asked for."""

    row_id: int
    callable_name: str
    reason: str
    pickled: bool = False


@dataclasses.dataclass(frozen=True)
class DjangoFutureReport:
    """What import_django_future() did (or, with dry_run, would do). ``left``: the rows it
    leaves alone by status (running, complete, failed, expired...)."""

    imported: list[Imported]
    refused: list[Refused]
    left: dict[str, int]
    dry_run: bool


class PickledArguments(MalformedJob):
    """A row's arguments are pickled and unpickling was not asked for (internal: becomes a
    Refused row with ``pickled``)."""


def import_django_future(
    *, unpickle_arguments: bool = False, dry_run: bool = False
) -> DjangoFutureReport:
    """Move the waiting rows of django-future's table into ScheduledJob rows, in one
    transaction, in the database where ScheduledJob rows are written. ``unpickle_arguments``:
    read pickled arguments (this runs code the pickles name: only for a table that is
    yours); without it, rows with arguments are refused. With ``dry_run``, nothing is
    written or deleted. DjangoFutureTableMissing if there is no such table."""
    using = router.db_for_write(ScheduledJob)
    connection = connections[using]
    with transaction.atomic(using=using):
        _check_table(connection)
        imported, refused = [], []
        for row in _waiting_rows(connection, lock=not dry_run):
            try:
                # A savepoint: a query that fails while the row is read (its content
                # object's, one that unpickling made) refuses that row, not the import.
                with transaction.atomic(using=using):
                    job = _job_of(row, connection, unpickle_arguments)
            except (FutureCeleryError, DatabaseError) as exc:
                pickled = isinstance(exc, PickledArguments)
                refused.append(Refused(row["id"], row["callable_name"], str(exc), pickled))
            else:
                imported.append(Imported(row["id"], row["callable_name"], job))
        left = _left(connection)
        if imported and not dry_run:
            scheduling.save_prepared([item.job for item in imported])
            _delete(connection, [item.row_id for item in imported])
    return DjangoFutureReport(imported=imported, refused=refused, left=left, dry_run=dry_run)


def _check_table(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if TABLE not in connection.introspection.table_names(cursor):
            raise DjangoFutureTableMissing(
                f"there is no {TABLE!r} table in the database "
                f"{connection.settings_dict['NAME']!r}: nothing to import from django-future "
                "(is this the database it used?)"
            )
        found = {c.name for c in connection.introspection.get_table_description(cursor, TABLE)}
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise DjangoFutureTableMissing(
            f"the {TABLE!r} table has no column {', '.join(map(repr, missing))}: it is not "
            "django-future's table, or one of a version this import does not read"
        )


def _waiting_rows(connection: BaseDatabaseWrapper, *, lock: bool) -> list[dict[str, Any]]:
    """The rows with status 'scheduled', in the order django-future would have run them.
    ``lock``: FOR UPDATE where the database has it, so that a runscheduledjobs of
    django-future still running waits for the import instead of running a row it moves."""
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {', '.join(quote(c) for c in COLUMNS)} FROM {quote(TABLE)} "
        f"WHERE {quote('status')} = %s ORDER BY {quote('time_slot_start')}, {quote('id')}"
    )
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [PENDING])
        return [dict(zip(COLUMNS, values, strict=True)) for values in cursor.fetchall()]


def _left(connection: BaseDatabaseWrapper) -> dict[str, int]:
    """The rows of other statuses, by status."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('status')}, COUNT(*) FROM {quote(TABLE)} "
            f"WHERE {quote('status')} <> %s GROUP BY {quote('status')}",
            [PENDING],
        )
        return dict(sorted(cursor.fetchall()))


def _delete(connection: BaseDatabaseWrapper, ids: list[int]) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for start in range(0, len(ids), importers.DELETE_BATCH):
            batch = ids[start : start + importers.DELETE_BATCH]
            cursor.execute(
                f"DELETE FROM {quote(TABLE)} WHERE {quote('id')} IN "
                f"({', '.join(['%s'] * len(batch))})",
                batch,
            )


def _job_of(
    row: dict[str, Any], connection: BaseDatabaseWrapper, unpickle_arguments: bool
) -> ScheduledJob:
    """The unsaved job of one waiting row, as schedule_job() would make it: at its time
    slot, expiring at the slot's end, with its content object and arguments."""
    content_object = _content_object(row["content_type_id"], row["object_id"])
    _check_callable(row["callable_name"], content_object)
    args = _arguments(row["args"], "args", unpickle_arguments)
    kwargs = _arguments(row["kwargs"], "kwargs", unpickle_arguments)
    end = row["time_slot_end"]
    return scheduling.prepare_job(
        importers.column_datetime(row["time_slot_start"], connection),
        row["callable_name"],
        args=() if args is None else args,
        kwargs=kwargs,
        expires=None if end is None else importers.column_datetime(end, connection),
        content_object=content_object,
    )


def _content_object(content_type_id: int | None, object_id: Any) -> models.Model | None:
    """The row's content object, fetched: django-future passed it to the callable (or ran
    one of its methods). A row whose object is gone is refused: django-future would have
    run it without the object."""
    if content_type_id is None:
        return None
    try:
        content_type = ContentType.objects.get_for_id(content_type_id)
    except ContentType.DoesNotExist:
        raise ContentObjectMissing(
            f"its content type #{content_type_id} no longer exists"
        ) from None
    model = content_type.model_class()
    if model is None:
        raise ContentObjectMissing(
            f"its content type {content_type.app_label}.{content_type.model} is not a model "
            "of an installed app"
        )
    try:
        return model._default_manager.get(pk=object_id)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise ContentObjectMissing(
            f"its content object, the {model._meta.label_lower} with primary key "
            f"{object_id!r}, no longer exists"
        ) from None


def _check_callable(name: str, content_object: models.Model | None) -> None:
    """Refuse the row's callable before its arguments are read (an operator told to use
    the flag should not then hear that the callable was not allowed): as schedule_job()
    checks it (prepare_job() checks it again), and not still marked by django-future's
    @job_as_parameter, which future_celery would not honour: the callable would not get
    the job it expects as its first argument."""
    callables.check_allowed(callables.allow_name(*callables.name_of(name, content_object)))
    if content_object is not None and "." not in name:
        target = callables.resolve_method(content_object, name)
    else:
        target = callables.resolve_path(name)
    if getattr(target, "job_as_parameter", False) is True and not getattr(
        target, execution._JOB_AS_PARAMETER, False
    ):
        raise CallableNotFound(
            f"{name!r} is still decorated with django-future's @job_as_parameter: change its "
            "import to `from future_celery import job_as_parameter` and run the import again"
        )


# A pickle of an empty value, as opcode names (memo and framing opcodes left out):
# None, (), [] and {} as protocols 0 to 5 write them.
_EMPTY_PICKLES: dict[tuple[str, ...], Any] = {
    ("NONE",): None,
    ("EMPTY_TUPLE",): (),
    ("MARK", "TUPLE"): (),
    ("EMPTY_LIST",): [],
    ("MARK", "LIST"): [],
    ("EMPTY_DICT",): {},
    ("MARK", "DICT"): {},
}
_NOT_VALUES = frozenset({"PROTO", "FRAME", "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "STOP"})


_NOT_EMPTY = object()


def _empty_value(raw: bytes) -> Any:
    """The empty value (None, (), [] or {}) that ``raw`` pickles, from its opcodes (parsed,
    not run); _NOT_EMPTY for any other pickle, or bytes pickletools cannot parse (such as
    a Python 2 str that is not ASCII: unpickling reads those)."""
    try:
        names = tuple(op.name for op, _, _ in pickletools.genops(raw) if op.name not in _NOT_VALUES)
    except ValueError:
        return _NOT_EMPTY
    if names not in _EMPTY_PICKLES:
        return _NOT_EMPTY
    empty = _EMPTY_PICKLES[names]
    return None if empty is None else type(empty)()  # a [] or {} of its own


def _arguments(text: Any, column: str, unpickle: bool) -> Any:
    """A picklefield column's value: None for NULL, an empty value read from its opcodes
    alone, anything else unpickled only if ``unpickle``."""
    if text is None:
        return None
    if isinstance(text, memoryview):
        text = bytes(text)
    try:
        raw = base64.b64decode(text)
    except (binascii.Error, ValueError) as exc:
        raise MalformedJob(
            f"its {column} are not the base64 text of a pickle, as django-future's "
            f"PickledObjectField wrote it ({exc})"
        ) from None
    empty = _empty_value(raw)
    if empty is not _NOT_EMPTY:
        return empty
    if not unpickle:
        raise PickledArguments(
            f"its {column} are pickled: reading them runs the code the pickle names; run "
            f"the import with {FLAG} if the table is yours"
        )
    try:
        return _Python2Unpickler(io.BytesIO(raw)).load()
    except Exception as exc:
        raise MalformedJob(f"its {column} cannot be unpickled: {exc!r}") from None


class _Python2Unpickler(pickle._Unpickler):
    """Reads the pickles of Python 2 too, where a ``str`` is bytes: text when it is UTF-8,
    bytes otherwise (the state of a datetime, a date or a time, which Python 3 reads from
    bytes; bytes left in an argument are refused as not JSON). Python 3's own pickles are
    read as pickle.loads reads them. (_decode_string is the pure-Python unpickler's hook for
    those strs; were it gone, they would stay bytes and their rows be refused, not misread:
    test_python_2_pickles_are_read_str_as_utf8_text would say so.)"""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, encoding="bytes")

    def _decode_string(self, value: bytes) -> str | bytes:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value


def pickled_refusals(report: DjangoFutureReport) -> int:
    """How many rows were refused only for want of unpickle_arguments."""
    return sum(1 for row in report.refused if row.pickled)
