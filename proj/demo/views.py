"""The demo page: schedule one of the example jobs and see the latest jobs. Staff only (the
admin login `make run` prints): scheduling runs code on the workers, and the list shows every
recent job's result and error."""

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from future_celery import ScheduledJob, schedule_job
from future_celery.admin import STATUS_COLOURS
from future_celery.exceptions import FutureCeleryError

JOBS = {
    "say_hello": "proj.demo.jobs.say_hello",
    "sleep": "proj.demo.jobs.sleep",
    "boom": "proj.demo.jobs.boom",
}


class ScheduleForm(forms.Form):
    job = forms.ChoiceField(choices=[(key, path) for key, path in JOBS.items()])
    when = forms.CharField(initial="10s", help_text="An offset: 0s, 30s, 5m, 1h, 1d12h ...")
    argument = forms.CharField(initial="world", required=False)

    def clean_when(self):
        """The whole time, as schedule_job will resolve it (an offset too far for a date is
        refused here, with the form, not later)."""
        from future_celery.timespec import resolve

        when = self.cleaned_data["when"].strip()
        try:
            resolve(when, None, timezone.get_current_timezone())
        except FutureCeleryError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return when


def _seconds(text):
    try:
        return min(float(text), 60.0)
    except ValueError:
        return 1.0


@staff_member_required
def index(request):
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        args = {"say_hello": [data["argument"]], "sleep": [_seconds(data["argument"])]}.get(
            data["job"], []
        )
        try:
            job = schedule_job(data["when"], JOBS[data["job"]], args=args)
        except FutureCeleryError as exc:  # what the form could not foresee: shown, not a 500
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Scheduled job #{job.pk} ({job.callable_name}) for "
                f"{job.time_slot_start:%H:%M:%S} UTC.",
            )
            return redirect("demo:index")
    jobs = list(ScheduledJob.objects.order_by("-id")[:20])
    for job in jobs:
        job.colour = STATUS_COLOURS.get(job.status, "inherit")
    # admin/base_site.html, which the page extends, shows the user links to staff only.
    user = request.user
    context = {
        "form": form,
        "jobs": jobs,
        "title": "Schedule a job",
        "has_permission": user.is_active and user.is_staff,
    }
    return render(request, "demo/index.html", context)


@staff_member_required
@require_POST
def enqueue_tasks(request):
    """Enqueue each of the demo's Django tasks once; their result ids, by task."""
    from . import django_tasks

    label = request.POST.get("label", "demo")
    results = {
        "add": django_tasks.add.enqueue(2, 3),
        "greet": django_tasks.greet.enqueue("Ada"),
        "report_attempt": django_tasks.report_attempt.enqueue(label),
        "fail": django_tasks.fail.enqueue(label),
    }
    return JsonResponse({name: result.id for name, result in results.items()})
