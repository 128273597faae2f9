"""proj's demo page, what `make run` serves and what users copy: staff only, every time
checked in the form, no debug pages."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import User

from future_celery import ScheduledJob, run_jobs
from tests.processes import ROOT

pytestmark = pytest.mark.django_db


def test_the_demo_page_schedules_a_job_that_the_runner_completes(admin_client):
    response = admin_client.post(
        "/", {"job": "say_hello", "when": "0s", "argument": "Grace"}, follow=True
    )
    job = ScheduledJob.objects.get()
    assert f"Scheduled job #{job.pk}" in response.content.decode()
    assert (job.callable_name, job.args) == ("proj.demo.jobs.say_hello", ["Grace"])
    run_jobs()
    page = admin_client.get(f"/admin/future_celery/scheduledjob/{job.pk}/change/").content.decode()
    assert "Hello, Grace!" in page and ">complete</span>" in page


def test_the_demo_page_has_the_admins_look(admin_client):
    page = admin_client.get("/").content.decode()
    assert "admin/css/base.css" in page and 'id="site-name"' in page
    assert '<div class="form-row field-when">' in page


def test_the_demo_page_refuses_a_bad_time(admin_client):
    response = admin_client.post("/", {"job": "say_hello", "when": "soon", "argument": "x"})
    assert "invalid time offset &#x27;soon&#x27;" in response.content.decode()
    assert not ScheduledJob.objects.exists()


def test_the_demo_page_refuses_a_time_too_far_in_the_form_not_with_a_500(admin_client):
    response = admin_client.post("/", {"job": "say_hello", "when": "999999999d", "argument": "x"})
    assert response.status_code == 200
    assert "too far in the future" in response.content.decode()
    assert not ScheduledJob.objects.exists()


@pytest.fixture
def not_staff(client):
    client.force_login(User.objects.create_user("visitor", password="pw"))
    return client


@pytest.mark.parametrize("who", ["anonymous", "not staff"])
def test_only_staff_may_schedule_or_see_the_jobs(client, not_staff, who):
    visitor = client if who == "anonymous" else not_staff
    if who == "anonymous":
        visitor.logout()
    job = ScheduledJob.objects.create(
        callable_name="proj.demo.jobs.say_hello",
        time_slot_start="2030-01-01T00:00Z",
        return_value="a secret result",
    )
    page = visitor.get("/")
    assert page.status_code == 302 and "/admin/login/" in page["Location"]
    assert visitor.post("/", {"job": "sleep", "when": "0s", "argument": "60"}).status_code == 302
    assert visitor.post("/tasks/", {"label": "x"}).status_code == 302
    assert list(ScheduledJob.objects.all()) == [job]  # nothing scheduled, nothing shown


def test_proj_serves_without_debug_pages_unless_asked():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))}
    read = [sys.executable, "-c", "import proj.settings as s; print(s.DEBUG)"]
    assert (
        subprocess.run(read, env=env, cwd=ROOT, capture_output=True, text=True).stdout == "False\n"
    )
    env["DJANGO_DEBUG"] = "1"
    assert (
        subprocess.run(read, env=env, cwd=ROOT, capture_output=True, text=True).stdout == "True\n"
    )
