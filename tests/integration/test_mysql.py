"""On MySQL and MariaDB (the MariaDB pass of make test): the server passes the database
checks, and migration 0006's indexes stand in for the partial ones Django skips there."""

import pytest
from django.core import checks
from django.db import connection

pytestmark = [pytest.mark.mysql, pytest.mark.django_db]


def test_the_server_passes_the_database_checks():
    messages = checks.run_checks(databases=["default"], include_deployment_checks=False)
    assert [m.id for m in messages if m.id.startswith(("future_celery", "models.W03"))] == []


def test_the_stand_in_indexes_exist():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT index_name, non_unique FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND index_name LIKE 'fc\\_%%\\_my%%'"
        )
        found = dict(cursor.fetchall())
    assert found["fc_due_my_idx"] == 1 and found["fc_recurring_due_my_idx"] == 1
    assert found["fc_one_repeat_per_job_my"] == 0
    assert found["fc_one_occurrence_per_slot_my"] == 0
