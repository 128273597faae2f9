"""Creating jobs: schedule_job(), schedule_jobs() and reschedule. All validation happens
here, and bad input raises and leaves no row behind: a single job is validated before its
INSERT; a batch's jobs are validated as their rows are written, in one transaction that a
bad one rolls back."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import gc
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import signals
from django.utils import timezone

from . import (
    callables,
    conf,
    dispatch,
    insertion,
    lifecycle,
    options,
    retries,
    serialization,
    timespec,
    unique_jobs,
)
from .exceptions import (
    FutureCeleryError,
    InvalidExpiry,
    InvalidOption,
    JobAlreadyScheduled,
    WrongOptionType,
)
from .models import ScheduledJob, job_from_fields
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
    unique_key: str | None = None,
    on_conflict: str = "raise",
) -> ScheduledJob:
    """Schedule ``callable`` to run at ``when`` and return the saved job.

    ``when`` and ``expires`` take a datetime, a timedelta or an offset string ('5d', '1d12h');
    a relative expiry counts from the scheduled time, ``None`` never expires. With a
    ``content_object``, ``callable`` may name one of its methods; otherwise the object is
    passed to the callable as its first argument. With a ``unique_key``, while a pending job
    (scheduled, queued or running) holds that key, JobAlreadyScheduled is raised
    (``on_conflict='raise'``) or that job is returned ('existing'), and nothing is saved.
    """
    conflict = unique_jobs.on_conflict(on_conflict)
    job = prepare_job(
        when,
        callable,
        args=args,
        kwargs=kwargs,
        expires=expires,
        content_object=content_object,
        queue=queue,
        priority=priority,
        max_attempts=max_attempts,
        soft_time_limit=soft_time_limit,
        time_limit=time_limit,
        unique_key=unique_key,
    )
    return _save(job, conflict)


def _save(job: ScheduledJob, conflict: str = "raise") -> ScheduledJob:
    """Insert ``job`` and have it dispatched after the commit; one with a unique key through
    unique_jobs (which may return the pending job that holds the key instead)."""
    _check_publisher()
    if job.unique_key is None:
        insertion.insert(job)
    else:
        saved = unique_jobs.insert(job, conflict)
        if saved is not job:
            return saved  # the holder: already saved and on its way
    _dispatch_soon([job])
    return job


def _check_publisher() -> None:
    """Before a row is inserted: in a process where the project loaded no Celery app, the
    jobs handed over after the commit would go to Celery's default broker, unseen, so
    CeleryAppNotConfigured is raised and nothing is saved (see future_celery.celery_app).
    A project that runs its jobs without Celery turns DISPATCH_ON_COMMIT off."""
    if conf.get("DISPATCH_ON_COMMIT"):
        dispatch.publisher()


def _dispatch_soon(jobs: list[ScheduledJob]) -> None:
    if conf.get("DISPATCH_ON_COMMIT"):
        dispatch.dispatch_on_commit(jobs)


@dataclasses.dataclass
class _Context:
    """What the jobs of one call share: the settings' defaults, the current time zone,
    whether anything listens to the model's init signals, and each callable already
    resolved and allowed (a large batch would otherwise look each up once per job)."""

    timezone: dt.tzinfo
    expires: When | None
    queue: str | None
    priority: int | None
    max_attempts: int
    soft_time_limit: float | None
    time_limit: float | None
    init_signals: bool
    callables: dict[str, tuple[str, str | None]] = dataclasses.field(default_factory=dict)

    @classmethod
    def current(cls) -> _Context:
        return cls(
            timezone=timezone.get_current_timezone(),
            expires=conf.get("DEFAULT_EXPIRES"),
            queue=conf.get("DEFAULT_QUEUE"),
            priority=conf.get("DEFAULT_PRIORITY"),
            max_attempts=conf.get("MAX_ATTEMPTS"),
            soft_time_limit=conf.get("SOFT_TIME_LIMIT"),
            time_limit=conf.get("TIME_LIMIT"),
            init_signals=(
                signals.pre_init.has_listeners(ScheduledJob)
                or signals.post_init.has_listeners(ScheduledJob)
            ),
        )


def prepare_job(
    when: When,
    callable: str | Callable[..., Any],
    *,
    args: Any = (),
    kwargs: dict[str, Any] | None = None,
    context: _Context | None = None,
    **options: Any,
) -> ScheduledJob:
    """The validated, unsaved job that schedule_job() would save. A batch passes one
    ``context`` for all its jobs (settings, time zone and callables looked up once)."""
    encoded_args, encoded_kwargs = serialization.encode_call(args, kwargs)
    return _build(
        when,
        callable,
        encoded_args,
        encoded_kwargs,
        context=context or _Context.current(),
        **options,
    )


def reschedule_job(job: ScheduledJob, when: When, **overrides: Any) -> ScheduledJob:
    """A saved copy of ``job`` at ``when``; a relative ``when`` counts from its scheduled time."""
    unknown = set(overrides) - {
        "callable",
        "args",
        "kwargs",
        "expires",
        "content_object",
        "queue",
        "priority",
        "max_attempts",
        "soft_time_limit",
        "time_limit",
        "unique_key",
        "on_conflict",
    }
    if unknown:
        raise WrongOptionType(f"reschedule() got unexpected keyword arguments {sorted(unknown)}")
    args, kwargs = overrides.pop("args", None), overrides.pop("kwargs", None)
    conflict = unique_jobs.on_conflict(overrides.pop("on_conflict", "raise"))
    encoded_args, encoded_kwargs = serialization.encode_call(args or (), kwargs)
    options: dict[str, Any] = {
        "callable": job.callable_name,
        "content_object": job.content_object if job.content_type_id else None,
        "queue": job.queue,
        "priority": job.priority,
        "max_attempts": job.max_attempts,
        "soft_time_limit": job.soft_time_limit,
        "time_limit": job.time_limit,
        # The copy is the same job again: it keeps the key (unique_key=None drops it).
        "unique_key": job.unique_key,
        **overrides,
    }
    new = _build(
        when,
        options.pop("callable"),
        job.args if args is None else encoded_args,
        job.kwargs if kwargs is None else encoded_kwargs,
        base=job.time_slot_start,
        context=_Context.current(),
        **options,
    )
    new.rescheduled_from = job
    _keep_front_door(job, new)
    return _save(new, conflict)


def _keep_front_door(job: ScheduledJob, new: ScheduledJob) -> None:
    """What makes ``job`` a job of its front door, kept on its copy ``new``: a Django task's
    backend (its TaskResult and signals), an @background job's retry policy, name, creator
    and repeats (the copy repeats from its own time), a recurring job's link (the copy is an
    extra occurrence, its slot its own time, as "run now" makes)."""
    new.backoff = job.backoff
    new.task_backend = job.task_backend
    new.verbose_name = job.verbose_name
    new.creator_content_type_id = job.creator_content_type_id
    new.creator_object_id = job.creator_object_id
    new.repeat, new.repeat_until = job.repeat, job.repeat_until
    new.recurring_id = job.recurring_id
    if job.repeat or job.recurring_id is not None:
        new.slot = new.time_slot_start


def schedule_background(
    name: str,
    args: Any,
    kwargs: dict[str, Any],
    *,
    remove_existing: bool,
    on_conflict: str = "raise",
    **options: Any,
) -> ScheduledJob:
    """The saved job of one call of an @background function (see background_decorator;
    ``options`` are prepare_background()'s). ``remove_existing``: first remove the jobs of
    the same function and arguments that have not started, in the same transaction. With a
    ``unique_key`` that a pending job holds: as schedule_job's ``on_conflict`` says."""
    conflict = unique_jobs.on_conflict(on_conflict)
    job = prepare_background(name, args, kwargs, **options)
    if remove_existing:  # the removal and the new row commit together
        with transaction.atomic(using=router.db_for_write(ScheduledJob)):
            lifecycle.remove_pending(job.callable_name, job.args, job.kwargs)
            return _save(job, conflict)
    # One INSERT, as schedule_job's (a transaction would cost a round trip more).
    return _save(job, conflict)


def prepare_background(
    name: str,
    args: Any,
    kwargs: dict[str, Any],
    *,
    when: When,
    repeat: int,
    repeat_until: dt.datetime | None,
    verbose_name: str,
    creator: models.Model | None,
    priority: int | None,
    queue: str | None,
    unique_key: str | None = None,
) -> ScheduledJob:
    """The validated, unsaved job of one call of an @background function:
    django-background-tasks' options on an ordinary job. It never expires, and is retried
    up to FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS times with FUTURE_CELERY_BACKGROUND_BACKOFF,
    as that project's tasks were."""
    policy = retries.check_backoff(
        conf.get("BACKGROUND_BACKOFF"), "FUTURE_CELERY_BACKGROUND_BACKOFF"
    )
    if repeat_until is not None and not isinstance(repeat_until, dt.datetime):
        raise WrongOptionType(f"repeat_until must be a datetime or None, not {repeat_until!r}")
    options.text("verbose_name", verbose_name)  # kept to its column's 255 characters below
    retries.background_max_attempts()  # a bad FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS raises here
    encoded_args, encoded_kwargs = serialization.encode_call(args, kwargs)
    job = _build(
        when,
        name,
        encoded_args,
        encoded_kwargs,
        context=_Context.current(),
        expires=None,
        queue=queue,
        priority=priority,
        max_attempts=retries.FOLLOW_BACKGROUND_SETTING,  # the setting, read when it fails
        unique_key=unique_key,
    )
    job.verbose_name = verbose_name[:255]
    job.backoff = policy
    if creator is not None:
        options.saved_model("creator", creator)
        job.creator = creator
        job.creator_object_id = str(job.creator_object_id)
    if repeat:
        job.repeat, job.slot = repeat, job.time_slot_start
        job.repeat_until = None if repeat_until is None else timespec.aware(repeat_until)
    return job


def schedule_task(
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    *,
    backend: str,
    run_after: dt.datetime | dt.timedelta | None,
    queue: str | None,
    priority: int,
    max_attempts: int,
) -> ScheduledJob:
    """The saved job of one enqueue() of a Django task (see tasks_backend): an ordinary job
    marked with its backend's alias, due at ``run_after`` (now when None), which is kept as
    its slot (a retry does not move it). It never expires, as a Django task does not, and
    is retried up to ``max_attempts`` times with the exponential backoff."""
    encoded_args, encoded_kwargs = serialization.encode_call(args, kwargs)
    job = _build(
        dt.timedelta(0) if run_after is None else run_after,
        name,
        encoded_args,
        encoded_kwargs,
        context=_Context.current(),
        expires=None,
        queue=queue,
        priority=priority,
        max_attempts=max_attempts,
    )
    job.task_backend = backend
    job.slot = None if run_after is None else job.time_slot_start
    _check_publisher()
    insertion.insert(job)
    _dispatch_soon([job])
    return job


def save_prepared(jobs: list[ScheduledJob], batch_size: int = 5000) -> list[ScheduledJob]:
    """Save jobs made by prepare_job() or prepare_background() in the current transaction
    (as schedule_jobs() does: ``batch_size`` rows per statement, no model signals), and hand
    those due within the look-ahead to Celery once it commits."""
    _check_publisher()
    made = insertion.insert_many(jobs, len(jobs), batch_size, router.db_for_write(ScheduledJob))
    _dispatch_soon(made)
    return made


def schedule_repeat(job: ScheduledJob) -> ScheduledJob | None:
    """The next job of repeating ``job``, saved in the current transaction (the one that
    records ``job``'s completion, so that both commit or neither): ``repeat`` seconds after
    ``job``'s slot (its scheduled time, which a retry does not move), with its arguments and
    options. None once that is past ``repeat_until``. A late run (a week, hourly) runs once,
    as django-background-tasks' did: the next job goes to the first slot of the same grid
    that is not past (the slots missed meanwhile are skipped, not run back to back)."""
    base, every = job.slot or job.time_slot_start, dt.timedelta(seconds=job.repeat)
    slot = base + every * max(1, -((base - timezone.now()) // every))  # ceil((now - base) / every)
    if job.repeat_until is not None and slot > job.repeat_until:
        return None
    expires = None
    if job.time_slot_end is not None:
        expires = slot + (job.time_slot_end - base)
    following = _new_job(
        signals.pre_init.has_listeners(ScheduledJob)
        or signals.post_init.has_listeners(ScheduledJob),
        callable_name=job.callable_name,
        args=job.args,
        kwargs=job.kwargs,
        time_slot_start=slot,
        time_slot_end=expires,
        content_type_id=job.content_type_id,
        object_id=job.object_id,
        max_attempts=job.max_attempts,
        queue=job.queue,
        priority=job.priority,
        soft_time_limit=job.soft_time_limit,
        time_limit=job.time_limit,
        verbose_name=job.verbose_name,
        creator_content_type_id=job.creator_content_type_id,
        creator_object_id=job.creator_object_id,
        repeat=job.repeat,
        repeat_until=job.repeat_until,
        slot=slot,
        repeat_of_id=job.pk,
        backoff=job.backoff,
    )
    insertion.insert(following)  # without job's unique key yet: see pass_key_on()
    _dispatch_soon([following])
    return following


def pass_key_on(job: ScheduledJob, following: ScheduledJob | None) -> None:
    """Give repeating ``job``'s unique key to its next job ``following`` (schedule_repeat()'s),
    once ``job``'s completion is written in the same transaction: one pending job at most
    holds a key, and ``job`` held it while it ran. Nothing to do for a job without a key."""
    if job.unique_key is None or following is None:
        return
    ScheduledJob.objects.filter(pk=following.pk).update(unique_key=job.unique_key)
    following.unique_key = job.unique_key


def _build(
    when: When,
    target: str | Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    *,
    context: _Context,
    base: dt.datetime | None = None,
    expires: When | None = DEFAULT,
    content_object: models.Model | None = None,
    queue: str | None = None,
    priority: int | None = None,
    max_attempts: int | None = None,
    soft_time_limit: float | None = None,
    time_limit: float | None = None,
    unique_key: str | None = None,
) -> ScheduledJob:
    run_at = timespec.resolve(when, base, context.timezone)
    if expires is DEFAULT:
        expires = context.expires
    expires_at = None if expires is None else timespec.resolve(expires, run_at, context.timezone)
    if expires_at is not None and expires_at <= run_at:
        raise InvalidExpiry(
            f"the job would expire at {expires_at.isoformat()}, at or before its scheduled "
            f"time {run_at.isoformat()}"
        )
    # The cache key: the target's name, when the name alone decides the callable.
    key = target if content_object is None and isinstance(target, str) else None
    known = context.callables.get(key) if key is not None else None
    if known is None:
        known = callables.name_of(target, content_object)
        callables.check_allowed(callables.allow_name(*known))
        if key is not None:
            context.callables[key] = known
    job = _new_job(
        context.init_signals,
        callable_name=known[0],
        args=args,
        kwargs=kwargs,
        time_slot_start=run_at,
        time_slot_end=expires_at,
        queue=options.queue(queue, context.queue),
        priority=options.priority(priority, context.priority),
        max_attempts=options.positive_int("max_attempts", max_attempts, context.max_attempts),
        soft_time_limit=options.seconds(
            "soft_time_limit", soft_time_limit, context.soft_time_limit
        ),
        time_limit=options.seconds("time_limit", time_limit, context.time_limit),
        unique_key=options.unique_key(unique_key),
    )
    if content_object is not None:
        job.content_object = content_object
        job.object_id = str(job.object_id)  # the column is text, whatever the primary key
    return job


def _new_job(init_signals: bool, **values: Any) -> ScheduledJob:
    """An unsaved job with ``values`` and every other field at its default (a batch of
    jobs makes this count). Unless something listens to the model's pre_init or
    post_init signals, it is made without Model.__init__ (see job_from_fields)."""
    defaults, made_per_job = _field_defaults()
    fields = defaults.copy()  # attname: value, in the model's field order
    fields.update(values)
    for attname, field in made_per_job:
        if attname not in values:
            fields[attname] = field.get_default()
    return job_from_fields(fields, init_signals=init_signals)


@functools.cache
def _field_defaults() -> tuple[dict[str, Any], tuple[tuple[str, models.Field], ...]]:
    """Every concrete field's default by attname, in the model's field order (what Django's
    get_default() returns each time); and the fields whose default is a callable (such as
    dict), which get_default() makes anew for each job."""
    fields = ScheduledJob._meta.concrete_fields
    made_per_job = tuple((f.attname, f) for f in fields if f.has_default() and callable(f.default))
    return {f.attname: f.get_default() for f in fields}, made_per_job


def schedule_jobs(jobs: Iterable[dict[str, Any]], batch_size: int = 5000) -> list[ScheduledJob]:
    """Schedule many jobs at once: each item is a dict of schedule_job()'s arguments
    (``when`` and ``callable`` required). If one is bad, an error names its index and
    nothing is saved. Rows are written ``batch_size`` at a time, with one COPY per batch on
    PostgreSQL (one INSERT elsewhere), in one transaction. A ``unique_key`` that a pending
    job holds, or that two of the jobs have, raises JobAlreadyScheduled naming the index
    (the batch is all or nothing: ``on_conflict`` is 'raise' only)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidOption(f"batch_size must be a whole number of at least 1, not {batch_size!r}")
    specs = list(jobs)
    using = router.db_for_write(ScheduledJob)
    keys: dict[str, int] = {}  # each unique key of the batch, and the index of its job
    _check_publisher()
    try:
        with _collector_paused(), transaction.atomic(using=using):
            # Each job is validated as its row is written; a bad one rolls back the rows
            # before it.
            made = insertion.insert_many(
                _prepared(specs, _Context.current(), keys), len(specs), batch_size, using
            )
            _dispatch_soon(made)
    except Exception as exc:
        if keys and unique_jobs.is_key_conflict(exc, connections[using]):
            raise _key_taken(keys, using) from exc
        raise
    return made


def _key_taken(keys: dict[str, int], using: str) -> JobAlreadyScheduled:
    """The error of a batch refused by the unique-key index: which job's key is taken, by
    which pending job (the batch has been rolled back)."""
    held = unique_jobs.held_keys(list(keys), using)
    key = min(held, key=keys.__getitem__) if held else None
    holder = ScheduledJob.objects.using(using).filter(pk=held[key]).first() if key else None
    error = unique_jobs.taken(key, holder)
    if key is not None:
        _name_index(error, keys[key])
    return error


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a batch (if it was on): each job adds a handful of
    objects that stay alive, so a large batch set off full collections that scanned every
    object of the process again and again (docs/performance.md). The jobs hold no
    cycles; what the rest of the process leaves meanwhile is collected once it is back on."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _name_index(exc: BaseException, index: int) -> None:
    """Make ``exc`` (raised for ``jobs[index]``) name its index, without rebuilding it (an
    exception's constructor may take other arguments): one of ours, whose only argument is
    its message, gets the index in front of it; any other, a note."""
    if isinstance(exc, FutureCeleryError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        exc.args = (f"jobs[{index}]: {exc.args[0]}",)
        if isinstance(exc, ImportError):  # its message is its msg attribute, not its args
            exc.msg = exc.args[0]
    else:
        exc.add_note(f"raised for jobs[{index}] of schedule_jobs(); nothing was saved")


def _prepared(specs: list[Any], context: _Context, keys: dict[str, int]) -> Iterator[ScheduledJob]:
    """The unsaved job of each spec, validated; the error of a bad one names its index.
    Each unique key is added to ``keys`` with its job's index (a key twice raises)."""
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise WrongOptionType(f"jobs[{index}] must be a dict of schedule_job() arguments")
        if "when" not in spec or "callable" not in spec:
            missing = "when" if "when" not in spec else "callable"
            raise WrongOptionType(f"jobs[{index}] has no {missing!r}")
        try:
            if "on_conflict" in spec:
                spec = dict(spec)
                if unique_jobs.on_conflict(spec.pop("on_conflict")) != "raise":
                    raise InvalidOption(
                        "on_conflict must be 'raise' in schedule_jobs() (a batch is saved "
                        "whole or not at all); schedule_job() takes 'existing'"
                    )
            job = prepare_job(context=context, **spec)
        except Exception as exc:
            _name_index(exc, index)
            raise
        if job.unique_key is not None:
            if job.unique_key in keys:
                raise JobAlreadyScheduled(
                    f"jobs[{index}]: unique_key {job.unique_key!r} is also that of "
                    f"jobs[{keys[job.unique_key]}]; nothing was saved",
                    key=job.unique_key,
                )
            keys[job.unique_key] = index
        yield job
