"""manage.py import_django_future: move the jobs waiting in django-future's table into
ScheduledJob rows (see future_celery.from_django_future); --unpickle-arguments reads their
pickled arguments, --dry-run only says what it would move and refuse."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from future_celery.exceptions import DjangoFutureTableMissing
from future_celery.from_django_future import (
    FLAG,
    TABLE,
    DjangoFutureReport,
    import_django_future,
    pickled_refusals,
)


class Command(BaseCommand):
    help = (
        "Move the jobs waiting in django-future's django_future_scheduledjob table (status "
        "'scheduled') into scheduled jobs, in one transaction, deleting each row moved; a row "
        "that cannot be imported stays, with the reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            FLAG,
            action="store_true",
            dest="unpickle_arguments",
            help=(
                "Read the rows' pickled args and kwargs. Unpickling runs whatever code a "
                "pickle names: use it only if the table is yours, written by your own "
                "django-future. Without it, rows with arguments are refused."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be imported and refused; change nothing.",
        )

    def handle(
        self, *args: Any, unpickle_arguments: bool = False, dry_run: bool = False, **options: Any
    ) -> None:
        try:
            report = import_django_future(unpickle_arguments=unpickle_arguments, dry_run=dry_run)
        except DjangoFutureTableMissing as exc:
            raise CommandError(str(exc)) from exc
        self._write(report, options["verbosity"])

    def _write(self, report: DjangoFutureReport, verbosity: int) -> None:
        if report.dry_run or verbosity > 1:
            verb = "would import" if report.dry_run else "imported"
            for item in report.imported:
                job = f" as job #{item.job.pk}" if item.job.pk is not None else ""
                self.stdout.write(f"{verb} #{item.row_id} {item.callable_name}{job}")
        verb = "would refuse" if report.dry_run else "refused"
        for row in report.refused:
            self.stdout.write(
                self.style.WARNING(f"{verb} #{row.row_id} {row.callable_name}: ") + row.reason
            )
        if report.left:
            counts = ", ".join(f"{count} {status}" for status, count in report.left.items())
            self.stdout.write(f"left in {TABLE}: {counts}")
        pickled = pickled_refusals(report)
        if pickled:
            self.stdout.write(
                f"{pickled} refused for their pickled arguments: run it again with {FLAG} "
                "to read them, if the table is yours (unpickling runs code from it)"
            )
        imported, refused = len(report.imported), len(report.refused)
        if report.dry_run:
            self.stdout.write(
                f"{imported} to import, {refused} to refuse (dry run: nothing was changed)"
            )
        else:
            self.stdout.write(f"{imported} imported, {refused} refused")
