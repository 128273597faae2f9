import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from future_celery import ScheduledJob, schedule_job
from proj.demo.models import Note, Tag
from tests.admin_forms import job_form

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:future_celery_scheduledjob_changelist")


def change_url(job):
    return reverse("admin:future_celery_scheduledjob_change", args=[job.pk])


@pytest.fixture
def staff(client):
    """A staff user with view and change (not add) permissions on jobs."""
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_scheduledjob", "change_scheduledjob", "delete_scheduledjob"]
        )
    )
    client.force_login(user)
    return client


@pytest.fixture
def viewer(client):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_scheduledjob"))
    client.force_login(user)
    return client


def make_jobs(count):
    """``count`` jobs a minute apart, all on tomorrow's date (at midnight the date hierarchy
    would show two days, with one query more)."""
    note, tag = Note.objects.create(title="a note"), Tag.objects.create(name="t")
    statuses = [s for s, _ in ScheduledJob.STATUS_CHOICES]
    noon = timezone.localtime().replace(hour=12, minute=0) + dt.timedelta(days=1)
    for i in range(count):
        job = schedule_job(
            noon + dt.timedelta(minutes=i),
            "remind" if i % 2 else "shout",
            content_object=note if i % 2 else tag,
        )
        ScheduledJob.objects.filter(pk=job.pk).update(status=statuses[i % len(statuses)])


def test_the_changelist_shows_jobs_with_status_and_content_object(staff):
    note = Note.objects.create(title="my note")
    job = schedule_job("1h", "remind", content_object=note)
    page = staff.get(CHANGELIST).content.decode()
    assert "remind" in page and ">scheduled</span>" in page
    assert reverse("admin:demo_note_change", args=[note.pk]) in page
    assert change_url(job) in page


def test_the_changelist_costs_the_same_queries_for_5_or_50_rows(staff):
    make_jobs(5)
    with CaptureQueriesContext(connection) as few:
        assert staff.get(CHANGELIST).status_code == 200
    make_jobs(45)
    with CaptureQueriesContext(connection) as many:
        assert staff.get(CHANGELIST).status_code == 200
    assert len(many) == len(few)


def test_the_changelist_does_not_count_the_whole_table(staff):
    make_jobs(3)
    with CaptureQueriesContext(connection) as queries:
        staff.get(CHANGELIST)
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


@pytest.mark.parametrize(
    "query",
    [
        "?status__exact=failed",
        "?q=remind",
        "?time_slot_start__year=2026",
        "?time_slot_start__year=2026&time_slot_start__month=11",
        "?queue=mail",
        "?o=3",
    ],
)
def test_filters_and_search_work(staff, query):
    make_jobs(8)
    schedule_job("1h", "proj.demo.jobs.say_hello", queue="mail")
    assert staff.get(CHANGELIST + query).status_code == 200


def test_search_by_id(staff):
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    other = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2])
    page = staff.get(CHANGELIST + f"?q={other.pk}").content.decode()
    assert change_url(other) in page and change_url(job) not in page


def test_jobs_cannot_be_added_from_the_admin(staff, admin_client):
    assert admin_client.get(reverse("admin:future_celery_scheduledjob_add")).status_code == 403


def test_callable_and_arguments_are_read_only(admin_client):
    job = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2])
    page = admin_client.get(change_url(job)).content.decode()
    assert 'name="callable_name"' not in page and 'name="args"' not in page
    admin_client.post(change_url(job), job_form(callable_name="os.system", args='["rm -rf /"]'))
    job.refresh_from_db()
    assert job.callable_name == "proj.demo.jobs.add" and job.args == [1, 2]
    assert job.time_slot_start == dt.datetime(2030, 1, 1, 10, 0, tzinfo=dt.UTC)


def test_an_expiry_before_the_scheduled_time_is_refused_in_the_admin(admin_client):
    job = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2])
    response = admin_client.post(change_url(job), job_form(time_slot_end_0="2029-01-01"))
    assert "The expiry must be after the scheduled time." in response.content.decode()
    job.refresh_from_db()
    assert job.time_slot_start != dt.datetime(2030, 1, 1, 10, 0, tzinfo=dt.UTC)


def test_finished_jobs_cannot_be_edited(admin_client):
    job = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2])
    ScheduledJob.objects.filter(pk=job.pk).update(status="complete")
    page = admin_client.get(change_url(job)).content.decode()
    assert 'name="time_slot_start_0"' not in page


def test_arguments_and_traceback_are_shown_escaped_in_pre_blocks(admin_client):
    job = schedule_job("1h", "proj.demo.jobs.echo", args=["<script>alert(1)</script>"])
    ScheduledJob.objects.filter(pk=job.pk).update(
        status="failed", error="Traceback\n<img src=x onerror=alert(2)>"
    )
    page = admin_client.get(change_url(job)).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert '<pre style="white-space:pre-wrap;margin:0">Traceback' in page


