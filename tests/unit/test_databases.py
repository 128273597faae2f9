"""What future_celery asks of the database server: MySQL 8 / MariaDB 10.6 (SKIP LOCKED) and
time zone tables (the check's logic, on stand-ins of a connection); and the Tasks framework
from Django or its backport."""

import subprocess
import sys

from future_celery import checks
from tests.processes import ROOT


class ServerStandIn:
    """What the check reads of a MySQL connection: the server and one query's answer."""

    vendor = "mysql"

    def __init__(self, mariadb, version, converted="2000-01-01 01:00:00"):
        self.mysql_is_mariadb, self.mysql_version, self.converted = mariadb, version, converted

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        assert "CONVERT_TZ" in sql

    def fetchone(self):
        return (self.converted,)


def test_mariadb_older_than_10_6_is_refused_by_name():
    [error] = checks._mysql_server_messages("default", ServerStandIn(True, (10, 5, 27)))
    assert error.id == "future_celery.E002"
    assert "MariaDB 10.6 or newer" in error.msg and "is MariaDB 10.5.27" in error.msg


def test_mysql_older_than_8_is_refused_by_name():
    [error] = checks._mysql_server_messages("default", ServerStandIn(False, (5, 7, 44)))
    assert error.id == "future_celery.E002" and "MySQL 8.0.11 or newer" in error.msg


def test_a_new_enough_server_without_time_zone_tables_is_warned_about():
    [warning] = checks._mysql_server_messages(
        "default", ServerStandIn(True, (10, 11, 19), converted=None)
    )
    assert warning.id == "future_celery.W003" and "mysql_tzinfo_to_sql" in warning.hint


def test_a_new_enough_server_with_time_zone_tables_passes():
    assert checks._mysql_server_messages("default", ServerStandIn(True, (10, 6, 0))) == []
    assert checks._mysql_server_messages("default", ServerStandIn(False, (8, 0, 11))) == []


def test_without_django_tasks_or_its_backport_the_import_error_names_the_backport():
    hide = "import sys; sys.modules['django.tasks'] = sys.modules['django_tasks'] = None; "
    done = subprocess.run(
        [sys.executable, "-c", hide + "import future_celery.tasks_api"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "TasksFrameworkMissing" in done.stderr and "django-tasks backport" in done.stderr
