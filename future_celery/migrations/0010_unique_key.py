# Unique jobs: a nullable unique_key on jobs (and on recurring jobs, for their occurrences),
# and one pending job (scheduled, queued or running) at most per key, decided by the
# database. On PostgreSQL and SQLite that is a partial unique index holding only the pending
# rows that have a key. MySQL and MariaDB have no partial indexes (Django skips the constraint
# there, as migration 0006 explains), so on them a virtual generated column holds the key
# while the row is pending and NULL otherwise, and a plain unique index on it holds the same
# rule (a unique index lets NULLs repeat). The column is VARBINARY, so keys are compared byte
# for byte as on the other databases: the table's collation would make 'Invoice-42' and
# 'invoice-42', or 'a' and 'a ', the same key. The column is the database's own (the model
# does not know it); ALTER TABLE statements on `status` or `unique_key` must keep it valid.
#
# On PostgreSQL the new column is NULL on every row, so the index starts empty (building it
# still reads the table once, under a lock that blocks writes meanwhile).

from django.db import migrations, models

import future_celery.options

JOB = "future_celery_scheduledjob"
MYSQL_COLUMN = "fc_pending_unique_key"
MYSQL_INDEX = "fc_one_pending_job_per_key_my"


def create_mysql(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    # 255 characters of utf8mb4: at most 1,020 bytes.
    schema_editor.execute(
        f"ALTER TABLE `{JOB}` ADD COLUMN `{MYSQL_COLUMN}` VARBINARY(1020) AS "
        "(CASE WHEN `status` IN ('scheduled', 'queued', 'running') "
        "THEN CAST(`unique_key` AS BINARY) END) VIRTUAL, "
        f"ADD UNIQUE INDEX `{MYSQL_INDEX}` (`{MYSQL_COLUMN}`)"
    )


def drop_mysql(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    schema_editor.execute(
        f"ALTER TABLE `{JOB}` DROP INDEX `{MYSQL_INDEX}`, DROP COLUMN `{MYSQL_COLUMN}`"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("future_celery", "0009_run_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="recurringjob",
            name="unique_key",
            field=models.CharField(
                blank=True,
                max_length=255,
                null=True,
                validators=[future_celery.options.validate_unique_key],
                verbose_name="unique key",
            ),
        ),
        migrations.AddField(
            model_name="scheduledjob",
            name="unique_key",
            field=models.CharField(
                blank=True,
                max_length=255,
                null=True,
                validators=[future_celery.options.validate_unique_key],
                verbose_name="unique key",
            ),
        ),
        migrations.AddConstraint(
            model_name="scheduledjob",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("status__in", ["scheduled", "queued", "running"]),
                    ("unique_key__isnull", False),
                ),
                fields=("unique_key",),
                name="fc_one_pending_job_per_key",
            ),
        ),
        # Not atomic: MySQL cannot run DDL in a transaction (and commits each statement).
        migrations.RunPython(create_mysql, drop_mysql, atomic=False),
    ]