def test_the_cancel_action_cancels_scheduled_and_queued_jobs_only(staff):
    jobs = [schedule_job("1h", "proj.demo.jobs.say_hello") for _ in range(3)]
    ScheduledJob.objects.filter(pk=jobs[1].pk).update(status="queued")
    ScheduledJob.objects.filter(pk=jobs[2].pk).update(status="complete")
    response = staff.post(
        CHANGELIST, {"action": "cancel_jobs", "_selected_action": [j.pk for j in jobs]}, follow=True
    )
    statuses = [ScheduledJob.objects.get(pk=j.pk).status for j in jobs]
    assert statuses == ["cancelled", "cancelled", "complete"]
    assert "2 jobs cancelled." in response.content.decode()
    assert "1 job was not cancelled" in response.content.decode()


def test_the_run_again_action_copies_jobs_due_now(staff):
    job = schedule_job(timezone.now() - dt.timedelta(days=2), "proj.demo.jobs.add", args=[1, 2])
    ScheduledJob.objects.filter(pk=job.pk).update(status="failed")
    # Running again is a permission of its own, beside change.
    User.objects.get(username="staff").user_permissions.add(
        Permission.objects.get(codename="rerun_scheduledjob")
    )
    staff.post(CHANGELIST, {"action": "run_again", "_selected_action": [job.pk]})
    copy = ScheduledJob.objects.get(rescheduled_from=job)
    assert copy.status == "scheduled" and copy.args == [1, 2]
    assert abs(copy.time_slot_start - timezone.now()) < dt.timedelta(seconds=10)


def test_actions_need_the_change_permission(viewer):
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    for action in ("cancel_jobs", "run_again"):
        viewer.post(CHANGELIST, {"action": action, "_selected_action": [job.pk]})
    assert ScheduledJob.objects.count() == 1
    assert ScheduledJob.objects.get().status == "scheduled"


def test_the_admin_is_translated_to_german(admin_client):
    with translation.override("de"):
        assert str(ScheduledJob._meta.verbose_name_plural) == "Geplante Aufträge"
    schedule_job("1h", "proj.demo.jobs.say_hello")
    page = admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "geplant" in page and "Ausgewählte Aufträge abbrechen" in page


