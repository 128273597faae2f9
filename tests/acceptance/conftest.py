"""Every status change the real workers, beat and runners make in these scenarios is one
that future_celery.lifecycle lists (on PostgreSQL, where the database logs them)."""

from __future__ import annotations

import pytest
from django.db import connection

from future_celery.lifecycle import TRANSITIONS
from tests import transitions


@pytest.fixture(autouse=True)
def only_listed_transitions(django_db_setup, django_db_blocker):
    if connection.vendor != "postgresql":
        yield
        return
    with django_db_blocker.unblock():
        transitions.install()
        transitions.clear()
    yield
    with django_db_blocker.unblock():
        seen = transitions.seen()
    unlisted = seen - {(t.source, t.target) for t in TRANSITIONS}
    assert not unlisted, f"status changes not in lifecycle.TRANSITIONS: {unlisted}"
