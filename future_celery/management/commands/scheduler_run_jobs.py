"""manage.py scheduler_run_jobs [-P PATH]: superdjango's runner for projects without Celery.
It saves the recurring jobs (@periodic, the registry, the scheduler.ini file at PATH), then
runs due jobs in this process as process_tasks does (its options too). Safe beside Celery
workers and beat: each job is claimed once."""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from future_celery import recurring_jobs, scheduler
from future_celery.exceptions import FutureCeleryError

from . import process_tasks


class Command(process_tasks.Command):
    help = "Load the scheduler.ini file, then run due jobs in this process (no Celery needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "-P",
            "--path",
            help="The scheduler file (default: FUTURE_CELERY_SCHEDULER_PATH, or "
            "config/scheduler.ini of the project); it must exist when given.",
        )

    def handle(self, *args: Any, path: str | None = None, **options: Any) -> None:
        try:
            recurring_jobs.sync_periodic()
            if path is not None and not Path(path).is_file():
                raise CommandError(f"{path}: no such scheduler file")
            report = scheduler.sync(path)
        except FutureCeleryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())
        for label, reason in report.left_out:
            self.stderr.write(f"[{label}] left out: {reason}")
        super().handle(*args, **options)
