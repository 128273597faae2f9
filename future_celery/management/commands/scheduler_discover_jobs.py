"""manage.py scheduler_discover_jobs: import the apps' scheduler modules and save the jobs
they register (superdjango's command), and the @periodic functions of their tasks modules."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from future_celery import recurring_jobs
from future_celery.exceptions import FutureCeleryError
from future_celery.scheduler import registry


class Command(BaseCommand):
    help = (
        "Save the recurring jobs that the installed apps' scheduler modules register (and "
        "their @periodic functions)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            saved = recurring_jobs.sync_periodic() + registry.discover()
        except FutureCeleryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{len(saved)} jobs discovered")
        for job in saved:
            self.stdout.write(
                f"[{job.label}] {job.callable_name}, {'active' if job.active else 'inactive'}"
            )
