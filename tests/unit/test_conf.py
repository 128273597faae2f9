import pytest
from django.test import override_settings

from future_celery import conf


def test_a_setting_left_out_reads_as_its_default():
    assert conf.get("KEEP_COMPLETED") is conf.DEFAULTS["KEEP_COMPLETED"]


def test_a_changed_setting_is_seen_after_an_earlier_read_and_restored_after():
    before = conf.get("MAX_TEXT_LENGTH")
    with override_settings(FUTURE_CELERY_MAX_TEXT_LENGTH=before + 7):
        assert conf.get("MAX_TEXT_LENGTH") == before + 7
    assert conf.get("MAX_TEXT_LENGTH") == before


def test_the_settings_fixture_changes_are_seen(settings):
    conf.get("DEFAULT_QUEUE")
    settings.FUTURE_CELERY_DEFAULT_QUEUE = "reports"
    assert conf.get("DEFAULT_QUEUE") == "reports"


def test_an_unknown_setting_is_a_key_error_naming_it():
    with pytest.raises(KeyError, match="NO_SUCH"):
        conf.get("NO_SUCH")
