# MySQL and MariaDB have no partial indexes: Django skips every index and unique constraint
# with a condition there. On them this migration creates what stands in for each (on other
# databases it does nothing): the same lookups served by full indexes that start with the
# condition's column, and the two uniqueness rules as plain unique indexes (a unique index
# lets NULLs repeat, so "unique where not null" is the same rule).

from django.db import migrations

JOB = "future_celery_scheduledjob"
RECURRING = "future_celery_recurringjob"
INDEXES = [
    # fc_due_idx, fc_queued_idx, fc_running_idx: the status first.
    (JOB, "fc_due_my_idx", "(status, time_slot_start, id)", False),
    (JOB, "fc_queued_my_idx", "(status, queued_at)", False),
    (JOB, "fc_running_my_idx", "(status, heartbeat)", False),
    (JOB, "fc_object_my_idx", "(content_type_id, object_id)", False),
    (JOB, "fc_creator_my_idx", "(creator_content_type_id, creator_object_id)", False),
    (JOB, "fc_one_repeat_per_job_my", "(repeat_of_id)", True),
    (JOB, "fc_one_occurrence_per_slot_my", "(recurring_id, slot)", True),
    (RECURRING, "fc_recurring_due_my_idx", "(active, next_slot)", False),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    for table, name, columns, unique in INDEXES:
        kind = "UNIQUE INDEX" if unique else "INDEX"
        schema_editor.execute(f"CREATE {kind} `{name}` ON `{table}` {columns}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    for table, name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX `{name}` ON `{table}`")


class Migration(migrations.Migration):
    dependencies = [
        ("future_celery", "0005_django_tasks"),
    ]

    # Not atomic: MySQL cannot run DDL in a transaction (and commits each statement).
    operations = [migrations.RunPython(create, drop, atomic=False)]
