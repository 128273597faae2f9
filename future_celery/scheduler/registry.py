"""superdjango's registry: ``schedule.register('myapp', callback, every='5 minutes')`` in an
app's ``scheduler`` module (FUTURE_CELERY_SCHEDULER_MODULE_NAME). Registering only records
the job in memory; discover() imports those modules and saves the jobs as RecurringJob rows
(source 'code', the callback getting ``pk``): ``manage.py scheduler_discover_jobs``, the start
of celery beat and ``manage.py scheduler_run_jobs`` call it, never an import."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from django.utils.module_loading import autodiscover_modules

from .. import callables, conf, recurrence, recurring_jobs
from ..exceptions import InvalidOption
from ..models import RecurringJob

# The schedule of a job registered without one (superdjango's registry takes none): daily at
# midnight, and inactive until enabled in the admin (or registered with active=True).
DEFAULT_EVERY = "1 day"


@dataclasses.dataclass(frozen=True)
class RegisteredJob:
    """A job of the registry, as register() was given it (checked)."""

    app_label: str
    label: str
    callable: str
    every: str | int | None
    at: str | None
    cron: str | None
    active: bool | None  # None: keep the saved job's, or active only if given a schedule
    description: str
    kwargs: dict[str, Any]
    options: dict[str, Any]
    scheduled: bool  # given a schedule (else DEFAULT_EVERY)


class Schedule:
    """The registry of the jobs that apps' scheduler modules register (``schedule``)."""

    def __init__(self) -> None:
        self._jobs: dict[str, RegisteredJob] = {}

    def register(
        self,
        app_label: str,
        callback: str | Callable[..., Any],
        *,
        label: str | None = None,
        every: str | int | None = None,
        at: str | None = None,
        cron: str | None = None,
        active: bool | None = None,
        description: str | None = None,
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> RegisteredJob:
        """Record ``callback`` (a module-level function, or its dotted path) as a job of
        ``app_label``, labelled ``label`` (default: its name with spaces, as in superdjango's
        examples) and described by ``description`` (default: its docstring). ``options`` are
        recurring()'s (tz, queue, priority, catch_up, overlap, expires_after). Without a
        schedule it runs daily at midnight and is saved inactive. Checked now; saved by
        discover()."""
        if isinstance(callback, str):
            path, func = callback, callables.resolve_path(callback)
        else:
            path, func = callables.path_of(callback), callback
        scheduled = every is not None or cron is not None
        if not scheduled:
            every = DEFAULT_EVERY
        recurrence.parse(every=every, at=at, cron=cron, tz=options.get("tz"))
        label = label or path.rsplit(".", 1)[-1].replace("_", " ")
        known = self._jobs.get(label)
        if known is not None and known.callable != path:
            raise InvalidOption(
                f"two jobs are registered as {label!r}: {known.callable} and {path}; "
                "give one of them another label"
            )
        job = RegisteredJob(
            app_label=app_label,
            label=label,
            callable=path,
            every=every,
            at=at,
            cron=cron,
            active=active,
            description=(inspect.getdoc(func) or "") if description is None else description,
            kwargs=dict(kwargs or {}),
            options=options,
            scheduled=scheduled,
        )
        self._jobs[label] = job
        return job

    def unregister(self, label: str) -> None:
        """Forget the job registered as ``label`` (its saved row, if any, stays)."""
        self._jobs.pop(label, None)

    def __iter__(self) -> Iterator[RegisteredJob]:
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

    def save(self) -> list[RecurringJob]:
        """Save every registered job as a recurring job (idempotent, by label). A job
        registered without ``active`` keeps what the admin set on its saved row."""
        saved = []
        for job in self:
            active = job.active
            if active is None:
                row = RecurringJob.objects.filter(label=job.label).only("active").first()
                active = row.active if row is not None else job.scheduled
            saved.append(save(job, RecurringJob.SOURCE_CODE, active))
        return saved


schedule = Schedule()


def autodiscover() -> None:
    """Import the scheduler module (FUTURE_CELERY_SCHEDULER_MODULE_NAME) of every installed
    app, whose register() calls fill ``schedule``."""
    autodiscover_modules(conf.get("SCHEDULER_MODULE_NAME"))


def discover() -> list[RecurringJob]:
    """autodiscover(), then save the registry's jobs."""
    autodiscover()
    return schedule.save()


class JobSpec(Protocol):
    """A job of the scheduler as the registry or the INI file gives it."""

    @property
    def label(self) -> str: ...
    @property
    def callable(self) -> str: ...
    @property
    def every(self) -> str | int | None: ...
    @property
    def at(self) -> str | None: ...
    @property
    def cron(self) -> str | None: ...
    @property
    def description(self) -> str: ...
    @property
    def kwargs(self) -> dict[str, Any]: ...
    @property
    def options(self) -> dict[str, Any]: ...


def save(job: JobSpec, source: str, active: bool) -> RecurringJob:
    """Save ``job`` as a recurring job from ``source`` (by label; its callback gets the
    recurring job's ``pk``, as superdjango's did)."""
    return recurring_jobs.recurring(
        job.label,
        job.callable,
        every=job.every,
        at=job.at,
        cron=job.cron,
        kwargs=job.kwargs,
        description=job.description,
        active=active,
        source=source,
        pass_pk=True,
        **job.options,
    )
