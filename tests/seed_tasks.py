"""A project's tasks module before its move to future_celery: decorated with
django-background-tasks' own @background, whose calls write rows of that project's
``background_task`` table. tests/integration/test_import_background_tasks.py makes rows
with it, then switches the functions to our decorator (as a user changes the import line)
before it imports them."""

import os

from background_task import background
from django.utils import timezone

from proj.demo.models import Execution


def record(label, times=1, fail=False):
    for _ in range(times):
        Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())
    if fail:
        raise ValueError(f"{label} failed")
    return label


@background(schedule=60)
def record_visit(label, times=1, fail=False):
    return record(label, times, fail)


@background(name="seed-renamed")
def renamed(label):
    return record(label)


@background
def still_on_the_seed(label):
    """Never switched to our decorator: its rows must not be imported."""
    return record(label)
