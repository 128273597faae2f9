import pytest

from future_celery import ScheduledJob, run_jobs

pytestmark = pytest.mark.django_db


def test_the_demo_page_schedules_a_job_that_the_runner_completes(client, admin_client):
    response = client.post(
        "/", {"job": "say_hello", "when": "0s", "argument": "Grace"}, follow=True
    )
    job = ScheduledJob.objects.get()
    assert f"Scheduled job #{job.pk}" in response.content.decode()
    assert (job.callable_name, job.args) == ("proj.demo.jobs.say_hello", ["Grace"])
    run_jobs()
    page = admin_client.get(f"/admin/future_celery/scheduledjob/{job.pk}/change/").content.decode()
    assert "Hello, Grace!" in page and ">complete</span>" in page


def test_the_demo_page_has_the_admins_look(client):
    page = client.get("/").content.decode()
    assert "admin/css/base.css" in page and 'id="site-name"' in page
    assert '<div class="form-row field-when">' in page


def test_the_demo_page_refuses_a_bad_time(client):
    response = client.post("/", {"job": "say_hello", "when": "soon", "argument": "x"})
    assert "invalid time offset &#x27;soon&#x27;" in response.content.decode()
    assert not ScheduledJob.objects.exists()
