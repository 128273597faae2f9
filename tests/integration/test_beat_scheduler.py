"""future_celery's beat scheduler as beat shows and uses it, in its two modes: on Celery's own
scheduler (without django-celery-beat) and on django-celery-beat's."""

import datetime as dt

import pytest
from celery import current_app
from django.core import checks

from future_celery import beat

pytestmark = pytest.mark.django_db(transaction=True)
celery_beat = pytest.mark.celery_beat


def without_django_celery_beat(settings):
    settings.INSTALLED_APPS = [
        app for app in settings.INSTALLED_APPS if app != "django_celery_beat"
    ]


def test_the_scheduler_class_is_named_as_it_is_imported_and_made_once():
    cls = beat.DatabaseScheduler
    assert f"{cls.__module__}.{cls.__qualname__}" == "future_celery.beat.DatabaseScheduler"
    assert beat.DatabaseScheduler is cls


def test_without_django_celery_beat_in_installed_apps_beat_runs_on_celerys_scheduler(settings):
    without_django_celery_beat(settings)
    mode = beat.mode()
    assert mode.name == beat.CELERY
    assert "not in INSTALLED_APPS" in mode.why or "not installed" in mode.why


def test_the_deploy_check_says_which_scheduler_beat_runs_on_and_why(settings):
    without_django_celery_beat(settings)
    [message] = [
        m for m in checks.run_checks(include_deployment_checks=True) if m.id == "future_celery.I001"
    ]
    assert "runs on celery's scheduler" in message.msg and beat.mode().why in message.msg
    assert "future_celery[celery-beat]" in message.hint
    # Not in every command's output: only `check --deploy` shows it.
    assert "future_celery.I001" not in {m.id for m in checks.run_checks()}


# On Celery's own scheduler (whatever is installed: the class is built directly)


@pytest.fixture
def on_celery(tmp_path):
    schedulers = []

    def make(beat_schedule=None):
        current_app.conf.beat_schedule = beat_schedule or {}
        scheduler = beat.scheduler_on_celery()(
            app=current_app, schedule_filename=str(tmp_path / "schedule")
        )
        schedulers.append(scheduler)
        return scheduler

    yield make
    for scheduler in schedulers:
        scheduler.close()
    current_app.conf.beat_schedule = {}


def test_on_celery_the_tick_is_an_entry_at_the_setting_beside_the_projects_own(on_celery, settings):
    settings.FUTURE_CELERY_TICK_INTERVAL = 7
    own = {"every minute": {"task": "proj.demo.record_periodic", "schedule": 60.0, "args": ["x"]}}
    scheduler = on_celery(own)
    tick = scheduler.schedule[beat.TICK_NAME]
    assert tick.task == beat.TICK_TASK
    assert tick.schedule.run_every == dt.timedelta(seconds=7)
    assert scheduler.schedule["every minute"].task == "proj.demo.record_periodic"
    # No celery.backend_cleanup without a result backend to clean.
    assert set(scheduler.schedule) == {beat.TICK_NAME, "every minute"}


def test_on_celery_a_new_interval_replaces_the_stored_one_at_the_next_start(on_celery, settings):
    settings.FUTURE_CELERY_TICK_INTERVAL = 7
    on_celery().close()
    settings.FUTURE_CELERY_TICK_INTERVAL = 3
    scheduler = on_celery()
    assert scheduler.schedule[beat.TICK_NAME].schedule.run_every == dt.timedelta(seconds=3)


def test_on_celery_the_tick_entry_runs_in_beat_and_says_so(on_celery, caplog, monkeypatch):
    ran = []
    monkeypatch.setattr("future_celery.dispatch.tick", lambda: ran.append(1))
    scheduler = on_celery()
    with caplog.at_level("INFO", logger="future_celery.beat"):
        scheduler.apply_entry(scheduler.schedule[beat.TICK_NAME])
    assert ran == [1]
    assert any("running due task" in r.getMessage() for r in caplog.records)
    assert not any("Sending due task" in r.getMessage() for r in caplog.records)


def test_on_celery_a_failing_tick_is_logged_and_beat_goes_on(on_celery, caplog, monkeypatch):
    def fail():
        raise RuntimeError("database gone")

    monkeypatch.setattr("future_celery.dispatch.tick", fail)
    scheduler = on_celery()
    with caplog.at_level("ERROR", logger="future_celery.beat"):
        scheduler.apply_entry(scheduler.schedule[beat.TICK_NAME])
    assert "the next one tries again" in caplog.text and "database gone" in caplog.text


# On django-celery-beat's (the passes that install it)


@celery_beat
def test_with_django_celery_beat_in_installed_apps_beat_runs_on_its_scheduler():
    from django_celery_beat.schedulers import DatabaseScheduler

    assert beat.mode().name == beat.DJANGO_CELERY_BEAT
    assert issubclass(beat.scheduler_on_django_celery_beat(), DatabaseScheduler)


@celery_beat
def test_migrate_registers_the_tick_as_a_periodic_task(settings):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name=beat.TICK_NAME)
    assert task.task == "future_celery.tick" and task.enabled
    assert task.interval.every == round(settings.FUTURE_CELERY_TICK_INTERVAL)
    assert task.interval.period == "seconds"


@celery_beat
def test_the_tick_interval_follows_the_setting_and_admins_keep_enabled(settings):
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.filter(name=beat.TICK_NAME).update(enabled=False)
    settings.FUTURE_CELERY_TICK_INTERVAL = 7
    beat.register_tick()
    task = PeriodicTask.objects.get(name=beat.TICK_NAME)
    assert task.interval.every == 7 and not task.enabled


@celery_beat
def test_without_a_result_backend_no_backend_cleanup_entry_is_installed(settings):
    from django_celery_beat.models import PeriodicTask

    assert not current_app.conf.result_backend
    scheduler = beat.scheduler_on_django_celery_beat()(app=current_app, lazy=True)
    scheduler.install_default_entries({})
    assert not PeriodicTask.objects.filter(task="celery.backend_cleanup").exists()


@celery_beat
def test_the_tick_entry_runs_in_beat_and_says_so(caplog):
    from django_celery_beat.models import PeriodicTask

    beat.register_tick()
    scheduler = beat.scheduler_on_django_celery_beat()(app=current_app, lazy=True)
    entry = scheduler.Entry(PeriodicTask.objects.get(name=beat.TICK_NAME), app=current_app)
    with caplog.at_level("INFO", logger="future_celery.beat"):
        scheduler.apply_entry(entry)
    assert any(
        "running due task" in r.getMessage() and "in beat" in r.getMessage() for r in caplog.records
    )
    assert not any("Sending due task" in r.getMessage() for r in caplog.records)
