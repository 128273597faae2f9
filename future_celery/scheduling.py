"""Creating jobs: schedule_job() and reschedule. All validation happens here, before
anything is saved, so bad input raises and leaves no row behind."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, models, router, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

from . import callables, conf, dispatch, serialization, timespec
from .exceptions import InvalidExpiry
from .models import ScheduledJob
from .timespec import When

# Marks "not given" where None has a meaning of its own (expires=None: never expires).
DEFAULT: Any = object()


def schedule_job(
    when: When,
    callable: str | Callable[..., Any],
    *,
    args: Any = (),
    kwargs: dict[str, Any] | None = None,
    expires: When | None = DEFAULT,
    content_object: models.Model | None = None,
    queue: str | None = None,
    priority: int | None = None,
    max_attempts: int | None = None,
    soft_time_limit: float | None = None,
    time_limit: float | None = None,
) -> ScheduledJob:
    """Schedule ``callable`` to run at ``when`` and return the saved job.

    ``when`` and ``expires`` take a datetime, a timedelta or an offset string ('5d', '1d12h');
    a relative expiry counts from the scheduled time, ``None`` never expires. With a
    ``content_object``, ``callable`` may name one of its methods; otherwise the object is
    passed to the callable as its first argument.
    """
    job = prepare_job(
        when, callable, args=args, kwargs=kwargs, expires=expires,
        content_object=content_object, queue=queue, priority=priority,
        max_attempts=max_attempts, soft_time_limit=soft_time_limit, time_limit=time_limit,
    )
    _insert(job)
    _dispatch_soon([job])
    return job


def _insert(job: ScheduledJob) -> None:
    """Save a new job as job.save() would (pre_save and post_save, the automatic dates, the
    database router), in one INSERT of cached SQL: schedule_job runs once per job, and the
    ORM's compiling of the INSERT cost about as much as the round trip."""
    using = router.db_for_write(ScheduledJob, instance=job)
    db = connections[using]
    if job.pk is not None or not db.features.can_return_columns_from_insert:
        job.save(using=using)
        return
    signals.pre_save.send(sender=ScheduledJob, instance=job, raw=False, using=using,
                          update_fields=None)
    fields = _insert_fields()
    values = [f.get_db_prep_save(f.pre_save(job, True), connection=db) for f in fields]
    with transaction.mark_for_rollback_on_error(using), db.cursor() as cursor:
        cursor.execute(_insert_sql(using), values)
        job.pk = cursor.fetchone()[0]
    job._state.adding, job._state.db = False, using
    signals.post_save.send(sender=ScheduledJob, instance=job, created=True, update_fields=None,
                           raw=False, using=using)


@functools.cache
def _insert_fields() -> tuple[models.Field, ...]:
    return tuple(f for f in ScheduledJob._meta.concrete_fields if f is not ScheduledJob._meta.pk)


@functools.cache
def _insert_sql(using: str) -> str:
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(f.column) for f in _insert_fields())
    placeholders = ", ".join(["%s"] * len(_insert_fields()))
    return (f"INSERT INTO {quote(ScheduledJob._meta.db_table)} ({columns}) "
            f"VALUES ({placeholders}) RETURNING {quote(ScheduledJob._meta.pk.column)}")


def _dispatch_soon(jobs: list[ScheduledJob]) -> None:
    if conf.get("DISPATCH_ON_COMMIT"):
        dispatch.dispatch_on_commit(jobs)


def prepare_job(when: When, callable: str | Callable[..., Any], *, args: Any = (),
                kwargs: dict[str, Any] | None = None, checked: dict | None = None,
                **options: Any) -> ScheduledJob:
    """The validated, unsaved job that schedule_job() would save. ``checked`` lets a batch
    resolve and allow-list each distinct callable, and read each setting, once."""
    encoded_args, encoded_kwargs = serialization.encode_call(args, kwargs)
    return _build(when, callable, encoded_args, encoded_kwargs, checked=checked, **options)


