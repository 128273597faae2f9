"""The admin in a real browser (headless Chromium through Playwright), against proj's real
web server, worker and beat: what a person sees when they schedule a job from the demo page,
watch it run, read a failure, cancel and run again, and use the admin in German.

With SCREENSHOTS_DIR set (make screenshots), each step saves a PNG there."""

from __future__ import annotations

import os
import re
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import django
import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone
from playwright.sync_api import sync_playwright

from future_celery import ScheduledJob, schedule_job
from proj.demo.models import Note
from tests import brokers
from tests.conftest import REDIS_URL, base_env
from tests.processes import ROOT, Process, free_port, start_beat, start_worker, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.engine]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 900}
CHANGELIST = "/admin/future_celery/scheduledjob/"
SCREENSHOTS = os.environ.get("SCREENSHOTS_DIR")
# The admin's status colours (future_celery.admin.STATUS_COLOURS) as the browser computes them.
COLOURS = {
    "scheduled": "rgb(65, 118, 144)",
    "queued": "rgb(184, 134, 11)",
    "complete": "rgb(46, 125, 50)",
    "failed": "rgb(198, 40, 40)",
    "cancelled": "rgb(117, 117, 117)",
}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def processes_env() -> dict[str, str]:
    """The environment of the processes this module starts."""
    env = dict(base_env())  # DEBUG off, as make run serves it (WhiteNoise serves the CSS)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # this process's, for Playwright (below)
    return env


