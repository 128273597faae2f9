"""The system checks that guard future_celery's configuration."""

import contextlib
import re
import threading

import pytest
from celery import _state
from django.core import checks
from django.db import transaction

from future_celery import ScheduledJob, celery_app, messages, schedule_job, schedule_jobs
from future_celery.checks import check_celery_app
from future_celery.exceptions import CeleryAppNotConfigured
from proj.celery import app as proj_app


def ids():
    return [message.id for message in checks.run_checks() if message.id.startswith("future_celery")]


def test_a_valid_configuration_passes(settings):
    assert ids() == []


def test_use_tz_off_is_an_error(settings):
    settings.USE_TZ = False
    assert "future_celery.E001" in ids()


def test_a_lookahead_shorter_than_the_tick_interval_is_a_warning(settings):
    settings.FUTURE_CELERY_TICK_INTERVAL, settings.FUTURE_CELERY_LOOKAHEAD = 5, 2
    [message] = [m for m in checks.run_checks() if m.id == "future_celery.W002"]
    assert "up to 3 s late" in message.msg
    assert "(the defaults: 20 s and 1 s)" in message.hint


def deploy_ids():
    return [
        m.id
        for m in checks.run_checks(include_deployment_checks=True)
        if m.id.startswith("future_celery")
    ]


def test_check_deploy_warns_when_no_callables_allow_list_is_set(settings):
    settings.FUTURE_CELERY_ALLOWED_CALLABLES = None
    [message] = [
        m for m in checks.run_checks(include_deployment_checks=True) if m.id == "future_celery.W004"
    ]
    assert "any importable callable may be scheduled" in message.msg
    assert "FUTURE_CELERY_ALLOWED_CALLABLES = [" in message.hint
    assert "future_celery.W004" not in ids()  # only check --deploy says it


def test_proj_sets_an_allow_list_so_check_deploy_is_quiet_about_it():
    from proj import settings as proj_settings

    assert proj_settings.FUTURE_CELERY_ALLOWED_CALLABLES == ["proj.*", "demo.*"]
    assert "future_celery.W004" not in deploy_ids()


@contextlib.contextmanager
def only_celerys_own_app():
    """This process as a web process or `manage.py shell` of a project whose __init__.py
    lacks `from .celery import app as celery_app`: no app of the project is current or
    default, and Celery's current_app is the fallback it makes for itself (on
    amqp://guest@localhost//). Put back after."""
    saved = _state._tls.current_app, _state.default_app
    _state._tls.current_app, _state.default_app = None, None
    try:
        fallback = _state.get_current_app()  # Celery makes its fallback app, as in such a shell
        assert celery_app.is_fallback(fallback) and celery_app.current() is None
        yield fallback
    finally:
        _state._tls.current_app, _state.default_app = saved


def test_the_projects_app_is_the_one_future_celery_publishes_through():
    assert celery_app.get() is proj_app
    assert messages.run_job_task().app is proj_app


def test_in_another_thread_too():
    """runserver runs the checks, and threaded web servers their views, in threads that have
    no current app of their own: the app is then the process's default, which Celery's
    Django fix-up made the project's when it was created."""
    found = []
    thread = threading.Thread(
        target=lambda: found.append((celery_app.get(), check_celery_app(None)))
    )
    thread.start()
    thread.join()
    assert found == [(proj_app, [])]


def test_a_process_without_the_projects_celery_app_is_an_error(settings):
    with only_celerys_own_app():
        [message] = check_celery_app(None)
        with pytest.raises(
            CeleryAppNotConfigured, match=re.escape("from .celery import app as celery_app")
        ):
            messages.run_job_task()
    assert isinstance(message, checks.Error)
    assert "`from .celery import app as celery_app`" in message.msg
    assert "FUTURE_CELERY_CELERY_APP" in message.msg
    assert message.hint == "In yourproject/__init__.py: from .celery import app as celery_app"
    assert check_celery_app(None) == []  # proj's app is back
    # manage.py check, migrate and runserver run it (not only check --deploy).
    assert check_celery_app in checks.registry.registry.get_checks(include_deployment_checks=False)


@pytest.mark.parametrize("name", ["proj.celery:app", "proj.celery.app", "proj.celery", "proj"])
def test_the_setting_names_the_app_as_celery_dash_a_does(settings, name):
    settings.FUTURE_CELERY_CELERY_APP = name
    with only_celerys_own_app():
        assert check_celery_app(None) == []
        assert celery_app.get() is proj_app
        assert messages.run_job_task().app is proj_app


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("proj.no_such_module:app", "names no Celery app: ModuleNotFoundError"),
        ("proj.celery:no_such_app", "names no Celery app: AttributeError"),
        ("proj.settings:USE_TZ", "names True, not a Celery app"),
        (["proj.celery:app"], "must be a string, the app's name as `celery -A` takes it"),
    ],
)
def test_a_setting_that_names_no_celery_app_is_an_error(settings, name, error):
    settings.FUTURE_CELERY_CELERY_APP = name
    [message] = check_celery_app(None)
    assert error in message.msg and repr(name) in message.msg
    with pytest.raises(CeleryAppNotConfigured, match=re.escape(error)):
        celery_app.get()


def test_a_project_without_celery_turns_dispatch_on_commit_off_and_passes(settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    with only_celerys_own_app():
        assert check_celery_app(None) == []


@pytest.mark.django_db(transaction=True)
def test_scheduling_without_the_projects_app_refuses_and_saves_nothing():
    with only_celerys_own_app():
        # In autocommit (manage.py shell) ...
        with pytest.raises(CeleryAppNotConfigured, match=re.escape("yourproject/__init__.py")):
            schedule_job("0s", "proj.demo.jobs.add", args=[2, 3])
        # ... in a transaction, a job due next week too ...
        with pytest.raises(CeleryAppNotConfigured), transaction.atomic():
            schedule_job("7d", "proj.demo.jobs.add", args=[2, 3])
        # ... and a batch.
        with pytest.raises(CeleryAppNotConfigured):
            schedule_jobs([{"when": "0s", "callable": "proj.demo.jobs.add", "args": [1, 1]}] * 3)
    assert not ScheduledJob.objects.exists()
