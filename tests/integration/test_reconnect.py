"""A write-back that meets a closed database connection reconnects and retries."""

import pytest
from django.db import connection

from future_celery.db import reconnecting
from future_celery.models import ScheduledJob

pytestmark = pytest.mark.postgresql


@pytest.mark.django_db(transaction=True)
def test_a_connection_terminated_mid_write_is_replaced_and_the_write_retried():
    calls = []

    def write_back():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            calls.append(cursor.fetchone()[0])
            if len(calls) == 1:  # the server drops this session, as pg_terminate_backend does
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return ScheduledJob.objects.count()

    assert reconnecting(write_back, delay=0.01)() == 0
    assert len(calls) == 2 and calls[0] != calls[1]  # a new session did the write