def reschedule_job(job: ScheduledJob, when: When, **overrides: Any) -> ScheduledJob:
    """A saved copy of ``job`` at ``when``; a relative ``when`` counts from its scheduled time."""
    unknown = set(overrides) - {
        "callable", "args", "kwargs", "expires", "content_object", "queue", "priority",
        "max_attempts", "soft_time_limit", "time_limit",
    }
    if unknown:
        raise TypeError(f"reschedule() got unexpected keyword arguments {sorted(unknown)}")
    args, kwargs = overrides.pop("args", None), overrides.pop("kwargs", None)
    encoded_args, encoded_kwargs = serialization.encode_call(args or (), kwargs)
    options: dict[str, Any] = {
        "callable": job.callable_name,
        "content_object": job.content_object if job.content_type_id else None,
        "queue": job.queue,
        "priority": job.priority,
        "max_attempts": job.max_attempts,
        "soft_time_limit": job.soft_time_limit,
        "time_limit": job.time_limit,
        **overrides,
    }
    new = _build(
        when, options.pop("callable"),
        job.args if args is None else encoded_args,
        job.kwargs if kwargs is None else encoded_kwargs,
        base=job.time_slot_start, **options,
    )
    new.rescheduled_from = job
    new.save()
    _dispatch_soon([new])
    return new


def _build(when: When, target: str | Callable[..., Any], args: list[Any],
           kwargs: dict[str, Any], *, base: dt.datetime | None = None,
           expires: When | None = DEFAULT, content_object: models.Model | None = None,
           queue: str | None = None, priority: int | None = None,
           max_attempts: int | None = None, soft_time_limit: float | None = None,
           time_limit: float | None = None, checked: dict | None = None) -> ScheduledJob:
    tz = _current_timezone(checked)
    run_at = timespec.resolve(when, base, tz)
    if expires is DEFAULT:
        expires = _setting("DEFAULT_EXPIRES", checked)
    expires_at = None if expires is None else timespec.resolve(expires, run_at, tz)
    if expires_at is not None and expires_at <= run_at:
        raise InvalidExpiry(
            f"the job would expire at {expires_at.isoformat()}, at or before its scheduled "
            f"time {run_at.isoformat()}"
        )
    cacheable = checked is not None and isinstance(target, str) and content_object is None
    if cacheable and target in checked:
        callable_name, label = checked[target]
    else:
        callable_name, label = _callable_name(target, content_object)
        callables.check_allowed(callables.allow_name(callable_name, label))
        if cacheable:
            checked[target] = (callable_name, label)
    job = _new_job(
        callable_name=callable_name,
        args=args,
        kwargs=kwargs,
        time_slot_start=run_at,
        time_slot_end=expires_at,
        queue=_queue(queue, _setting("DEFAULT_QUEUE", checked)),
        priority=_priority(priority, _setting("DEFAULT_PRIORITY", checked)),
        max_attempts=_positive_int("max_attempts", max_attempts,
                                   _setting("MAX_ATTEMPTS", checked)),
        soft_time_limit=_seconds("soft_time_limit", soft_time_limit,
                                 _setting("SOFT_TIME_LIMIT", checked)),
        time_limit=_seconds("time_limit", time_limit, _setting("TIME_LIMIT", checked)),
    )
    if content_object is not None:
        job.content_object = content_object
        job.object_id = str(job.object_id)  # the column is text, whatever the primary key
    return job


def _new_job(**values: Any) -> ScheduledJob:
    """An unsaved job with ``values`` and every other field at its default (a batch of
    100,000 jobs makes this count). When nothing listens to the model's pre_init or post_init
    signals, it is made as Model.__init__ would make it from positional values (each field's
    attribute set, a fresh ModelState), in a third of the time; otherwise by __init__."""
    fields = {  # attname: value, in the model's field order
        name: values[name] if kind is _GIVEN else value.get_default() if kind is _PER_JOB else value
        for name, kind, value in _field_plan(frozenset(values))
    }
    if signals.pre_init.has_listeners(ScheduledJob) or signals.post_init.has_listeners(ScheduledJob):
        return ScheduledJob(*fields.values())
    job = ScheduledJob.__new__(ScheduledJob)
    job.__dict__.update(fields)
    job._state = ModelState()
    return job


_GIVEN, _PER_JOB, _FIXED = "given", "per job", "fixed"


@functools.cache
def _field_plan(given: frozenset[str]) -> list[tuple[str, str, Any]]:
    """Per concrete field, in order: its attname, and where its value comes from: the given
    values; its field's get_default() for each job (a callable default, such as dict); or one
    default value for every job (what Django's get_default() returns each time anyway)."""
    plan: list[tuple[str, str, Any]] = []
    for field in ScheduledJob._meta.concrete_fields:
        if field.attname in given:
            plan.append((field.attname, _GIVEN, None))
        elif field.has_default() and callable(field.default):
            plan.append((field.attname, _PER_JOB, field))
        else:
            plan.append((field.attname, _FIXED, field.get_default()))
    return plan


