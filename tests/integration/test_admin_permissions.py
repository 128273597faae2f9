"""Who may do what in future_celery's admin: each kind of user against each page and each
action, every cell asserted. Running a job again and running a recurring job now run a
callable with stored arguments, so each is a permission of its own (rerun_scheduledjob,
run_recurringjob), not change's."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from future_celery import ScheduledJob, recurring, schedule_job
from future_celery.models import RecurringJob, Worker
from tests.admin_forms import job_form

pytestmark = pytest.mark.django_db

VIEW = ["view_scheduledjob", "view_recurringjob", "view_worker"]
CHANGE = [*VIEW, "change_scheduledjob", "change_recurringjob"]
RUN = [*CHANGE, "rerun_scheduledjob", "run_recurringjob"]
# (is_staff, is_superuser, permissions); None: not logged in.
USERS = {
    "anonymous": None,
    "not staff": (False, False, RUN),
    "staff without permissions": (True, False, []),
    "staff who may view": (True, False, VIEW),
    "staff who may change": (True, False, CHANGE),
    "staff who may change and run": (True, False, RUN),
    "superuser": (True, True, []),
}
LOGGED_OUT = {"anonymous", "not staff"}


@pytest.fixture
def as_user(client):
    def log_in(kind):
        spec = USERS[kind]
        if spec is None:
            return client
        is_staff, is_superuser, permissions = spec
        user = User.objects.create_user(
            kind.replace(" ", "-"), password="pw", is_staff=is_staff, is_superuser=is_superuser
        )
        user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def objects():
    job = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2])
    rec = recurring("permissions", "proj.demo.jobs.add", every="1 hour", source="admin")
    worker = Worker.objects.create(name="w@h", pid=1, started=job.created, last_seen=job.created)
    return job, rec, worker


PAGES = {
    "job list": lambda job, rec, worker: reverse("admin:future_celery_scheduledjob_changelist"),
    "job page": lambda job, rec, worker: reverse(
        "admin:future_celery_scheduledjob_change", args=[job.pk]
    ),
    "recurring list": lambda job, rec, worker: reverse(
        "admin:future_celery_recurringjob_changelist"
    ),
    "recurring page": lambda job, rec, worker: reverse(
        "admin:future_celery_recurringjob_change", args=[rec.pk]
    ),
    "worker list": lambda job, rec, worker: reverse("admin:future_celery_worker_changelist"),
    "worker page": lambda job, rec, worker: reverse(
        "admin:future_celery_worker_change", args=[worker.pk]
    ),
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", USERS)
def test_who_sees_each_page(as_user, objects, kind, page):
    response = as_user(kind).get(PAGES[page](*objects))
    if kind in LOGGED_OUT:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    elif kind == "staff without permissions":
        assert response.status_code == 403
    else:
        assert response.status_code == 200


def post_action(client, model, action, pk):
    url = reverse(f"admin:future_celery_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": [pk]})


def cancel(client, job, rec):
    post_action(client, "scheduledjob", "cancel_jobs", job.pk)
    return ScheduledJob.objects.get(pk=job.pk).status == "cancelled"


def run_again(client, job, rec):
    ScheduledJob.objects.filter(pk=job.pk).update(status="failed")
    post_action(client, "scheduledjob", "run_again", job.pk)
    return ScheduledJob.objects.filter(rescheduled_from=job).exists()


def edit_job(client, job, rec):
    client.post(
        reverse("admin:future_celery_scheduledjob_change", args=[job.pk]),
        job_form(queue="edited"),
    )
    return ScheduledJob.objects.get(pk=job.pk).queue == "edited"


def disable(client, job, rec):
    post_action(client, "recurringjob", "disable", rec.pk)
    return not RecurringJob.objects.get(pk=rec.pk).active


def run_now(client, job, rec):
    post_action(client, "recurringjob", "run_now", rec.pk)
    return ScheduledJob.objects.filter(recurring=rec).exists()


def run_now_disabled(client, job, rec):
    RecurringJob.objects.filter(pk=rec.pk).update(active=False)
    post_action(client, "recurringjob", "run_now", rec.pk)
    return ScheduledJob.objects.filter(recurring=rec).exists()


ACTIONS = {
    "cancel": (cancel, {"staff who may change", "staff who may change and run", "superuser"}),
    "run again": (run_again, {"staff who may change and run", "superuser"}),
    "edit a job": (edit_job, {"staff who may change", "staff who may change and run", "superuser"}),
    "disable": (disable, {"staff who may change", "staff who may change and run", "superuser"}),
    "run now": (run_now, {"staff who may change and run", "superuser"}),
    "run now, disabled": (run_now_disabled, set()),  # nobody: enable it first
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("kind", USERS)
def test_who_may_do_each_action(as_user, objects, kind, action):
    job, rec, _ = objects
    do, allowed = ACTIONS[action]
    assert do(as_user(kind), job, rec) == (kind in allowed)


def test_the_permissions_say_what_they_allow():
    names = dict(Permission.objects.values_list("codename", "name"))
    assert names["rerun_scheduledjob"] == "Can run scheduled jobs again"
    assert names["run_recurringjob"] == "Can run recurring jobs now"
