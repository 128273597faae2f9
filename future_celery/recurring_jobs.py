"""Recurring jobs: each occurrence is an ordinary ScheduledJob row, made by the tick ahead of
its slot, one per (recurring job, slot), so it runs once, shows in the admin with its result,
and survives any crash a one-off job survives.

A recurring job has at most one occurrence that has not finished: the tick makes the next
one once the previous has finished (or at once, when the previous is only late and the job
skips overlapping slots). Slots missed while nothing ticked (beat down) follow the job's
``catch_up``: 'latest' runs once for the latest missed slot, 'all' runs each missed slot in
turn, 'none' skips them. A recurring job with a ``unique_key`` gives it to its occurrences:
a slot that comes while another pending job holds the key is skipped. The schedule
arithmetic is in future_celery.recurrence."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import callables, conf, insertion, options, recurrence, serialization, unique_jobs
from .exceptions import WrongOptionType
from .models import RecurringJob, ScheduledJob

logger = logging.getLogger(__name__)

UNFINISHED = (
    ScheduledJob.STATUS_SCHEDULED,
    ScheduledJob.STATUS_QUEUED,
    ScheduledJob.STATUS_RUNNING,
)
CATCH_UPS = ("latest", "all", "none")
OVERLAPS = ("wait", "skip")


def recurring(
    label: str,
    callable: str | Callable[..., Any],
    *,
    every: str | int | None = None,
    at: str | None = None,
    cron: str | None = None,
    kwargs: dict[str, Any] | None = None,
    description: str = "",
    active: bool = True,
    queue: str | None = None,
    priority: int | None = None,
    tz: str | None = None,
    catch_up: str = "latest",
    overlap: str = "wait",
    expires_after: float | None = None,
    source: str = RecurringJob.SOURCE_CODE,
    pass_pk: bool = False,
    unique_key: str | None = None,
) -> RecurringJob:
    """Create or update (by ``label``) the recurring job that runs ``callable`` with
    ``kwargs`` on a schedule: ``every`` ('10 minutes', '2 days', 'sunday', '10m', seconds),
    with ``at`` ('23:30') for daily, weekly and weekday schedules, or a five-field ``cron``
    expression, read in time zone ``tz`` (default TIME_ZONE). Idempotent: calling it again
    with the same arguments changes nothing, and its next slot moves only when its schedule
    changed. With a ``unique_key``, its occurrences have it: a slot that comes while a
    pending job holds the key is skipped. Bad input raises and saves nothing."""
    if not isinstance(label, str) or not label.strip():
        raise WrongOptionType(f"label must be a non-empty string, not {label!r}")
    options.text("label", label, RecurringJob._meta.get_field("label").max_length)
    options.text("description", description)
    name, _ = callables.name_of(callable)
    callables.check_allowed(name)
    rule = checked_schedule(every=every, at=at, cron=cron, tz=tz)
    _, encoded = serialization.encode_call((), kwargs)
    options.one_of("catch_up", catch_up, CATCH_UPS)
    options.one_of("overlap", overlap, OVERLAPS)
    options.one_of("source", source, dict(RecurringJob.SOURCE_CHOICES))
    queue = options.queue(queue, None)
    priority = options.priority(priority, None)
    expires_after = options.seconds("expires_after", expires_after, None)
    unique_key = options.unique_key(unique_key)
    spec = recurrence.to_spec(rule)
    values = {
        "callable_name": name,
        "kwargs": encoded,
        "description": description,
        "active": bool(active),
        "queue": queue,
        "priority": priority,
        "every": spec.get("every", ""),
        "at": spec.get("at", ""),
        "cron": spec.get("cron", ""),
        "timezone": spec.get("tz", ""),
        "catch_up": catch_up,
        "overlap": overlap,
        "expires_after": expires_after,
        "source": source,
        "pass_pk": pass_pk,
        "unique_key": unique_key,
    }
    with transaction.atomic():
        job = RecurringJob.objects.select_for_update().filter(label=label).first()
        if job is None:
            job = RecurringJob(label=label, **values)
            job.next_slot = recurrence.next_slot(rule, timezone.now())
            job.save()
            return job
        schedule_changed = rule != rule_of(job)
        changed = {name: value for name, value in values.items() if getattr(job, name) != value}
        if not changed:
            return job
        for field, value in changed.items():
            setattr(job, field, value)
        fields = [*changed, "updated"]
        if schedule_changed or (changed.get("active") and job.next_slot is None):
            job.next_slot = recurrence.next_slot(rule, timezone.now())
            fields.append("next_slot")
        job.save(update_fields=fields)
        return job


def periodic(
    every: str | int | None = None,
    *,
    at: str | None = None,
    cron: str | None = None,
    label: str | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@periodic(every='10m')`` on a function of a tasks module: a recurring job (labelled
    with the function's dotted path unless ``label``), saved or updated by sync_periodic()
    when celery beat starts (and by ``manage.py scheduler_discover_jobs``). The function
    itself is returned unchanged. The schedule is checked at once."""
    recurrence.parse(every=every, at=at, cron=cron, tz=options.get("tz"))

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        path = callables.path_of_decorated(func)
        _periodic[label or path] = (path, {"every": every, "at": at, "cron": cron, **options})
        return func

    return register


