"""manage.py scheduler_list_jobs [-P PATH]: the jobs of the scheduler.ini file (superdjango's
command); it only reads the file and saves nothing."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from future_celery.exceptions import SchedulerFileError
from future_celery.scheduler import ini


class Command(BaseCommand):
    help = "List the jobs of the scheduler.ini file (nothing is saved)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-P",
            "--path",
            help="The scheduler file (default: FUTURE_CELERY_SCHEDULER_PATH, or "
            "config/scheduler.ini of the project).",
        )

    def handle(self, *args: Any, path: str | None = None, **options: Any) -> None:
        try:
            contents = ini.read(path)
        except SchedulerFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{contents.path}: {len(contents.jobs)} jobs")
        for job in contents.jobs:
            self.stdout.write(
                f"[{job.label}] {job.callable}, {job.describe()}, "
                f"{'active' if job.active else 'inactive'}"
                + (f", kwargs {job.kwargs!r}" if job.kwargs else "")
            )
        for label, reason in contents.left_out:
            self.stderr.write(f"[{label}] left out: {reason}")
