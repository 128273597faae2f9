"""The admin of scheduled jobs: watch and manage them, never create them or change what
they run (that would let an admin user run arbitrary code)."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import django
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext

from . import lifecycle, recurrence, recurring_jobs, retries, tracebacks
from .exceptions import FutureCeleryError, JobAlreadyScheduled
from .models import RecurringJob, ScheduledJob, Worker
from .pagination import EstimatedCountPaginator

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STATUS_COLOURS = {
    ScheduledJob.STATUS_SCHEDULED: "#417690",
    ScheduledJob.STATUS_QUEUED: "#b8860b",
    ScheduledJob.STATUS_RUNNING: "#d2691e",
    ScheduledJob.STATUS_COMPLETE: "#2e7d32",
    ScheduledJob.STATUS_FAILED: "#c62828",
    ScheduledJob.STATUS_EXPIRED: "#757575",
    ScheduledJob.STATUS_CANCELLED: "#757575",
}
# Django 6.0's admin labels the button of the actions menu "Run", which its own German catalog
# does not translate yet: ours does (Django merges the catalogs of all installed apps).
gettext_noop("Run")


# What an admin may change, and only while the job is still scheduled.
def _has_model_permission(request: HttpRequest, opts: Any, action: str) -> bool:
    codename = get_permission_codename(action, opts)
    return request.user.has_perm(f"{opts.app_label}.{codename}")


# The admin's own look, and before Django 6.1 (labels beside their fields) wider labels.
ADMIN_CSS = ["future_celery/admin.css"]
if django.VERSION < (6, 1):
    ADMIN_CSS.append("future_celery/admin-labels-beside.css")

EDITABLE_WHILE_SCHEDULED = ["time_slot_start", "time_slot_end", "queue", "priority", "max_attempts"]
# Of those, the times, and what shows them once they are read-only (to the second).
EDITABLE_TIMES = {"time_slot_start": "time_slot_start_time", "time_slot_end": "time_slot_end_time"}


def _shown_read_only(fields: Any) -> list[str]:
    """``fields`` with the editable times replaced by what shows them read-only."""
    return [EDITABLE_TIMES.get(name, name) for name in fields]


class ScheduledJobForm(forms.ModelForm):
    class Meta:
        model = ScheduledJob
        fields = EDITABLE_WHILE_SCHEDULED

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("max_attempts")
        if field is not None and self.instance.max_attempts == retries.FOLLOW_BACKGROUND_SETTING:
            # A @background job that follows the setting (read when it fails): say so, as
            # the number alone means nothing to an operator.
            field.help_text = _(
                "%(value)s: FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS (now %(setting)s), read "
                "when the job fails. Enter a number to give this job its own."
            ) % {
                "value": retries.FOLLOW_BACKGROUND_SETTING,
                "setting": retries.background_max_attempts(failing=True),
            }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # BaseModelForm.clean() returns self.cleaned_data
        start, end = data.get("time_slot_start"), data.get("time_slot_end")
        if start and end and end <= start:
            raise ValidationError(_("The expiry must be after the scheduled time."))
        return data


class _RecentValuesFilter(admin.SimpleListFilter):
    """Filter by a text column. Its choices are the values of the latest jobs (an index
    range, not a DISTINCT over the whole table), plus the one selected."""

    field: str
    blank_label: StrOrPromise | None = None  # the label of "", or None to leave "" out
    RECENT = 1000

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, StrOrPromise]]:
        recent = ScheduledJob.objects.order_by("-time_slot_start", "-id").values_list(
            self.field, flat=True
        )[: self.RECENT]
        values: set[str] = {value for value in recent if value or self.blank_label}
        selected = self.value()
        if selected is not None:
            values.add(selected)
        return [(value, value or self.blank_label or "") for value in sorted(values)]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ScheduledJob]
    ) -> QuerySet[ScheduledJob]:
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.field: self.value()})


class QueueFilter(_RecentValuesFilter):
    title = _("queue")
    parameter_name = field = "queue"
    blank_label = _("(default)")


class VerboseNameFilter(_RecentValuesFilter):
    """@background's verbose names."""

    title = _("verbose name")
    parameter_name = field = "verbose_name"