@pytest.mark.postgresql
def test_past_the_exact_limit_the_count_is_the_planners_estimate():
    from future_celery.pagination import EstimatedCountPaginator

    class Small(EstimatedCountPaginator):
        EXACT_LIMIT = 10

    make_jobs(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE future_celery_scheduledjob")
    paginator = Small(ScheduledJob.objects.all(), 5)
    assert 20 <= paginator.count <= 40
    assert Small(ScheduledJob.objects.filter(status="failed"), 5).count == 4


def test_the_changelist_shows_times_to_the_second_with_the_zone(admin_client):
    at = dt.datetime(2030, 1, 1, 10, 0, 7, tzinfo=dt.UTC)
    schedule_job(at, "proj.demo.jobs.say_hello")
    page = admin_client.get(reverse("admin:future_celery_scheduledjob_changelist")).content
    assert b"2030-01-01 10:00:07 UTC" in page


def test_a_job_no_longer_scheduled_has_no_save_buttons(admin_client):
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    url = reverse("admin:future_celery_scheduledjob_change", args=[job.pk])
    assert b'name="_save"' in admin_client.get(url).content  # still scheduled: editable
    ScheduledJob.objects.filter(pk=job.pk).update(status="complete")
    assert b'name="_save"' not in admin_client.get(url).content


def test_the_breadcrumb_names_the_section_once(admin_client):
    page = admin_client.get(reverse("admin:future_celery_scheduledjob_changelist")).content
    assert b'<a href="/admin/future_celery/">Jobs</a>' in page
    with translation.override("de"):
        assert str(ScheduledJob._meta.app_config.verbose_name) == "Aufträge"


def test_a_failed_jobs_traceback_shows_its_own_frames_first_and_the_whole_folded(admin_client):
    from future_celery import run_jobs

    job = schedule_job(timezone.now(), "proj.demo.jobs.boom", args=["broken"])
    run_jobs(ignore_errors=True)
    page = admin_client.get(
        reverse("admin:future_celery_scheduledjob_change", args=[job.pk])
    ).content.decode()
    own, whole = page.index("proj/demo/jobs.py"), page.index("<details>")
    assert own < whole  # the job's own frame, before the folded whole traceback
    assert "future_celery/execution.py" not in page[:whole]
    assert "future_celery/execution.py" in page[whole:]


def test_the_german_admin_titles_start_with_a_capital_and_its_buttons_are_translated(
    admin_client,
):
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    page = admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "<h1>Geplanter Auftrag zur Änderung auswählen</h1>" in page
    assert ">Ausführen</button>" in page and "(Standard)" in page and "(default)" not in page
    page = admin_client.get(change_url(job), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "<h1>Geplanter Auftrag ändern</h1>" in page


def test_the_changelist_shows_todays_times_without_their_date_and_the_expiry_below(
    admin_client,
):
    now = timezone.localtime()
    job = schedule_job(now, "proj.demo.jobs.say_hello", expires="2h")
    page = admin_client.get(CHANGELIST).content.decode()
    cell = page[page.index('<td class="field-scheduled_display">') :].split("</td>")[0]
    if timezone.localdate() == now.date():  # not across midnight
        assert f'<span class="fc-clock">{now:%H:%M:%S} UTC</span>' in cell
        assert 'class="fc-date"' not in cell.split("fc-note")[0]
    assert "expires" in cell  # still scheduled: it can expire
    ScheduledJob.objects.filter(pk=job.pk).update(status="complete")
    page = admin_client.get(CHANGELIST).content.decode()
    assert "expires" not in page.split('<td class="field-scheduled_display">')[1].split("</td>")[0]


def test_a_jobs_page_shows_its_worker_and_beside_it_the_process_that_ran_it(admin_client):
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    ScheduledJob.objects.filter(pk=job.pk).update(
        status="complete", worker="celery@vm", worker_pid=20896
    )
    page = admin_client.get(change_url(job)).content.decode()
    assert page.index("celery@vm") < page.index("Worker process id") < page.index("20896")


def field_cell(page, name):
    """What the change form shows in its row for ``name`` (a field or a display method)."""
    return page[page.index(f'<div class="form-row field-{name}') :].split("</div>\n")[0]


def test_a_finished_jobs_page_shows_its_times_to_the_second_with_date_and_zone(admin_client):
    at = dt.datetime(2030, 1, 1, 10, 0, 7, tzinfo=dt.UTC)
    job = schedule_job(at, "proj.demo.jobs.say_hello", expires="1h")
    ScheduledJob.objects.filter(pk=job.pk).update(
        status="complete",
        queued_at=at,
        execution_start=at + dt.timedelta(seconds=2),
        execution_end=at + dt.timedelta(seconds=3, microseconds=500_000),
    )
    page = admin_client.get(change_url(job)).content.decode()
    assert "2030-01-01 10:00:07 UTC" in field_cell(page, "time_slot_start_time")
    assert "2030-01-01 11:00:07 UTC" in field_cell(page, "time_slot_end_time")
    assert "2030-01-01 10:00:07 UTC" in field_cell(page, "queued_at_time")
    assert "2030-01-01 10:00:09 UTC" in field_cell(page, "execution_start_time")
    assert "2030-01-01 10:00:10 UTC" in field_cell(page, "execution_end_time")
    assert "Jan. 1, 2030" not in page  # nothing left in Django's format, to the minute
    # Today's times keep their date on a job's own page (the changelist drops it).
    created = timezone.localtime(ScheduledJob.objects.get(pk=job.pk).created)
    assert f"{created:%Y-%m-%d %H:%M:%S} UTC" in field_cell(page, "created_time")


def test_a_scheduled_jobs_times_stay_editable_in_date_and_time_inputs(admin_client):
    job = schedule_job(dt.datetime(2030, 1, 1, 10, 0, 7, tzinfo=dt.UTC), "proj.demo.jobs.say_hello")
    page = admin_client.get(change_url(job)).content.decode()
    assert 'name="time_slot_start_0" value="2030-01-01"' in page
    assert 'name="time_slot_start_1" value="10:00:07"' in page
    assert "field-time_slot_start_time" not in page


def test_the_workers_and_recurring_jobs_show_their_times_to_the_second(admin_client):
    from future_celery.models import Worker
    from future_celery.recurring_jobs import recurring

    seen = dt.datetime(2030, 1, 1, 10, 0, 7, tzinfo=dt.UTC)
    Worker.objects.create(name="celery@vm", pid=4242, started=seen, last_seen=seen)
    page = admin_client.get(reverse("admin:future_celery_worker_changelist")).content.decode()
    assert "2030-01-01 10:00:07 UTC" in page
    job = recurring("nightly", "proj.demo.jobs.say_hello", every="1d", at="03:00")
    page = admin_client.get(
        reverse("admin:future_celery_recurringjob_change", args=[job.pk])
    ).content.decode()
    assert f"{timezone.localtime(job.next_slot):%Y-%m-%d} 03:00:00 UTC" in field_cell(
        page, "next_slot_time"
    )
