"""manage.py demo_setup (make run's last step before the processes start): it refuses a
broker that does not answer, with a hint for that broker, and writes nothing then."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("scheme", "hint"),
    [
        ("redis", "Start Redis:  redis-server"),
        ("amqp", "Start that broker, or set CELERY_BROKER_URL"),
    ],
)
def test_a_broker_that_does_not_answer_is_named_with_a_hint_for_it(settings, scheme, hint):
    url = f"{scheme}://127.0.0.1:{free_port()}/"  # nothing listens there
    settings.CELERY_BROKER_URL = url
    with pytest.raises(CommandError) as error:
        call_command("demo_setup")
    message = str(error.value)
    assert f"The Celery broker at {url} is not reachable" in message and hint in message
    assert ("redis-server" in message) == (scheme == "redis")
    assert not get_user_model().objects.exists()  # no login made for a demo that cannot run