def _callable_name(target: str | Callable[..., Any],
                   content_object: models.Model | None) -> tuple[str, str | None]:
    """The stored name of the callable, checked to resolve now; and the object's model label."""
    label = None
    if content_object is not None:
        if not isinstance(content_object, models.Model):
            raise TypeError(
                f"content_object must be a model instance, not {type(content_object).__name__}"
            )
        if content_object.pk is None:
            raise ValueError("content_object must be saved before a job can refer to it")
        label = content_object._meta.label_lower
    if isinstance(target, str):
        if "." not in target and content_object is not None:
            callables.resolve_method(content_object, target)
        elif "." not in target:
            raise callables.CallableNotFound(
                f"callable {target!r} is not a dotted path; a method name needs a content_object"
            )
        else:
            callables.resolve_path(target)
        return target, label
    if callable(target):
        return callables.path_of(target), label
    raise TypeError(f"callable must be a dotted path or a function, not {type(target).__name__}")


def _once_per_batch(batch: dict | None, key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered in ``batch`` under ``key`` when there is a batch (lookups
    add up over 100,000 jobs). Keys are tuples: the batch's callable names are strings."""
    if batch is None:
        return compute()
    if key not in batch:
        batch[key] = compute()
    return batch[key]


def _setting(name: str, batch: dict | None) -> Any:
    """conf.get(name), read once per batch when there is one."""
    return _once_per_batch(batch, ("setting", name), lambda: conf.get(name))


def _current_timezone(batch: dict | None) -> dt.tzinfo | None:
    """Django's current time zone, looked up once per batch (None without a batch: each
    resolve looks it up when it needs it)."""
    return None if batch is None else _once_per_batch(
        batch, ("timezone",), timezone.get_current_timezone)


def _queue(queue: str | None, default: str | None) -> str:
    queue = default if queue is None else queue
    if queue is None:
        return ""
    if not isinstance(queue, str):
        raise TypeError(f"queue must be a string, not {type(queue).__name__}")
    return queue


def _priority(priority: int | None, default: int | None) -> int | None:
    priority = default if priority is None else priority
    if priority is None:
        return None
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 255:
        raise ValueError(f"priority must be a whole number from 0 to 255, not {priority!r}")
    return priority


def _positive_int(name: str, value: int | None, default: int) -> int:
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return value


def _seconds(name: str, value: float | None, default: float | None) -> float | None:
    value = default if value is None else value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def schedule_jobs(jobs: Any, batch_size: int = 5000) -> list[ScheduledJob]:
    """Schedule many jobs at once: each item is a dict of schedule_job()'s arguments
    (``when`` and ``callable`` required). All are validated first; if one is bad, an error
    names its index and nothing is saved. Rows are written ``batch_size`` at a time, with
    one COPY per batch on PostgreSQL (one INSERT elsewhere)."""
    prepared = []
    checked: dict = {}
    for index, spec in enumerate(jobs):
        if not isinstance(spec, dict):
            raise TypeError(f"jobs[{index}] must be a dict of schedule_job() arguments")
        spec = dict(spec)
        try:
            when, target = spec.pop("when"), spec.pop("callable")
        except KeyError as exc:
            raise TypeError(f"jobs[{index}] has no {exc.args[0]!r}") from None
        try:
            prepared.append(prepare_job(when, target, checked=checked, **spec))
        except Exception as exc:
            raise type(exc)(f"jobs[{index}]: {exc}") from exc
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _copy_in(prepared, batch_size)
        else:
            ScheduledJob.objects.bulk_create(prepared, batch_size=batch_size)
        _dispatch_soon(prepared)
    return prepared


def _copy_in(jobs: list[ScheduledJob], batch_size: int) -> None:
    """Insert jobs with PostgreSQL's COPY (ids taken from the table's sequence first)."""
    fields = ScheduledJob._meta.concrete_fields
    table = connection.ops.quote_name(ScheduledJob._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values_of = operator.attrgetter(*[f.attname for f in fields])
    now = timezone.now()
    with connection.cursor() as cursor:
        # Binary COPY, each column sent as the type the table has (JSON by psycopg's dumper).
        cursor.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = "
                       "%s::regclass AND attnum > 0 AND NOT attisdropped",
                       [ScheduledJob._meta.db_table])
        column_types = dict(cursor.fetchall())
        types = [column_types[f.column] for f in fields]
        for start in range(0, len(jobs), batch_size):
            batch = jobs[start:start + batch_size]
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [ScheduledJob._meta.db_table, len(batch)])
            for job, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                job.pk, job.created, job.updated = pk, now, now
                job._state.adding, job._state.db = False, connection.alias
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for job in batch:
                    copy.write_row(values_of(job))
