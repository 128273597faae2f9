"""future_celery's beat scheduler class as beat shows and uses it."""

import pytest
from celery import current_app

from future_celery import beat

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_scheduler_class_is_named_as_it_is_imported_and_made_once():
    cls = beat.DatabaseScheduler
    assert f"{cls.__module__}.{cls.__qualname__}" == "future_celery.beat.DatabaseScheduler"
    assert beat.DatabaseScheduler is cls


def test_without_a_result_backend_no_backend_cleanup_entry_is_installed(settings):
    assert not current_app.conf.result_backend
    scheduler = beat.DatabaseScheduler(app=current_app, lazy=True)
    scheduler.install_default_entries({})
    from django_celery_beat.models import PeriodicTask

    assert not PeriodicTask.objects.filter(task="celery.backend_cleanup").exists()


def test_the_tick_entry_runs_in_beat_and_says_so(caplog):
    from django_celery_beat.models import PeriodicTask

    from future_celery.beat import TICK_NAME, register_tick

    register_tick()
    scheduler = beat.DatabaseScheduler(app=current_app, lazy=True)
    entry = scheduler.Entry(PeriodicTask.objects.get(name=TICK_NAME), app=current_app)
    with caplog.at_level("INFO", logger="future_celery.beat"):
        scheduler.apply_entry(entry)
    assert any(
        "running due task" in r.getMessage() and "in beat" in r.getMessage() for r in caplog.records
    )
    assert not any("Sending due task" in r.getMessage() for r in caplog.records)
