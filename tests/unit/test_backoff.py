from django.test import override_settings

from future_celery.lifecycle import cap_text
from future_celery.retries import backoff


@override_settings(FUTURE_CELERY_RETRY_BACKOFF=2.0, FUTURE_CELERY_RETRY_BACKOFF_MAX=30.0)
def test_backoff_doubles_per_attempt_with_jitter_and_a_cap():
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (20, 30.0)]:
        delays = [backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered, not one fixed delay


@override_settings(FUTURE_CELERY_MAX_TEXT_LENGTH=10)
def test_long_texts_are_capped_keeping_the_end_of_a_traceback():
    assert cap_text("short") == "short"
    assert cap_text("0123456789abc").startswith("0123456789")
    assert cap_text("0123456789abc", keep_end=True).endswith("3456789abc")
    assert "cut" in cap_text("x" * 11)
