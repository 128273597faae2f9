"""The admin's forms run the same checks as the public API (future_celery.options, the
recurring schedule's): a value no broker or worker takes is a form error on the page, never
a saved row or a server error. And a property-based test of both forms: whatever is posted,
the page answers (200 with errors, or a redirect after saving) and what is saved is valid."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from future_celery import ScheduledJob, recurring, schedule_job
from future_celery.models import RecurringJob
from tests.admin_forms import job_form

pytestmark = pytest.mark.django_db


def change_url(job):
    return reverse("admin:future_celery_scheduledjob_change", args=[job.pk])


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("priority", "300", "priority must be a whole number from 0 to 255"),
        ("max_attempts", "0", "max_attempts must be a whole number from 1 to 2,147,483,647"),
        ("max_attempts", "2147483648", "2,147,483,647"),
        ("queue", "celery.pidbox", "one Celery keeps for itself"),
        ("queue", "é" * 150, "255 bytes"),
    ],
)
def test_the_job_form_refuses_what_no_broker_takes(admin_client, field, value, says):
    job = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2], priority=5)
    response = admin_client.post(change_url(job), job_form(**{field: value}))
    assert response.status_code == 200  # the form again, with the error
    assert says in response.content.decode()
    saved = ScheduledJob.objects.get(pk=job.pk)
    assert (saved.priority, saved.max_attempts, saved.queue) == (5, 1, "")


def test_the_job_form_saves_values_in_range(admin_client):
    job = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2])
    response = admin_client.post(
        change_url(job), job_form(priority="255", max_attempts="10", queue="mail")
    )
    assert response.status_code == 302
    saved = ScheduledJob.objects.get(pk=job.pk)
    assert (saved.priority, saved.max_attempts, saved.queue) == (255, 10, "mail")


def recurring_form(**changes):
    data = {
        "active": "on",
        "description": "",
        "every": "1 hour",
        "at": "",
        "cron": "",
        "timezone": "UTC",
        "catch_up": "latest",
        "overlap": "wait",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"every": "99999999999999999999 days"},
        {"every": "often"},
        {"every": "", "cron": "61 * * * *"},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_the_recurring_form_refuses_a_schedule_recurring_refuses(admin_client, changes):
    job = recurring("admin made", "proj.demo.jobs.add", every="1 hour", source="admin")
    url = reverse("admin:future_celery_recurringjob_change", args=[job.pk])
    response = admin_client.post(url, recurring_form(**changes))
    assert response.status_code == 200  # not a 500: the form, with the error
    assert 'class="errornote"' in response.content.decode()
    assert RecurringJob.objects.get(pk=job.pk).every == "1 hour"


FORMS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
posted = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    st.sampled_from(["", "0", "255", "256", "1e300", "inf", "nan", "celery.pidbox", "\x00"]),
)


@FORMS
@given(field=st.sampled_from(["priority", "max_attempts", "queue"]), value=posted)
def test_any_post_to_the_job_form_is_saved_valid_or_refused(admin_client, field, value):
    job = ScheduledJob.objects.first() or schedule_job("1h", "proj.demo.jobs.add", args=[1, 2])
    response = admin_client.post(change_url(job), job_form(**{field: value}))
    assert response.status_code in (200, 302)
    saved = ScheduledJob.objects.get(pk=job.pk)
    saved.full_clean()  # what was saved passes every check
    assert saved.priority is None or 0 <= saved.priority <= 255


@FORMS
@given(field=st.sampled_from(["every", "at", "cron", "timezone", "description"]), value=posted)
def test_any_post_to_the_recurring_form_is_saved_valid_or_refused(admin_client, field, value):
    job = RecurringJob.objects.filter(label="fuzzed").first() or recurring(
        "fuzzed", "proj.demo.jobs.add", every="1 hour", source="admin"
    )
    url = reverse("admin:future_celery_recurringjob_change", args=[job.pk])
    changes = {field: value}
    if field == "cron":
        changes["every"] = ""
    response = admin_client.post(url, recurring_form(**changes))
    assert response.status_code in (200, 302)
    assert RecurringJob.objects.get(pk=job.pk).next_slot is not None


@pytest.mark.parametrize(("setting", "shown"), [(7, "now 7"), (25, "now 25")])
def test_a_background_job_following_the_setting_says_so_on_its_form(
    admin_client, settings, setting, shown
):
    # A @background job without its own max_attempts holds the marker that means "the
    # setting, read when it fails": its form says so, with the setting's value of now.
    from future_celery import background, retries

    @background(name="tests.admin-validation.follows")
    def follows():
        pass

    job = follows()
    assert job.max_attempts == retries.FOLLOW_BACKGROUND_SETTING
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = setting
    page = admin_client.get(change_url(job)).content.decode()
    assert "FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS (" + shown + ")" in page
    own = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2], max_attempts=3)
    assert (
        "FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS"
        not in admin_client.get(change_url(own)).content.decode()
    )
