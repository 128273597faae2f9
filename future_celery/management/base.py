"""What the commands that run jobs in their own process (runscheduledjobs, process_tasks)
share."""

from typing import Any

from django.core.management.base import BaseCommand


class RunnerCommand(BaseCommand):
    """A command whose system checks leave the database alone, as before Django 6.1. Django
    6.1 hands every database to the model checks, whose probes (SQLite's JSON support, in a
    transaction) wait for the write lock that a job running in another runner holds, then
    fail with a misleading "SQLite does not support JSONFields" where the runner's own lock
    would say "another runscheduledjobs runner is active"."""

    def check(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("databases") is None:
            kwargs["databases"] = []
        super().check(*args, **kwargs)
