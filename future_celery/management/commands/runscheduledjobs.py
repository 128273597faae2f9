"""manage.py runscheduledjobs: run due jobs in this process (django-future's command), or
with --dispatch run one dispatcher tick that hands them to Celery (cron instead of beat)."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from future_celery.dispatch import tick
from future_celery.exceptions import RunnerAlreadyActive
from future_celery.management.base import RunnerCommand
from future_celery.runner import run_due


class Command(RunnerCommand):
    help = "Run the scheduled jobs that are due, in this process, without Celery."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-d",
            "--delete-completed",
            action="store_true",
            help="Delete the rows of jobs that complete.",
        )
        parser.add_argument(
            "-i",
            "--ignore-errors",
            action="store_true",
            help="Go on after a job fails instead of stopping at the first failure.",
        )
        parser.add_argument(
            "--dispatch",
            action="store_true",
            help="Do not run jobs here: run one tick that hands the jobs due soon to Celery "
            "workers (for projects that run this from cron instead of celery beat).",
        )

    def handle(
        self,
        *args: Any,
        delete_completed: bool = False,
        ignore_errors: bool = False,
        dispatch: bool = False,
        **options: Any,
    ) -> None:
        if dispatch:
            ticked = tick()
            self.stdout.write(
                f"{ticked.dispatched} dispatched, {ticked.expired} expired, "
                f"{ticked.republished} sent again, {ticked.resent_for_lost_workers} sent again "
                f"for lost workers, {ticked.recovered} recovered from lost workers, "
                f"{ticked.occurrences} occurrences of recurring jobs made"
            )
            return
        try:
            report = run_due(delete_completed=delete_completed, stop_on_error=not ignore_errors)
        except RunnerAlreadyActive as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{len(report.completed)} completed, {len(report.failed)} failed, "
            f"{report.expired} expired, {report.recovered} recovered from lost workers"
        )
        if report.error is not None:
            job = report.failed_job
            assert job is not None  # run_due sets it with the error
            raise CommandError(
                f"job #{job.pk} ({job.callable_name}) failed; stopped (use -i to go on).\n"
                f"{job.error}"
            )
