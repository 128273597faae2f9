"""manage.py import_background_tasks: move the jobs waiting in django-background-tasks'
table into ScheduledJob rows (see future_celery.importers); --dry-run only says what it
would move and skip."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from future_celery.exceptions import BackgroundTaskTableMissing
from future_celery.importers import ImportReport, import_background_tasks


class Command(BaseCommand):
    help = (
        "Move the waiting jobs of django-background-tasks' background_task table into "
        "scheduled jobs, in one transaction; rows whose function does not resolve stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be imported and skipped; change nothing.",
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        try:
            report = import_background_tasks(dry_run=dry_run)
        except BackgroundTaskTableMissing as exc:
            raise CommandError(str(exc)) from exc
        self._write(report, options["verbosity"])

    def _write(self, report: ImportReport, verbosity: int) -> None:
        if report.dry_run or verbosity > 1:
            verb = "would import" if report.dry_run else "imported"
            for item in report.imported:
                job = f" as job #{item.job.pk}" if item.job.pk is not None else ""
                self.stdout.write(f"{verb} #{item.task_id} {item.task_name}{job}")
        verb = "would skip" if report.dry_run else "skipped"
        for row in report.skipped:
            self.stdout.write(
                self.style.WARNING(f"{verb} #{row.task_id} {row.task_name}: ") + row.reason
            )
        if report.running or report.failed:
            self.stdout.write(
                f"left in background_task: {report.running} running, {report.failed} failed"
            )
        imported, skipped = len(report.imported), len(report.skipped)
        if report.dry_run:
            self.stdout.write(
                f"{imported} to import, {skipped} to skip (dry run: nothing was changed)"
            )
        else:
            self.stdout.write(f"{imported} imported, {skipped} skipped")
