"""The demo page: schedule one of the example jobs and see the latest jobs."""

from django import forms
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from future_celery import ScheduledJob, schedule_job
from future_celery.admin import STATUS_COLOURS

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
        from future_celery.timespec import parse_offset

        when = self.cleaned_data["when"].strip()
        try:
            parse_offset(when)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return when


def _seconds(text):
    try:
        return min(float(text), 60.0)
    except ValueError:
        return 1.0


def index(request):
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        args = {"say_hello": [data["argument"]], "sleep": [_seconds(data["argument"])]}.get(
            data["job"], []
        )
        job = schedule_job(data["when"], JOBS[data["job"]], args=args)
        messages.success(
            request,
            f"Scheduled job #{job.pk} ({job.callable_name}) for {job.time_slot_start:%H:%M:%S} UTC.",
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
