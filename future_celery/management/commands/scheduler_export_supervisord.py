"""manage.py scheduler_export_supervisord PATH [-w] [-n NAME]: print a supervisord
configuration for this project's Celery worker and beat, and for PATH, a shell script that
runs manage.py scheduler_run_jobs (for projects without Celery); -w writes that script."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from future_celery.scheduler import supervisord


class Command(BaseCommand):
    help = (
        "Print a supervisord configuration (Celery worker and beat, and a program running "
        "the shell script PATH, which calls scheduler_run_jobs); -w writes the script."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The shell script that runs scheduler_run_jobs.")
        parser.add_argument(
            "-w", "--write", action="store_true", help="Write the shell script to PATH."
        )
        parser.add_argument(
            "-n", "--name", help="The programs' name prefix (default: the project's name)."
        )
        parser.add_argument(
            "-A", "--app", help="The Celery app for celery -A (default: the project's name)."
        )
        parser.add_argument("-P", "--ini", help="The scheduler file the script passes on (-P).")

    def handle(
        self,
        *args: Any,
        path: str,
        write: bool = False,
        name: str | None = None,
        app: str | None = None,
        ini: str | None = None,
        **options: Any,
    ) -> None:
        script = Path(path).absolute()
        self.stdout.write(
            supervisord.config(script, name or supervisord.project_name(), app), ending=""
        )
        if write:
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(supervisord.script(ini), encoding="utf-8")
            script.chmod(0o755)
            self.stderr.write(f"{script} written")