@pytest.fixture(scope="module")
def site(django_db_setup) -> Iterator[str]:
    """proj's web server (runserver; WhiteNoise serves the admin's static files)
    and a worker, on the test database and the tests' Redis; the server's base URL."""
    brokers.connect("redis", REDIS_URL).purge()
    env = processes_env()
    port = free_port()
    web = Process(
        "web",
        [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env,
    )
    base = f"http://127.0.0.1:{port}"
    worker = start_worker(env)
    try:
        if not wait_until(lambda: _answers(base + "/admin/login/"), timeout=30, interval=0.2):
            pytest.fail(f"the web server did not answer:\n{web.output[-3000:]}")
        yield base
    finally:
        worker.stop()
        web.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium. Playwright's sync API keeps an event loop in this thread, where
    Django then refuses database queries unless told they are safe (they are: nothing runs
    concurrently with them)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/ensure-browser")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as p:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()
        # The connection the tests used while Playwright's loop ran is not the one Django
        # finds once it stops (connections are local to the async context): close it here,
        # or the test database cannot be dropped at the end.
        connections.close_all()


@pytest.fixture
def superuser(transactional_db):
    return User.objects.create_superuser("ada", "ada@example.com", "a-long-password")


def _page(browser, site, superuser, locale="en-US"):
    """A logged-in page in a new browser context (its own cookies and language)."""
    context = browser.new_context(viewport=VIEWPORT, locale=locale, base_url=site)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/admin/login/?next=" + CHANGELIST)
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", "a-long-password")
    page.click("input[type=submit]")
    page.wait_for_url("**" + CHANGELIST)
    return page


@pytest.fixture
def page(browser, site, superuser):
    page = _page(browser, site, superuser)
    yield page
    page.context.close()


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def schedule_from_the_demo_page(page, job: str, when: str, argument: str = "") -> int:
    """Fill in the demo page's form; the job's id, read from the message it shows."""
    page.goto("/")
    page.select_option("#id_job", job)
    page.fill("#id_when", when)
    page.fill("#id_argument", argument)
    page.click("#schedule-form [type=submit]")
    message = page.locator(".messagelist .success").inner_text()
    match = re.search(r"Scheduled job #(\d+)", message)
    assert match, message
    return int(match.group(1))


def status_cell(page, pk: int):
    row = page.locator(f'#result_list tr:has(a[href$="/scheduledjob/{pk}/change/"])')
    return row.locator("td.field-colored_status span")


def colour(locator) -> str:
    return locator.evaluate("element => getComputedStyle(element).color")


def watch_status(page, pk: int, until: str, timeout: float = 30.0) -> list[str]:
    """Reload the changelist until job ``pk`` shows ``until``; the statuses seen on the way,
    each once, in order, with the colour each had."""
    seen: list[str] = []

    def look() -> bool:
        page.goto(CHANGELIST)
        cell = status_cell(page, pk)
        text = cell.inner_text()
        assert colour(cell) == COLOURS.get(text, colour(cell)), text
        if not seen or seen[-1] != text:
            seen.append(text)
        return text == until

    assert wait_until(look, timeout=timeout, interval=0.2), seen
    return seen


def fits_the_window(page) -> bool:
    """No horizontal scroll bar: the page is no wider than the window, nor is the
    changelist's table wider than its box (which would scroll on its own)."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth &&"
        " [...document.querySelectorAll('#changelist .results')]"
        ".every(box => box.scrollWidth <= box.clientWidth)"
    )


def test_the_demo_page_has_the_admins_look(page):
    page.goto("/")
    assert page.locator('link[href*="admin/css/base.css"]').count() == 1
    assert page.locator("#site-name").inner_text() == "future_celery demo"
    assert page.locator("#content h1").inner_text() == "Schedule a job"
    # The admin's own breadcrumbs bar (6.1 draws it as a list; a div of ours lost its colour).
    bar = page.locator(".breadcrumbs")
    assert bar.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    # The admin's form rows: each label beside its field before Django 6.1, above it since.
    label = page.locator("label[for=id_when]").bounding_box()
    field = page.locator("#id_when").bounding_box()
    if django.VERSION >= (6, 1):
        assert label["y"] + label["height"] <= field["y"] + 2
        assert label["x"] == pytest.approx(field["x"], abs=10)
    else:
        assert label["y"] == pytest.approx(field["y"], abs=10)
    assert fits_the_window(page)
    screenshot(page, "01-demo-page")


def test_a_job_scheduled_from_the_demo_page_runs_and_shows_its_result(page):
    beat = start_beat(processes_env())
    try:
        # Beyond the test settings' look-ahead (3 s): beat's tick dispatches it.
        pk = schedule_from_the_demo_page(page, "say_hello", "6s", "Grace")
        # The widest row the changelist has: another day's time, a content object.
        note = Note.objects.create(title="Notes on the analytical engine")
        schedule_job("2d", "proj.demo.jobs.note_title", content_object=note)
        page.goto(CHANGELIST)
        screenshot(page, "02-changelist-scheduled")
        seen = watch_status(page, pk, "complete")
    finally:
        beat.stop()
    assert [s for s in seen if s != "running"] == ["scheduled", "queued", "complete"]
    assert colour(status_cell(page, pk)) == COLOURS["complete"]
    assert fits_the_window(page)
    screenshot(page, "03-changelist-complete")

    page.click(f'#result_list a[href$="/scheduledjob/{pk}/change/"] >> nth=0')
    assert page.locator(".field-args_display pre").inner_text().split() == ["[", '"Grace"', "]"]
    assert page.locator(".field-return_value_display pre").inner_text() == "Hello, Grace!"
    assert colour(page.locator(".field-colored_status span")) == COLOURS["complete"]
    assert page.locator("input[name=_save]").count() == 0  # finished: nothing to save
    assert fits_the_window(page)
    page.locator("fieldset:has(.field-return_value_display)").scroll_into_view_if_needed()
    screenshot(page, "04-job-complete")


def test_a_failed_job_shows_its_own_frames_first_and_the_whole_traceback_folded(page):
    pk = schedule_from_the_demo_page(page, "boom", "0s")
    watch_status(page, pk, "failed")
    assert fits_the_window(page)
    page.goto(f"{CHANGELIST}{pk}/change/")
    error = page.locator(".field-error_display")
    own = error.locator("pre").first.inner_text()
    assert own.startswith("Traceback (most recent call last):")
    assert "proj/demo/jobs.py" in own and own.rstrip().endswith("ValueError: boom")
    assert "celery/app/trace.py" not in own and "future_celery/" not in own
    whole = error.locator("details pre")
    assert not whole.is_visible()  # folded
    error.locator("details summary").scroll_into_view_if_needed()
    screenshot(page, "05-job-failed")
    error.locator("details summary").click()
    assert whole.is_visible() and "celery/app/trace.py" in whole.inner_text()
    assert fits_the_window(page)  # a long line wraps instead of widening the page


def test_cancel_and_run_again_from_the_action_menu(page):
    later = schedule_from_the_demo_page(page, "say_hello", "1h", "later")
    done = schedule_from_the_demo_page(page, "say_hello", "0s", "now")
    watch_status(page, done, "complete")

    page.check(f'input[name=_selected_action][value="{later}"]')
    page.select_option("select[name=action]", "cancel_jobs")
    page.click("button[name=index]")
    assert page.locator(".messagelist .success").inner_text() == "1 job cancelled."
    assert status_cell(page, later).inner_text() == "cancelled"
    assert colour(status_cell(page, later)) == COLOURS["cancelled"]
    screenshot(page, "06-cancelled")

    page.check(f'input[name=_selected_action][value="{done}"]')
    page.select_option("select[name=action]", "run_again")
    page.click("button[name=index]")
    assert page.locator(".messagelist .success").inner_text() == ("1 job scheduled to run again.")
    copy = ScheduledJob.objects.get(rescheduled_from=done)
    watch_status(page, copy.pk, "complete")
    screenshot(page, "07-run-again")


def test_the_admin_in_german(browser, site, superuser):
    page = _page(browser, site, superuser, locale="de-DE")
    try:
        job = schedule_from_the_demo_page(page, "say_hello", "1h", "Welt")
        page.goto(CHANGELIST)
        title = page.locator("#content h1").inner_text()
        assert title == "Geplanter Auftrag zur Änderung auswählen", title
        assert page.title().startswith("Geplanter Auftrag")
        assert page.locator("button[name=index]").inner_text() == "Ausführen"
        filters = page.locator("#changelist-filter").inner_text()
        assert "(Standard)" in filters and "(default)" not in filters
        assert status_cell(page, job).inner_text() == "geplant"
        assert fits_the_window(page)
        screenshot(page, "08-changelist-german")

        page.goto(f"{CHANGELIST}{job}/change/")
        label = page.locator(".field-kwargs_display label")
        assert label.inner_text() == "Schlüsselwortargumente:"
        lines = label.evaluate(
            "label => { const r = document.createRange(); r.selectNodeContents(label);"
            " return r.getClientRects().length; }"
        )
        assert lines == 1  # not broken inside the word
        assert fits_the_window(page)
        page.locator("fieldset:has(.field-kwargs_display)").scroll_into_view_if_needed()
        screenshot(page, "09-job-german")
    finally:
        page.context.close()


def test_the_recurring_jobs_and_the_workers_pages(page):
    """The admin's other pages: a recurring job's list and form, the workers' list and page,
    each fitting the window, the form's labels laid out as the installed Django lays them
    out."""
    from future_celery import recurring
    from future_celery.models import Worker

    job = recurring(
        "nightly report", "proj.demo.jobs.add", cron="30 2 * * *", kwargs={"a": 1}, source="admin"
    )
    page.goto("/admin/future_celery/recurringjob/")
    assert "nightly report" in page.locator("#result_list").inner_text()
    assert fits_the_window(page)
    screenshot(page, "10-recurring-jobs")

    page.goto(f"/admin/future_celery/recurringjob/{job.pk}/change/")
    label = page.locator("label[for=id_cron]").bounding_box()
    field = page.locator("#id_cron").bounding_box()
    if django.VERSION >= (6, 1):
        assert label["y"] + label["height"] <= field["y"] + 2
    else:
        assert label["y"] == pytest.approx(field["y"], abs=10)
    assert fits_the_window(page)
    screenshot(page, "11-recurring-job")

    # A worker's row as a worker writes it when it starts (the site's worker wrote its own
    # before an earlier test's database flush).
    now = timezone.now()
    worker = Worker.objects.create(name="celery@demo-host", pid=4242, started=now, last_seen=now)
    page.goto("/admin/future_celery/worker/")
    assert worker.name in page.locator("#result_list").inner_text()
    assert fits_the_window(page)
    screenshot(page, "12-workers")
    page.goto(f"/admin/future_celery/worker/{worker.pk}/change/")
    assert str(worker.pid) in page.locator("#content").inner_text()
    assert fits_the_window(page)
