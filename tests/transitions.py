"""Watching the status changes the database sees: a statement trigger on the jobs table (on
PostgreSQL) logs each (from, to) pair any process makes, workers and beat included."""

from __future__ import annotations

from django.db import connection

from future_celery import ScheduledJob

LOG = "fc_test_transitions"
TABLE = ScheduledJob._meta.db_table

_INSTALL = f"""
CREATE TABLE IF NOT EXISTS {LOG} (source text NOT NULL, target text NOT NULL);
CREATE OR REPLACE FUNCTION {LOG}_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {LOG} (source, target)
    SELECT DISTINCT o.status, n.status FROM fc_old o JOIN fc_new n ON o.id = n.id
    WHERE o.status <> n.status;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS {LOG} ON {TABLE};
CREATE TRIGGER {LOG} AFTER UPDATE ON {TABLE}
    REFERENCING OLD TABLE AS fc_old NEW TABLE AS fc_new
    FOR EACH STATEMENT EXECUTE FUNCTION {LOG}_log();
"""


def install() -> None:
    """Start logging (PostgreSQL only; idempotent)."""
    assert connection.vendor == "postgresql", "the transition log needs PostgreSQL"
    with connection.cursor() as cursor:
        cursor.execute(_INSTALL)


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LOG}")


def seen() -> set[tuple[str, str]]:
    """The (from, to) pairs logged since the last clear()."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT source, target FROM {LOG}")
        return set(cursor.fetchall())
