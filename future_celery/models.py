"""The ScheduledJob table: one row per job, the single source of truth about it."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Q, signals
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import options
from .exceptions import AppNotLoaded

# How many distinct years, months or days the date hierarchy finds by index seeks (each a query;
# a month's days fit) before one aggregate over the rows answers instead.
DATE_SEEKS_MAX = 32


class ScheduledJobQuerySet(models.QuerySet):
    def scheduled(self) -> ScheduledJobQuerySet:
        return self.filter(status=ScheduledJob.STATUS_SCHEDULED)

    def due(self, now: dt.datetime) -> ScheduledJobQuerySet:
        """Scheduled jobs whose time has come, oldest first (one range scan of the due index)."""
        return self.scheduled().filter(time_slot_start__lte=now).order_by("time_slot_start", "id")

    def queued_due(self, now: dt.datetime) -> ScheduledJobQuerySet:
        """Jobs handed to Celery whose time has come and that no worker has started, oldest
        first (queued jobs are the few in flight: their partial index holds only them)."""
        return self.filter(status=ScheduledJob.STATUS_QUEUED, time_slot_start__lte=now).order_by(
            "time_slot_start", "id"
        )

    def overdue(self, now: dt.datetime) -> ScheduledJobQuerySet:
        """Scheduled jobs whose expiry has passed before they ran. An expiry is always after
        the scheduled time, so these are among the due ones: the due index finds them."""
        return self.scheduled().filter(time_slot_start__lte=now, time_slot_end__lte=now)

    def finished(self) -> ScheduledJobQuerySet:
        return self.filter(status__in=ScheduledJob.FINAL_STATUSES)

    def failed(self) -> ScheduledJobQuerySet:
        return self.filter(status=ScheduledJob.STATUS_FAILED)

    # A list on the fast path, not the QuerySet the stubs declare (the admin's date hierarchy
    # only iterates it).
    def dates(  # type: ignore[override]
        self,
        field_name: str,
        kind: Literal["year", "month", "week", "day"],
        order: Literal["ASC", "DESC"] = "ASC",
    ) -> models.QuerySet[Any, dt.date] | list[dt.date]:
        """The distinct years, months or days of the scheduled time (what the admin's date
        hierarchy shows), found with one index seek per value instead of a scan of every
        row: a million rows cost a few milliseconds. Past DATE_SEEKS_MAX values the seeks
        stop and one aggregate over the rows answers instead (as Django's own dates() does),
        so that jobs spread over thousands of dates cannot make a page cost a query per
        date. Other fields and kinds as Django does."""
        if field_name != "time_slot_start" or kind not in ("year", "month", "day"):
            return super().dates(field_name, kind, order)
        found = self._seek_periods(kind)
        if found is None:
            return super().dates(field_name, kind, order)
        return found if order == "ASC" else found[::-1]

    def _seek_periods(self, kind: str) -> list[dt.date] | None:
        """The distinct periods' starts, ascending, by one index seek each; None once there
        are more than DATE_SEEKS_MAX of them."""
        found: list[dt.date] = []
        unfiltered = self.order_by()
        current = unfiltered.aggregate(first=models.Min("time_slot_start"))["first"]
        while current is not None:
            if len(found) == DATE_SEEKS_MAX:
                return None
            period = _period_start(timezone.localtime(current).date(), kind)
            found.append(period)
            following = _next_period(period, kind)
            start = timezone.make_aware(dt.datetime(following.year, following.month, following.day))
            current = unfiltered.filter(time_slot_start__gte=start).aggregate(
                first=models.Min("time_slot_start")
            )["first"]
        return found

    def datetimes(  # type: ignore[override]  # a list on the fast path, as dates()
        self,
        field_name: str,
        kind: Literal["year", "month", "week", "day", "hour", "minute", "second"],
        order: Literal["ASC", "DESC"] = "ASC",
        tzinfo: dt.tzinfo | None = None,
    ) -> models.QuerySet[Any, dt.datetime] | list[dt.datetime]:
        """As :meth:`dates`, as aware datetimes at each period's start (what the admin's date
        hierarchy asks of a DateTimeField)."""
        if field_name != "time_slot_start" or kind not in ("year", "month", "day") or tzinfo:
            return super().datetimes(field_name, kind, order, tzinfo)
        found = self._seek_periods(kind)
        if found is None:
            return super().datetimes(field_name, kind, order, tzinfo)
        return [
            timezone.make_aware(dt.datetime(day.year, day.month, day.day))
            for day in (found if order == "ASC" else found[::-1])
        ]


def _priority_in_range() -> Q:
    return Q(priority__isnull=True) | Q(priority__gte=0, priority__lte=255)


def _seconds_in_range(field: str) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(
        **{f"{field}__gt": 0, f"{field}__lte": options.MAX_SECONDS}
    )


def _period_start(day: dt.date, kind: str) -> dt.date:
    if kind == "year":
        return day.replace(month=1, day=1)
    if kind == "month":
        return day.replace(day=1)
    return day


def _next_period(start: dt.date, kind: str) -> dt.date:
    if kind == "year":
        return start.replace(year=start.year + 1)
    if kind == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=1)


# Django warns on MySQL and MariaDB that they ignore the conditions of partial indexes and
# unique constraints (models.W036, W037); on them migration 0006 creates full indexes that
# stand in for ours, so the warnings would only mislead.
_STOOD_IN_FOR = {"models.W036", "models.W037"}


def _without_partial_index_warnings(messages: list[Any]) -> list[Any]:
    return [message for message in messages if message.id not in _STOOD_IN_FOR]


# The partial unique index of pending jobs' unique keys, and the statuses it holds (as
# ScheduledJob.PENDING_STATUSES; the index's condition names them once more, fixed in
# migration 0010).
UNIQUE_KEY_CONSTRAINT = "fc_one_pending_job_per_key"
PENDING = ["scheduled", "queued", "running"]


class ScheduledJob(models.Model):
    """A callable to run at a given time, with its arguments and everything that happened."""

    # django-future's status names and values, plus the states the Celery engine needs.
    STATUS_SCHEDULED = "scheduled"
    STATUS_QUEUED = "queued"
    STATUS_RUNNING = "running"
    STATUS_FAILED = "failed"
    STATUS_COMPLETE = "complete"
    STATUS_EXPIRED = "expired"
    STATUS_CANCELLED = "cancelled"
    STATUS_CHOICES = [
        (STATUS_SCHEDULED, _("scheduled")),
        (STATUS_QUEUED, _("queued")),
        (STATUS_RUNNING, _("running")),
        (STATUS_FAILED, _("failed")),
        (STATUS_COMPLETE, _("complete")),
        (STATUS_EXPIRED, _("expired")),
        (STATUS_CANCELLED, _("cancelled")),
    ]
    FINAL_STATUSES = (STATUS_COMPLETE, STATUS_FAILED, STATUS_EXPIRED, STATUS_CANCELLED)
    # The statuses of a job that has not ended: one such job at most holds a unique key. A
    # running job counts, as a retry takes it back to scheduled with its key.
    PENDING_STATUSES = (STATUS_SCHEDULED, STATUS_QUEUED, STATUS_RUNNING)
    # Repeat intervals in seconds, as django-background-tasks' Task has them.
    NEVER, HOURLY, DAILY, WEEKLY = 0, 3600, 86400, 604800
    EVERY_2_WEEKS, EVERY_4_WEEKS = 2 * WEEKLY, 4 * WEEKLY
    CANCELLABLE_STATUSES = (STATUS_SCHEDULED, STATUS_QUEUED)

    id = models.BigAutoField(primary_key=True)
    callable_name = models.CharField(_("callable name"), max_length=255)
    args = models.JSONField(_("positional arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    time_slot_start = models.DateTimeField(_("scheduled for"))
    time_slot_end = models.DateTimeField(_("expires"), null=True, blank=True)
    execution_start = models.DateTimeField(_("started"), null=True, blank=True)
    execution_end = models.DateTimeField(_("ended"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=STATUS_CHOICES, default=STATUS_SCHEDULED
    )
    error = models.TextField(_("error"), blank=True, default="")
    return_value = models.TextField(_("return value"), blank=True, default="")

    content_type = models.ForeignKey(
        ContentType,
        verbose_name=_("content type"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_index=False,  # fc_object_idx starts with it
    )
    # Text, so that objects with any primary key type (int, UUID, str) can be referenced.
    object_id = models.CharField(_("object id"), max_length=255, blank=True, default="")
    content_object = GenericForeignKey("content_type", "object_id")

    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Attempts lost with their worker (killed, out of memory, host gone): they are retried
    # without counting against max_attempts, up to FUTURE_CELERY_MAX_LOST times.
    lost = models.PositiveIntegerField(_("attempts lost with their worker"), default=0)
    # The checks of future_celery.options, as validators (forms) and constraints (any writer).
    max_attempts = models.PositiveIntegerField(
        _("max attempts"), default=1, validators=[options.validate_max_attempts]
    )
    queue = models.CharField(
        _("queue"), max_length=200, blank=True, default="", validators=[options.validate_queue]
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), null=True, blank=True, validators=[options.validate_priority]
    )
    soft_time_limit = models.FloatField(
        _("soft time limit (s)"), null=True, blank=True, validators=[options.validate_seconds]
    )
    time_limit = models.FloatField(
        _("time limit (s)"), null=True, blank=True, validators=[options.validate_seconds]
    )

    task_id = models.CharField(_("Celery task id"), max_length=255, blank=True, default="")
    # The worker's name as Celery and Flower show it (its node name, e.g. celery@host; for
    # the in-process runners, e.g. runscheduledjobs@host), and the pid of the process that
    # ran the attempt (a prefork worker's pool process).
    worker = models.CharField(_("worker"), max_length=255, blank=True, default="")
    worker_pid = models.PositiveIntegerField(_("worker process id"), null=True, blank=True)
    # When the last message of this attempt was sent, and how many were sent (a message not
    # taken up in time is sent again, under the same task id: see dispatch.republish_stale).
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    dispatches = models.PositiveIntegerField(_("messages sent"), default=0)
    heartbeat = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    rescheduled_from = models.ForeignKey(
        "self",
        verbose_name=_("rescheduled from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rescheduled_as",
        db_index=False,  # partial index below
    )
    # django-background-tasks' fields, set by @background: a name to show, who asked for the
    # job (any model), and a repeat: when the job completes, the next one is scheduled
    # ``repeat`` seconds after this one's slot (its scheduled time, which a retry does not
    # move), until ``repeat_until``. Each job has at most one next one (repeated_as).
    verbose_name = models.CharField(
        _("verbose name"), max_length=255, blank=True, default="", db_default=""
    )
    creator_content_type = models.ForeignKey(
        ContentType,
        verbose_name=_("creator type"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # fc_creator_idx starts with it
    )
    creator_object_id = models.CharField(
        _("creator id"), max_length=255, blank=True, default="", db_default=""
    )
    creator = GenericForeignKey("creator_content_type", "creator_object_id")
    repeat = models.PositiveIntegerField(
        _("repeats every (s)"), default=0, db_default=0, help_text=_("0: does not repeat")
    )
    repeat_until = models.DateTimeField(_("repeat until"), null=True, blank=True)
    slot = models.DateTimeField(_("slot"), null=True, blank=True)
    repeat_of = models.ForeignKey(
        "self",
        verbose_name=_("repeat of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="repeated_as",
        db_index=False,  # fc_one_repeat_per_job below
    )
    # The wait before a retry: "exponential" (FUTURE_CELERY_RETRY_BACKOFF, doubling) or
    # "polynomial" (django-background-tasks': attempts ** 4 + 5 seconds).
    backoff = models.CharField(
        _("retry backoff"),
        max_length=12,
        choices=[("exponential", _("exponential")), ("polynomial", _("polynomial"))],
        default="exponential",
        db_default="exponential",
    )
    # The recurring job this job is an occurrence of (its ``slot`` is the occurrence's
    # scheduled time): one row per recurring job and slot, made by the tick.
    recurring = models.ForeignKey(
        "RecurringJob",
        verbose_name=_("recurring job"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="occurrences",
        db_index=False,  # fc_one_occurrence_per_slot starts with it
    )
    # The alias of the Django Tasks backend (TASKS) this job was enqueued through, blank for
    # every other job: a Django task's row is run through future_celery.tasks_backend (its
    # TaskContext, signals and JSON return value) and read back as a TaskResult. Its
    # ``slot`` is the task's run_after (None when not deferred).
    task_backend = models.CharField(
        _("Django Tasks backend"), max_length=100, blank=True, default="", db_default=""
    )
    # At most one pending job (PENDING_STATUSES) has a given key (fc_one_pending_job_per_key);
    # None for the jobs without one, which that index then holds nothing of.
    unique_key = models.CharField(
        _("unique key"),
        max_length=options.UNIQUE_KEY_MAX_LENGTH,
        null=True,
        blank=True,
        validators=[options.validate_unique_key],
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    # Set by save(); every update() of a state change sets it too.
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScheduledJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")
        # Running a job again runs its callable with its stored arguments: not change's.
        permissions = [("rerun_scheduledjob", _("Can run scheduled jobs again"))]
        ordering = ["-time_slot_start", "-id"]
        indexes = [
            # "Scheduled jobs due by T, oldest first": one range scan of a small index.
            models.Index(
                fields=["time_slot_start", "id"],
                name="fc_due_idx",
                condition=Q(status="scheduled"),
            ),
            # Queued jobs that never started, and running jobs whose heartbeat stopped.
            models.Index(fields=["queued_at"], name="fc_queued_idx", condition=Q(status="queued")),
            models.Index(
                fields=["heartbeat"], name="fc_running_idx", condition=Q(status="running")
            ),
            # The admin: newest first, optionally filtered by status.
            models.Index(fields=["-time_slot_start", "-id"], name="fc_admin_idx"),
            models.Index(fields=["status", "-time_slot_start"], name="fc_status_idx"),
            # Only rows that have them: most jobs have no content object and are no copy, and
            # every index costs each state change of every job.
            models.Index(
                fields=["content_type", "object_id"],
                name="fc_object_idx",
                condition=Q(content_type__isnull=False),
            ),
            models.Index(
                fields=["rescheduled_from"],
                name="fc_rescheduled_idx",
                condition=Q(rescheduled_from__isnull=False),
            ),
            models.Index(
                fields=["creator_content_type", "creator_object_id"],
                name="fc_creator_idx",
                condition=Q(creator_content_type__isnull=False),
            ),
        ]
        constraints = [
            # What future_celery.options lets through, for rows written any other way (an
            # UPDATE by hand, an old version): no row can hold what no broker or worker takes.
            models.CheckConstraint(condition=_priority_in_range(), name="fc_priority_range"),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1, max_attempts__lte=options.MAX_INT),
                name="fc_max_attempts_range",
            ),
            models.CheckConstraint(
                condition=_seconds_in_range("soft_time_limit") & _seconds_in_range("time_limit"),
                name="fc_time_limits_range",
            ),
            # A repeating job has one next job, however often its completion is attempted.
            models.UniqueConstraint(
                fields=["repeat_of"],
                name="fc_one_repeat_per_job",
                condition=Q(repeat_of__isnull=False),
            ),
            # A recurring job's slot has one occurrence, whatever the beats and crashes.
            models.UniqueConstraint(
                fields=["recurring", "slot"],
                name="fc_one_occurrence_per_slot",
                condition=Q(recurring__isnull=False),
            ),
            # A unique key is held by one pending job at most (future_celery.unique_jobs).
            # Only pending rows with a key are in it: the others cost it nothing.
            models.UniqueConstraint(
                fields=["unique_key"],
                name=UNIQUE_KEY_CONSTRAINT,
                condition=Q(unique_key__isnull=False, status__in=PENDING),
            ),
        ]

    @classmethod
    def check(cls, **kwargs: Any) -> list[Any]:
        return _without_partial_index_warnings(super().check(**kwargs))

    def __repr__(self) -> str:
        return f"<ScheduledJob ({self.status}) callable={self.callable_name!r}>"

    # True on the job an @background call returns: str() is then its verbose name, else its
    # callable's name, as django-background-tasks' Task's was (see background_decorator).
    shown_as_task: bool = False

    def __str__(self) -> str:
        if self.shown_as_task:
            return self.verbose_name or self.callable_name
        return f"#{self.pk} {self.callable_name} ({self.get_status_display()})"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.execution_start and self.execution_end:
            return self.execution_end - self.execution_start
        return None

    @property
    def last_error(self) -> str:
        """The error of the last failed attempt (django-background-tasks' name for it)."""
        return self.error

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINAL_STATUSES

    # The functions behind reschedule() and cancel(), which live in the layers above the
    # model (scheduling, lifecycle): FutureCeleryConfig.ready() registers them, so that
    # this module imports neither.
    operations: ClassVar[dict[str, Callable[..., Any]]] = {}

    def reschedule(self, when: Any, **overrides: Any) -> ScheduledJob:
        """A copy of this job; a relative ``when`` counts from this job's scheduled time."""
        return self._operation("reschedule")(self, when, **overrides)

    def cancel(self) -> None:
        """Cancel a scheduled or queued job; a running or finished one raises InvalidJobState."""
        self._operation("cancel")(self)

    def _operation(self, name: str) -> Callable[..., Any]:
        try:
            return self.operations[name]
        except KeyError:
            raise AppNotLoaded(
                f"ScheduledJob.{name}() needs the future_celery app loaded: is it in "
                "INSTALLED_APPS, and has django.setup() run?"
            ) from None


class RecurringJob(models.Model):
    """A job that recurs on a schedule (every N units, a weekday at a time, or a cron
    expression, read in its time zone). Each occurrence is an ordinary ScheduledJob row
    (``occurrences``), made by the tick ahead of its slot, one per slot."""

    SOURCE_ADMIN, SOURCE_CODE, SOURCE_INI = "admin", "code", "ini"
    SOURCE_CHOICES = [
        (SOURCE_ADMIN, _("admin")),
        (SOURCE_CODE, _("code")),
        (SOURCE_INI, _("INI file")),
    ]
    CATCH_UP_CHOICES = [
        ("latest", _("run once, for the latest missed slot")),
        ("all", _("run every missed slot")),
        ("none", _("skip missed slots")),
    ]
    OVERLAP_CHOICES = [
        ("wait", _("wait for the previous occurrence")),
        ("skip", _("skip the slot")),
    ]

    id = models.BigAutoField(primary_key=True)
    label = models.CharField(_("label"), max_length=200, unique=True)
    callable_name = models.CharField(_("callable name"), max_length=255)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    description = models.TextField(_("description"), blank=True, default="")
    active = models.BooleanField(_("active"), default=True)
    queue = models.CharField(
        _("queue"), max_length=200, blank=True, default="", validators=[options.validate_queue]
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), null=True, blank=True, validators=[options.validate_priority]
    )
    every = models.CharField(_("every"), max_length=100, blank=True, default="")
    at = models.CharField(_("at"), max_length=5, blank=True, default="")
    cron = models.CharField(_("cron"), max_length=200, blank=True, default="")
    timezone = models.CharField(_("time zone"), max_length=64, blank=True, default="")
    catch_up = models.CharField(
        _("missed slots"), max_length=8, choices=CATCH_UP_CHOICES, default="latest"
    )
    overlap = models.CharField(
        _("while the previous runs"), max_length=8, choices=OVERLAP_CHOICES, default="wait"
    )
    # Seconds after its slot an occurrence expires (None: after one period of the schedule).
    expires_after = models.FloatField(
        _("expires after (s)"), null=True, blank=True, validators=[options.validate_seconds]
    )
    source = models.CharField(
        _("source"), max_length=8, choices=SOURCE_CHOICES, default=SOURCE_ADMIN
    )
    # The unique key of its occurrences: a slot whose key a pending job holds is skipped.
    unique_key = models.CharField(
        _("unique key"),
        max_length=options.UNIQUE_KEY_MAX_LENGTH,
        null=True,
        blank=True,
        validators=[options.validate_unique_key],
    )
    # superdjango's callbacks get the recurring job's primary key as ``pk`` among their
    # keyword arguments (for Activity.log); other callables get only their own.
    pass_pk = models.BooleanField(_("pass pk to the callable"), default=False)
    # The next slot without an occurrence yet: the tick makes its row once it is within the
    # look-ahead (a range of fc_recurring_due_idx), then moves this on.
    next_slot = models.DateTimeField(_("next slot"), null=True, blank=True)
    last_slot = models.DateTimeField(_("last slot made"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("recurring job")
        verbose_name_plural = _("recurring jobs")
        permissions = [("run_recurringjob", _("Can run recurring jobs now"))]
        ordering = ["label"]
        indexes = [
            models.Index(
                fields=["next_slot"], name="fc_recurring_due_idx", condition=Q(active=True)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=_priority_in_range(), name="fc_recurring_priority_range"
            ),
            models.CheckConstraint(
                condition=_seconds_in_range("expires_after"), name="fc_recurring_expiry_range"
            ),
        ]

    @classmethod
    def check(cls, **kwargs: Any) -> list[Any]:
        return _without_partial_index_warnings(super().check(**kwargs))

    def __str__(self) -> str:
        return self.label


class Worker(models.Model):
    """A running `celery worker` (its main process), as it announces itself every
    FUTURE_CELERY_HEARTBEAT_INTERVAL seconds. A row whose heartbeat is older than
    FUTURE_CELERY_HEARTBEAT_TIMEOUT is a worker that died without stopping: the tick then sends
    again the messages of the queued jobs it may have held. A worker that stops cleanly
    deletes its row (it gave its messages back to the broker)."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(_("name"), max_length=255)  # Celery's node name, e.g. celery@host
    pid = models.PositiveIntegerField(_("process id"))
    started = models.DateTimeField(_("started"))
    last_seen = models.DateTimeField(_("last heartbeat"))
    lost_at = models.DateTimeField(_("found lost"), null=True, blank=True)

    class Meta:
        verbose_name = _("Celery worker")
        verbose_name_plural = _("Celery workers")
        ordering = ["name", "-started"]

    def __str__(self) -> str:
        return f"{self.name} (pid {self.pid})"


def job_from_fields(
    fields: dict[str, Any], db: str | None = None, init_signals: bool | None = None
) -> ScheduledJob:
    """A ScheduledJob with every concrete field's attribute (``fields``: attname to value, in
    the model's field order), as ``ScheduledJob(*fields.values())`` makes it; loaded from
    ``db`` when given, as Model.from_db() marks it. Unless something listens to the model's
    pre_init or post_init signals (``init_signals``, looked up when None), it is made without
    Model.__init__, which is much faster (docs/performance.md): the worker makes one per job,
    schedule_jobs() one per row."""
    if init_signals is None:
        init_signals = signals.pre_init.has_listeners(
            ScheduledJob
        ) or signals.post_init.has_listeners(ScheduledJob)
    if init_signals:
        # The plugin checks positional arguments against the first field only (it sees one
        # dict_values argument); positional is the fast path.
        job = ScheduledJob(*fields.values())  # type: ignore[misc]
    else:
        job = ScheduledJob.__new__(ScheduledJob)
        job.__dict__.update(fields)
        job._state = ModelState()
    if db is not None:
        job._state.adding, job._state.db = False, db
    return job


def job_from_row(row: Sequence[Any], conn: Any) -> ScheduledJob:
    """The ScheduledJob of a raw row of every concrete column (in the model's field order)
    read on ``conn``, with the converters a queryset would apply (JSON, dates...)."""
    values = list(row)
    for index, converters, col in _row_converters(conn.vendor):
        for converter in converters:
            values[index] = converter(values[index], col, conn)
    return job_from_fields(dict(zip(_ATTNAMES, values, strict=True)), db=conn.alias)


_ATTNAMES = [f.attname for f in ScheduledJob._meta.concrete_fields]


@functools.cache
def _row_converters(vendor: str) -> list[tuple[int, list[Any], Any]]:
    """Per column of a raw row, the converters a queryset would apply on ``vendor``."""
    conn = connections[DEFAULT_DB_ALIAS]
    out = []
    for index, field in enumerate(ScheduledJob._meta.concrete_fields):
        col = field.get_col(ScheduledJob._meta.db_table)
        converters = conn.ops.get_db_converters(col) + field.get_db_converters(conn)
        if converters:
            out.append((index, converters, col))
    return out


def column_of(field: models.Field[Any, Any]) -> str:
    """The column of a concrete field (Django calls a field concrete when it has one)."""
    assert field.column is not None
    return field.column
