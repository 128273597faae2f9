"""The system checks that guard future_celery's configuration."""

from django.core import checks


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