_periodic: dict[str, tuple[str, dict[str, Any]]] = {}


def sync_periodic() -> list[RecurringJob]:
    """Save the recurring jobs of every @periodic function of the installed apps' tasks
    modules (imported now if they were not)."""
    callables.discover()
    return [recurring(label, path, **options) for label, (path, options) in _periodic.items()]


_loaders: list[Callable[[], object]] = []


def add_loader(loader: Callable[[], object]) -> None:
    """Have sync_all() call ``loader`` (once, however often it is added): how
    future_celery.scheduler saves its registry's and INI file's jobs when celery beat starts,
    without this module knowing it."""
    if loader not in _loaders:
        _loaders.append(loader)


def sync_all() -> None:
    """Save every recurring job defined outside the database: the @periodic functions, then
    what each loader added with add_loader() saves. Called when celery beat starts."""
    sync_periodic()
    for loader in _loaders:
        loader()


@functools.lru_cache(maxsize=4096)
def _rule(every: str, at: str, cron: str, tz: str) -> recurrence.Recurrence:
    return recurrence.parse(every=every or None, at=at or None, cron=cron or None, tz=tz or None)


def checked_schedule(
    *, every: str | int | None, at: str | None, cron: str | None, tz: str | None
) -> recurrence.Recurrence:
    """The schedule ``recurring()`` and the admin's form take, read and checked: it must have
    a next slot (after now, before year 10,000). InvalidRecurrence otherwise."""
    rule = recurrence.parse(every=every, at=at, cron=cron, tz=tz)
    recurrence.next_slot(rule, timezone.now())
    return rule


def rule_of(job: RecurringJob) -> recurrence.Recurrence:
    """The schedule of a recurring job's row."""
    return _rule(job.every, job.at, job.cron, job.timezone)


def make_occurrences(now: dt.datetime | None = None) -> int:
    """The tick's step: for each active recurring job whose next slot is within the look-ahead
    (a range of fc_recurring_due_idx: the cost follows the jobs due, not all of them), make
    the occurrence due, per its catch_up and overlap, and move its next slot on. Rows
    another tick holds are skipped; the unique (recurring job, slot) constraint makes a slot's
    row once, whatever else happens. Returns the number of occurrences made."""
    now = now or timezone.now()
    horizon = now + dt.timedelta(seconds=conf.get("LOOKAHEAD"))
    due = RecurringJob.objects.filter(active=True, next_slot__lte=horizon)
    if not due.exists():  # the usual tick: one index probe, no transaction
        return 0
    size = conf.get("DISPATCH_BATCH_SIZE")
    made, after = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                due.filter(pk__gt=after).select_for_update(skip_locked=True).order_by("pk")[:size]
            )
            occurrences = [o for job in batch if (o := _advance(job, now, horizon)) is not None]
            ScheduledJob.objects.bulk_create(occurrences, ignore_conflicts=True)
        made += len(occurrences)
        if len(batch) < size:
            return made
        after = batch[-1].pk