class RepeatFilter(admin.SimpleListFilter):
    """Repeating jobs (@background's repeat) or one-off ones."""

    title = _("repeats")
    parameter_name = "repeats"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, StrOrPromise]]:
        return [("yes", _("repeating")), ("no", _("one-off"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ScheduledJob]
    ) -> QuerySet[ScheduledJob]:
        if self.value() == "yes":
            return queryset.filter(repeat__gt=0)
        if self.value() == "no":
            return queryset.filter(repeat=0)
        return queryset


class CreatorFilter(admin.SimpleListFilter):
    """Filter by the kind of object that created the job (@background's creator)."""

    title = _("creator type")
    parameter_name = "creator_type"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, StrOrPromise]]:
        # A range of the partial index of jobs that have a creator.
        used = (
            ScheduledJob.objects.filter(creator_content_type__isnull=False)
            .order_by()
            .values_list("creator_content_type", flat=True)
            .distinct()
        )
        types = ContentType.objects.filter(pk__in=used).order_by("app_label", "model")
        return [(str(ct.pk), f"{ct.app_label}.{ct.model}") for ct in types]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ScheduledJob]
    ) -> QuerySet[ScheduledJob]:
        value = self.value()
        if value is None or not value.isdigit():
            return queryset
        return queryset.filter(creator_content_type_id=int(value))


def _time_html(
    value: dt.datetime | None, with_zone: bool = True, dated: bool = False
) -> SafeString:
    """A time in the current time zone, to the second, with the zone's name (unless
    ``with_zone`` is false); today's without the date (unless ``dated``), which the
    element's title holds. The date and the time each stay on one line. "-" for none."""
    if value is None:
        return mark_safe("-")
    local = timezone.localtime(value)
    clock = f"{local:%H:%M:%S} {local.tzname()}" if with_zone else f"{local:%H:%M:%S}"
    whole = f"{local:%Y-%m-%d} {clock}"
    if local.date() == timezone.localdate() and not dated:
        shown = format_html('<span class="fc-clock">{}</span>', clock)
    else:
        shown = format_html(
            '<span class="fc-date">{}</span> <span class="fc-clock">{}</span>',
            f"{local:%Y-%m-%d}",
            clock,
        )
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(), whole, shown)


def _time_display(model: Any, name: str) -> Any:
    """An admin display method for the DateTimeField ``name`` of ``model``: its time to the
    second with the zone and always with the date, under the field's own label (Django's
    own display of a read-only time stops at the minute)."""
    field = model._meta.get_field(name)

    @admin.display(description=field.verbose_name, ordering=name)
    def display(model_admin: Any, obj: Any) -> SafeString:
        return _time_html(getattr(obj, name), dated=True)

    return display


