"""manage.py scheduler_export_ini [-p]: write the recurring jobs of code and of the INI file
to the scheduler.ini file, or with -p to standard output (superdjango's command)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from future_celery.scheduler import ini


class Command(BaseCommand):
    help = "Write the recurring jobs to the scheduler.ini file (-p: to standard output)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-p",
            "--preview",
            action="store_true",
            help="Print the file instead of writing it.",
        )

    def handle(self, *args: Any, preview: bool = False, **options: Any) -> None:
        if preview:
            self.stdout.write(ini.dumps(ini.exported_jobs()), ending="")
            return
        path, count = ini.write()
        self.stdout.write(f"{count} jobs written to {path}")