def _advance(job: RecurringJob, now: dt.datetime, horizon: dt.datetime) -> ScheduledJob | None:
    """The occurrence to make for ``job`` now, if any, with ``job``'s slots moved on (saved).
    None while its previous occurrence has not finished (overlap 'wait'), or when the due
    slots are skipped (overlap 'skip', catch_up 'none')."""
    rule = rule_of(job)
    slot = job.next_slot
    assert slot is not None  # the query selects jobs with a next slot
    tolerance = dt.timedelta(seconds=2 * conf.get("TICK_INTERVAL"))
    if _previous_unfinished(job):
        if job.overlap == "wait" or slot > now:
            return None  # made again once the previous one has finished
        skipped = _latest_at_or_before(rule, slot, now)
        job.next_slot = recurrence.next_slot(rule, skipped)
        job.save(update_fields=["next_slot", "updated"])
        logger.info("Recurring job %s: slot %s skipped, its previous run still runs", job, skipped)
        return None
    if slot < now - tolerance:  # missed while nothing ticked
        if job.catch_up == "latest":
            slot = _latest_at_or_before(rule, slot, now)
        elif job.catch_up == "none":
            slot = recurrence.next_slot(rule, now - tolerance)
            if slot > horizon:
                job.next_slot = slot
                job.save(update_fields=["next_slot", "updated"])
                return None
    if job.unique_key is not None and unique_jobs.pending_holder(job.unique_key) is not None:
        # The key is taken (by another job: this one's previous occurrence has ended): the
        # slot is skipped, as a second job with the key is refused. The unique index holds
        # this too if the key is taken meanwhile (bulk_create ignores that conflict).
        job.next_slot = recurrence.next_slot(rule, slot)
        job.save(update_fields=["next_slot", "updated"])
        logger.info(
            "Recurring job %s: slot %s skipped, a pending job holds its unique key", job, slot
        )
        return None
    job.next_slot, job.last_slot = recurrence.next_slot(rule, slot), slot
    job.save(update_fields=["next_slot", "last_slot", "updated"])
    return occurrence(job, slot, rule)


def _latest_at_or_before(
    rule: recurrence.Recurrence, first: dt.datetime, now: dt.datetime
) -> dt.datetime:
    """The latest slot from ``first`` up to ``now`` (``first`` itself if it is the only one)."""
    latest = first
    for slot in recurrence.slots(rule, first, now):
        latest = slot
    return latest


def _previous_unfinished(job: RecurringJob) -> bool:
    """Whether the last occurrence made has not finished (one probe of the unique index)."""
    if job.last_slot is None:
        return False
    return ScheduledJob.objects.filter(
        recurring=job, slot=job.last_slot, status__in=UNFINISHED
    ).exists()


def occurrence(
    job: RecurringJob, slot: dt.datetime, rule: recurrence.Recurrence | None = None
) -> ScheduledJob:
    """The (unsaved) occurrence of ``job`` at ``slot``: due then, expiring after
    ``expires_after`` or one period of the schedule."""
    rule = rule or rule_of(job)
    expires = job.expires_after or recurrence.period(rule).total_seconds()
    kwargs = dict(job.kwargs, pk=job.pk) if job.pass_pk else job.kwargs
    return ScheduledJob(
        callable_name=job.callable_name,
        args=[],
        kwargs=kwargs,
        time_slot_start=slot,
        time_slot_end=slot + dt.timedelta(seconds=expires),
        queue=job.queue,
        priority=job.priority,
        max_attempts=conf.get("MAX_ATTEMPTS"),
        verbose_name=job.label[:255],
        recurring=job,
        slot=slot,
        unique_key=job.unique_key,
    )


def run_now(job: RecurringJob) -> ScheduledJob:
    """An extra occurrence of ``job``, due now (the admin's "run now": the next tick hands it
    to Celery); its slot is now, so it does not take the place of a scheduled one. With a
    unique key a pending job holds, JobAlreadyScheduled is raised and nothing is saved."""
    extra = occurrence(job, timezone.now())
    if extra.unique_key is None:
        insertion.insert(extra)
        return extra
    return unique_jobs.insert(extra, "raise")


def set_active(job: RecurringJob, active: bool) -> None:
    """Enable or disable ``job``. Enabled again, it runs from its next slot after now (the
    slots it missed while disabled are not caught up)."""
    fields = ["active", "updated"]
    job.active = active
    if active:
        job.next_slot = recurrence.next_slot(rule_of(job), timezone.now())
        fields.append("next_slot")
    job.save(update_fields=fields)
