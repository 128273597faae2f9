"""Writing new job rows: schedule_job's one INSERT, schedule_jobs' COPY per batch.

On PostgreSQL both send each column's value as the job's attribute holds it, typed by
psycopg, instead of passing every field through get_db_prep_save and client-side quoting:
for the table's 26 columns that preparation cost as much as the round trip. The values are
already the columns' own (scheduling builds them: aware datetimes, strings, numbers, JSON
data); the JSON columns are the only ones psycopg needs to be told about. Elsewhere the ORM
writes the rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import operator
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.db import connections, models, router, transaction
from django.db.models import signals
from django.utils import timezone

from .models import ScheduledJob, column_of
from .pg_direct import binding_cursor

if TYPE_CHECKING:
    from psycopg.adapt import Dumper
    from psycopg.types.json import Jsonb


def insert(job: ScheduledJob) -> None:
    """Save a new job as job.save() would (pre_save and post_save, the automatic dates, the
    database router, the transaction marked for rollback on error) with one INSERT."""
    using = router.db_for_write(ScheduledJob, instance=job)
    db = connections[using]
    if job.pk is not None or db.vendor != "postgresql":
        job.save(using=using)
        return
    signals.pre_save.send(
        sender=ScheduledJob, instance=job, raw=False, using=using, update_fields=None
    )
    _stamp(job, timezone.now())
    values = list(_values_of(with_pk=False)(job))
    for index in _json_columns():
        values[index] = _jsonb(values[index])
    with transaction.mark_for_rollback_on_error(using), binding_cursor(db) as cursor:
        cursor.execute(_insert_sql(using), values)
        job.pk = cursor.fetchone()[0]
    job._state.adding, job._state.db = False, using
    signals.post_save.send(
        sender=ScheduledJob, instance=job, created=True, update_fields=None, raw=False, using=using
    )


def insert_many(
    jobs: Iterable[ScheduledJob], count: int, batch_size: int, using: str
) -> list[ScheduledJob]:
    """Insert the ``count`` new jobs that ``jobs`` yields, ``batch_size`` rows at a time, and
    return them. No model signals, as with bulk_create.

    On PostgreSQL each batch is one COPY (its ids taken from the table's sequence first), and
    each job is taken from ``jobs`` only when its row is written: when ``jobs`` makes them
    lazily, the server stores rows while the next ones are made. An exception from ``jobs``
    stops the COPY and reaches the caller, whose transaction must then roll back. Elsewhere
    bulk_create writes them."""
    db = connections[using]
    if db.vendor != "postgresql":
        made = list(jobs)
        ScheduledJob.objects.using(using).bulk_create(made, batch_size=batch_size)
        return made
    fields = _fields(with_pk=True)
    table = db.ops.quote_name(ScheduledJob._meta.db_table)
    columns = ", ".join(db.ops.quote_name(column_of(f)) for f in fields)
    values_of = _values_of(with_pk=True)
    now = timezone.now()
    made = []
    jobs = iter(jobs)
    with db.cursor() as cursor:
        raw = cursor.cursor
        # Binary COPY, each column sent as the type the table has.
        cursor.execute(
            "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = "
            "%s::regclass AND attnum > 0 AND NOT attisdropped",
            [ScheduledJob._meta.db_table],
        )
        column_types = dict(cursor.fetchall())
        types = [column_types[f.column] for f in fields]
        for oid in {column_types[f.column] for f in fields if isinstance(f, models.JSONField)}:
            raw.adapters.register_dumper(None, _binary_jsonb_dumper(oid))
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [ScheduledJob._meta.db_table, ScheduledJob._meta.pk.column],
        )
        sequence = cursor.fetchone()[0]
        for start in range(0, count, batch_size):
            size = min(batch_size, count - start)
            # The sequence named once per call, not looked up per row (docs/performance.md).
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, size]
            )
            ids = cursor.fetchall()
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for (pk,), job in zip(ids, itertools.islice(jobs, size), strict=True):
                    job.pk = pk
                    _stamp(job, now)
                    job._state.adding, job._state.db = False, using
                    copy.write_row(values_of(job))
                    made.append(job)
    return made


def _stamp(job: ScheduledJob, now: dt.datetime) -> None:
    """Set the auto_now and auto_now_add dates, as their fields' pre_save does on a create."""
    for attname in _automatic_dates():
        setattr(job, attname, now)


@functools.cache
def _automatic_dates() -> tuple[str, ...]:
    return tuple(
        f.attname
        for f in _fields(with_pk=False)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    )


@functools.cache
def _fields(with_pk: bool) -> tuple[models.Field[Any, Any], ...]:
    pk = ScheduledJob._meta.pk
    return tuple(f for f in ScheduledJob._meta.concrete_fields if with_pk or f is not pk)


@functools.cache
def _json_columns() -> tuple[int, ...]:
    """Positions of the JSON columns among the INSERT's values."""
    return tuple(i for i, f in enumerate(_fields(with_pk=False)) if isinstance(f, models.JSONField))


@functools.cache
def _values_of(with_pk: bool) -> operator.attrgetter[tuple[Any, ...]]:
    """A job's values in the order of _fields(with_pk): the INSERT's (no id) or a COPY row's."""
    return operator.attrgetter(*[f.attname for f in _fields(with_pk)])


@functools.cache
def _insert_sql(using: str) -> str:
    quote = connections[using].ops.quote_name
    fields = _fields(with_pk=False)
    columns = ", ".join(quote(column_of(f)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    return (
        f"INSERT INTO {quote(ScheduledJob._meta.db_table)} ({columns}) "
        f"VALUES ({placeholders}) RETURNING {quote(column_of(ScheduledJob._meta.pk))}"
    )


def _jsonb(value: Any) -> Jsonb:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


# The JSON text of a scalar, by its exact type, as json.dumps() writes it (floats are not
# here: json.dumps() spells out non-finite ones its own way).
_SCALAR_JSON: dict[type, Callable[[Any], str]] = {
    str: json.encoder.encode_basestring_ascii,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda value: "null",
}


@functools.cache
def _binary_jsonb_dumper(oid: int) -> type[Dumper]:
    """A dumper of JSON data for a binary COPY into a jsonb column (what a JSONField is on
    PostgreSQL): as psycopg's own, with the commonest values, an empty list and an empty
    dict, written without calling the encoder, and a list of strings, whole numbers, booleans and
    None written item by item, faster than json.dumps() (docs/performance.md)."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    # jsonb's binary form is a version byte, then the JSON text.
    empty: dict[type, bytes] = {list: b"\x01[]", dict: b"\x01{}"}

    class BinaryJsonbDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            if not obj and type(obj) in empty:
                return empty[type(obj)]
            if type(obj) is list:  # the usual args: a few strings and numbers
                try:
                    items = [_SCALAR_JSON[type(item)](item) for item in obj]
                except KeyError:
                    pass
                else:
                    return b"\x01[" + ", ".join(items).encode() + b"]"
            return b"\x01" + json.dumps(obj).encode()

    BinaryJsonbDumper.oid = oid
    return BinaryJsonbDumper
