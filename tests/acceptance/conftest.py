"""Every status change the real workers, beat and runners make in these scenarios is one
that future_celery.lifecycle lists (on PostgreSQL, where the database logs them)."""

from __future__ import annotations

import pytest
from django.db import connection

from future_celery.lifecycle import TRANSITIONS
from tests import transitions


def _uses_the_database(request: pytest.FixtureRequest) -> bool:
    """Whether the test has the database (pytest-django sets up only the databases the
    collected tests ask for: a test that asks for none may run with none created)."""
    return request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "process_env"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def only_listed_transitions(request, django_db_setup, django_db_blocker):
    if connection.vendor != "postgresql" or not _uses_the_database(request):
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