class _Admin(admin.ModelAdmin):
    """What the admins of future_celery's models share: their CSS, and page titles that
    start with a capital letter in every language (German's "%s zur Änderung auswählen"
    would start with the lowercase verbose name)."""

    class Media:
        css = {"all": ADMIN_CSS}

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        changelist.title = capfirst(changelist.title)
        return changelist

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context["title"] = capfirst(context.get("title"))
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(ScheduledJob)
class ScheduledJobAdmin(_Admin):
    form = ScheduledJobForm
    # Narrow enough for 1400 px beside the admin's two sidebars: a job's verbose name and
    # repeat go under its callable, its expiry under its time (while it can still expire),
    # its duration under its start; today's times without their date.
    list_display = [
        "id",
        "job_display",
        "colored_status",
        "scheduled_display",
        "started_display",
        "attempts",
        "content_object_link",
    ]
    list_display_links = ["id", "job_display"]
    list_filter = [
        "status",
        QueueFilter,
        RepeatFilter,
        VerboseNameFilter,
        CreatorFilter,
        ("unique_key", admin.EmptyFieldListFilter),
        "time_slot_start",
    ]
    date_hierarchy = "time_slot_start"
    # A job by its id or its unique key (exactly), or by its callable.
    search_fields = ["=id", "=unique_key", "callable_name"]
    ordering = ["-time_slot_start", "-id"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = ["cancel_jobs", "run_again"]
    fieldsets = [
        (
            None,
            {"fields": ["callable_name", "colored_status", "content_object_link", "unique_key"]},
        ),
        (_("Schedule"), {"fields": [*EDITABLE_WHILE_SCHEDULED, "soft_time_limit", "time_limit"]}),
        (_("Arguments"), {"fields": ["args_display", "kwargs_display"]}),
        (
            _("Execution"),
            {
                "fields": [
                    "execution_start_time",
                    "execution_end_time",
                    "duration_display",
                    "attempts",
                    "worker",
                    "worker_pid",
                    "task_id",
                    "queued_at_time",
                    "dispatches",
                    "heartbeat_time",
                ]
            },
        ),
        (_("Result"), {"fields": ["return_value_display", "error_display"]}),
        (
            _("Background task"),
            {
                "fields": [
                    "verbose_name",
                    "creator_link",
                    "repeat_display",
                    "repeat_until_time",
                    "slot_time",
                    "previous_link",
                    "next_link",
                    "backoff",
                ]
            },
        ),
        (
            _("History"),
            {
                "fields": [
                    "rescheduled_from",
                    "recurring",
                    "task_backend",
                    "created_time",
                    "updated_time",
                ],
                "classes": ["collapse"],
            },
        ),
    ]
    # Times to the second with their zone where read-only (Django's own stop at the minute);
    # the scheduled time and the expiry take the form's date and time inputs while editable.
    time_slot_start_time = _time_display(ScheduledJob, "time_slot_start")
    time_slot_end_time = _time_display(ScheduledJob, "time_slot_end")
    execution_start_time = _time_display(ScheduledJob, "execution_start")
    execution_end_time = _time_display(ScheduledJob, "execution_end")
    queued_at_time = _time_display(ScheduledJob, "queued_at")
    heartbeat_time = _time_display(ScheduledJob, "heartbeat")
    repeat_until_time = _time_display(ScheduledJob, "repeat_until")
    slot_time = _time_display(ScheduledJob, "slot")
    created_time = _time_display(ScheduledJob, "created")
    updated_time = _time_display(ScheduledJob, "updated")
    _always_readonly = [
        "callable_name",
        "unique_key",
        "colored_status",
        "content_object_link",
        "soft_time_limit",
        "time_limit",
        "args_display",
        "kwargs_display",
        "execution_start_time",
        "execution_end_time",
        "duration_display",
        "attempts",
        "worker",
        "worker_pid",
        "task_id",
        "queued_at_time",
        "dispatches",
        "heartbeat_time",
        "return_value_display",
        "error_display",
        "rescheduled_from",
        "recurring",
        "task_backend",
        "created_time",
        "updated_time",
        "verbose_name",
        "creator_link",
        "repeat_display",
        "repeat_until_time",
        "slot_time",
        "previous_link",
        "next_link",
        "backoff",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScheduledJob]:
        # One query per content type for the whole page, not one per row.
        return super().get_queryset(request).prefetch_related("content_object", "creator")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(
        self, request: HttpRequest, obj: ScheduledJob | None = None
    ) -> list[str]:
        if obj is not None and obj.status == ScheduledJob.STATUS_SCHEDULED:
            return self._always_readonly
        return self._always_readonly + _shown_read_only(EDITABLE_WHILE_SCHEDULED)

    def get_fieldsets(self, request: HttpRequest, obj: ScheduledJob | None = None) -> Any:
        if obj is not None and obj.status == ScheduledJob.STATUS_SCHEDULED:
            return self.fieldsets
        return [
            (title, {**options, "fields": _shown_read_only(options["fields"])})
            for title, options in self.fieldsets
        ]

    def save_model(
        self, request: HttpRequest, obj: ScheduledJob, form: ScheduledJobForm, change: bool
    ) -> None:
        """Write only the edited fields, and only if the job is still scheduled: a full save
        would overwrite what the engine wrote to the row meanwhile."""
        fields = [name for name in form.changed_data if name in EDITABLE_WHILE_SCHEDULED]
        if fields and not lifecycle.edit_scheduled(obj, fields):
            self.message_user(
                request, _("Not saved: the job is no longer scheduled."), messages.ERROR
            )

    @admin.display(description=_("status"), ordering="status")
    def colored_status(self, job: ScheduledJob) -> SafeString:
        return format_html(
            '<span style="color:{};font-weight:bold">{}</span>',
            STATUS_COLOURS.get(job.status, "inherit"),
            job.get_status_display(),
        )

    @admin.display(description=_("callable"), ordering="callable_name")
    def job_display(self, job: ScheduledJob) -> SafeString:
        # A dotted name may wrap after its dots, not inside a word.
        name = format_html_join(
            mark_safe(".<wbr>"), "{}", ((part,) for part in job.callable_name.split("."))
        )
        notes = [job.verbose_name] if job.verbose_name else []
        if job.unique_key is not None:
            notes.append(_("key %(key)s") % {"key": job.unique_key})
        if job.repeat:
            notes.append(_("repeats every %(interval)s") % {"interval": _seconds_text(job.repeat)})
        return format_html("{}{}", name, _note(" · ".join(str(note) for note in notes)))

    # The changelist's times to the second, with their zone: jobs seconds apart must be
    # told apart (Django's default format stops at the minute).
    @admin.display(description=_("scheduled for"), ordering="time_slot_start")
    def scheduled_display(self, job: ScheduledJob) -> SafeString:
        expiry = ""
        if job.status in ScheduledJob.CANCELLABLE_STATUSES:  # it can still expire
            expiry = format_html(
                "{} {}", _("expires"), _time_html(job.time_slot_end, with_zone=False)
            )
        return format_html("{}{}", _time_html(job.time_slot_start), _note(expiry))

    @admin.display(description=_("started"), ordering="execution_start")
    def started_display(self, job: ScheduledJob) -> SafeString:
        duration = job.duration
        took = "" if duration is None else _("took %(seconds)s") % {"seconds": _duration(duration)}
        return format_html("{}{}", _time_html(job.execution_start), _note(took))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """No Save buttons on a job that is no longer scheduled: nothing there can change."""
        job = self.get_object(request, object_id)
        if job is not None and job.status != ScheduledJob.STATUS_SCHEDULED:
            extra_context = {
                **(extra_context or {}),
                "show_save": False,
                "show_save_and_continue": False,
                "show_save_and_add_another": False,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("duration"))
    def duration_display(self, job: ScheduledJob) -> str:
        duration = job.duration
        return "-" if duration is None else _duration(duration)

    @admin.display(description=_("object"))
    def content_object_link(self, job: ScheduledJob) -> str:
        if not job.content_type_id:
            return "-"
        return _object_link(job.content_object)

    @admin.display(description=_("repeats every"), ordering="repeat")
    def repeat_display(self, job: ScheduledJob) -> str:
        return _seconds_text(job.repeat) if job.repeat else "-"

    @admin.display(description=_("creator"))
    def creator_link(self, job: ScheduledJob) -> str:
        if not job.creator_content_type_id:
            return "-"
        return _object_link(job.creator)

    @admin.display(description=_("previous in its repeat"))
    def previous_link(self, job: ScheduledJob) -> str:
        return _job_link(job.repeat_of) if job.repeat_of is not None else "-"

    @admin.display(description=_("next in its repeat"))
    def next_link(self, job: ScheduledJob) -> str:
        following = job.repeated_as.first()
        return _job_link(following) if following else "-"

    @admin.display(description=_("positional arguments"))
    def args_display(self, job: ScheduledJob) -> SafeString:
        return _pre(json.dumps(job.args, indent=2, ensure_ascii=False))

    @admin.display(description=_("keyword arguments"))
    def kwargs_display(self, job: ScheduledJob) -> SafeString:
        return _pre(json.dumps(job.kwargs, indent=2, ensure_ascii=False))

    @admin.display(description=_("return value"))
    def return_value_display(self, job: ScheduledJob) -> str:
        return _pre(job.return_value) if job.return_value else "-"

    @admin.display(description=_("error"))
    def error_display(self, job: ScheduledJob) -> str:
        if not job.error:
            return "-"
        own = tracebacks.own_frames(job.error)
        if own is None:  # not a traceback, or none of its frames is the job's own code
            return _pre(job.error)
        return format_html(
            "{}<details><summary>{}</summary>{}</details>",
            _pre(own),
            _("The whole traceback, with Celery's and future_celery's frames"),
            _pre(job.error),
        )

    @admin.action(description=_("Cancel selected jobs"), permissions=["change"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[ScheduledJob]) -> None:
        cancelled = 0
        for job in queryset.filter(status__in=ScheduledJob.CANCELLABLE_STATUSES):
            try:
                lifecycle.cancel(job)
                cancelled += 1
            except FutureCeleryError:
                pass  # it started or finished meanwhile
        skipped = queryset.count() - cancelled
        self.message_user(
            request,
            ngettext("%(count)d job cancelled.", "%(count)d jobs cancelled.", cancelled)
            % {"count": cancelled},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d job was not cancelled: only scheduled or queued jobs can be.",
                    "%(count)d jobs were not cancelled: only scheduled or queued jobs can be.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    def has_rerun_permission(self, request: HttpRequest) -> bool:
        """Running a job again runs its callable with its stored arguments: a permission of
        its own (future_celery.rerun_scheduledjob), not change's."""
        return _has_model_permission(request, self.opts, "rerun")

    @admin.action(description=_("Run selected jobs again (a copy, due now)"), permissions=["rerun"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[ScheduledJob]) -> None:
        created = 0
        for job in queryset:
            try:
                # Its own expiry after its time, as the original had (none for the doors
                # whose jobs never expire), not reschedule()'s default.
                expires = (
                    None if job.time_slot_end is None else job.time_slot_end - job.time_slot_start
                )
                job.reschedule(timezone.now(), expires=expires)
                created += 1
            except Exception as exc:  # e.g. its content object was deleted
                self.message_user(
                    request,
                    _("Job #%(id)s was not copied: %(error)s") % {"id": job.pk, "error": exc},
                    messages.ERROR,
                )
        if created:
            self.message_user(
                request,
                ngettext(
                    "%(count)d job scheduled to run again.",
                    "%(count)d jobs scheduled to run again.",
                    created,
                )
                % {"count": created},
                messages.SUCCESS,
            )


def _pre(text: str) -> SafeString:
    return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', text)


# What the admin may change of a recurring job: never its callable or arguments (that would
# let an admin user run arbitrary code). Defined in code or in the INI file, only ``active``.
RECURRING_SCHEDULE_FIELDS = ["every", "at", "cron", "timezone", "catch_up", "overlap"]


class RecurringJobForm(forms.ModelForm):
    class Meta:
        model = RecurringJob
        fields = ["active", "description", *RECURRING_SCHEDULE_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if self.instance.source == RecurringJob.SOURCE_ADMIN:
            try:
                recurring_jobs.checked_schedule(
                    every=data.get("every") or None,
                    at=data.get("at") or None,
                    cron=data.get("cron") or None,
                    tz=data.get("timezone") or None,
                )
            except FutureCeleryError as exc:
                raise ValidationError(str(exc)) from exc
        return data


@admin.register(RecurringJob)
class RecurringJobAdmin(_Admin):
    form = RecurringJobForm
    list_display = [
        "label",
        "schedule_display",
        "active",
        "next_slot_time",
        "last_runs",
        "source",
        "callable_name",
    ]
    list_filter = ["active", "source"]
    search_fields = ["label", "callable_name"]
    actions = ["enable", "disable", "run_now"]
    readonly_fields = [
        "label",
        "callable_name",
        "kwargs_display",
        "source",
        "schedule_display",
        "unique_key",
        "next_slot_time",
        "last_slot_time",
        "last_runs",
        "created_time",
        "updated_time",
    ]
    next_slot_time = _time_display(RecurringJob, "next_slot")
    last_slot_time = _time_display(RecurringJob, "last_slot")
    created_time = _time_display(RecurringJob, "created")
    updated_time = _time_display(RecurringJob, "updated")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # defined in code, in the INI file, or with recurring()

    def get_readonly_fields(
        self, request: HttpRequest, obj: RecurringJob | None = None
    ) -> list[str]:
        if obj is not None and obj.source == RecurringJob.SOURCE_ADMIN:
            return self.readonly_fields
        return [*self.readonly_fields, "description", *RECURRING_SCHEDULE_FIELDS]

    def save_model(
        self, request: HttpRequest, obj: RecurringJob, form: forms.ModelForm, change: bool
    ) -> None:
        """Enabling or disabling goes through recurring_jobs.set_active; a schedule edited here
        moves the next slot to the new schedule's next one after now."""
        changed = set(form.changed_data)
        if changed & {"description", *RECURRING_SCHEDULE_FIELDS}:
            recurring_jobs.recurring(
                obj.label,
                obj.callable_name,
                every=obj.every or None,
                at=obj.at or None,
                cron=obj.cron or None,
                kwargs=obj.kwargs,
                description=obj.description,
                active=obj.active,
                queue=obj.queue or None,
                priority=obj.priority,
                tz=obj.timezone or None,
                catch_up=obj.catch_up,
                overlap=obj.overlap,
                expires_after=obj.expires_after,
                source=obj.source,
                pass_pk=obj.pass_pk,
                unique_key=obj.unique_key,
            )
        elif "active" in changed:
            recurring_jobs.set_active(obj, obj.active)

    @admin.display(description=_("schedule"))
    def schedule_display(self, job: RecurringJob) -> str:
        return recurrence.describe(recurring_jobs.rule_of(job))

    @admin.display(description=_("keyword arguments"))
    def kwargs_display(self, job: RecurringJob) -> SafeString:
        return _pre(json.dumps(job.kwargs, indent=2, ensure_ascii=False))

    @admin.display(description=_("last runs"))
    def last_runs(self, job: RecurringJob) -> str:
        recent = ScheduledJob.objects.filter(recurring=job).order_by("-slot")[:5]
        links = [_job_link(occurrence) for occurrence in recent]
        if not links:
            return "-"
        return format_html(
            '{} <a href="{}?recurring__exact={}">{}</a>',
            format_html(", ".join(["{}"] * len(links)), *links),
            reverse("admin:future_celery_scheduledjob_changelist"),
            job.pk,
            _("all"),
        )

    @admin.action(description=_("Enable selected recurring jobs"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[RecurringJob]) -> None:
        for job in queryset.filter(active=False):
            recurring_jobs.set_active(job, True)
        self.message_user(request, _("Enabled."), messages.SUCCESS)

    @admin.action(description=_("Disable selected recurring jobs"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[RecurringJob]) -> None:
        for job in queryset.filter(active=True):
            recurring_jobs.set_active(job, False)
        self.message_user(request, _("Disabled."), messages.SUCCESS)

    def has_run_permission(self, request: HttpRequest) -> bool:
        """Running a recurring job now runs its callable: a permission of its own
        (future_celery.run_recurringjob), not change's."""
        return _has_model_permission(request, self.opts, "run")

    @admin.action(description=_("Run selected recurring jobs now"), permissions=["run"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[RecurringJob]) -> None:
        inactive = queryset.filter(active=False).count()
        if inactive:
            self.message_user(
                request,
                ngettext(
                    "%(count)d disabled recurring job was not run: enable it first.",
                    "%(count)d disabled recurring jobs were not run: enable them first.",
                    inactive,
                )
                % {"count": inactive},
                messages.WARNING,
            )
        made = []
        for job in queryset.filter(active=True):
            try:
                made.append(recurring_jobs.run_now(job))
            except JobAlreadyScheduled as exc:  # its unique key is held by a pending job
                self.message_user(
                    request,
                    _("%(job)s was not run: %(error)s") % {"job": job, "error": exc},
                    messages.ERROR,
                )
        self.message_user(
            request,
            ngettext(
                "%(count)d job scheduled to run now.",
                "%(count)d jobs scheduled to run now.",
                len(made),
            )
            % {"count": len(made)},
            messages.SUCCESS,
        )


@admin.register(Worker)
class WorkerAdmin(_Admin):
    """The Celery workers that announce themselves: read only (the workers write the rows)."""

    list_display = ["name", "pid", "started_time", "last_seen_time", "lost_at_time"]
    list_filter = [("lost_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["name", "pid", "started_time", "last_seen_time", "lost_at_time"]
    started_time = _time_display(Worker, "started")
    last_seen_time = _time_display(Worker, "last_seen")
    lost_at_time = _time_display(Worker, "lost_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        return False


def _object_link(obj: Any) -> str:
    """A link to ``obj``'s admin page (its text where it has none; "deleted" if gone)."""
    if obj is None:
        return format_html("<em>{}</em>", _("deleted"))
    try:
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(obj)
    return format_html('<a href="{}">{}</a>', url, obj)


def _job_link(job: ScheduledJob) -> str:
    url = reverse("admin:future_celery_scheduledjob_change", args=[job.pk])
    return format_html('<a href="{}">#{} ({})</a>', url, job.pk, job.get_status_display())


def _seconds_text(seconds: int) -> str:
    """'2 s', '1 h', '1 d 12 h': a repeat interval as people read it."""
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count} {unit}")
    return " ".join(parts)


def _note(text: str) -> SafeString:
    """A second, quieter line in a changelist cell (nothing for no text)."""
    return format_html('<span class="fc-note">{}</span>', text) if text else mark_safe("")


def _duration(duration: dt.timedelta) -> str:
    """'0.012 s', '12.3 s', '2 min 5 s': a job's run time to the millisecond when short."""
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.3f} s"
    return _seconds_text(round(seconds))
