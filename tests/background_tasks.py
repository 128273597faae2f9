"""@background functions of the tests of django-background-tasks' contract
(tests/integration/test_background_contract.py, and on Celery workers
tests/acceptance/test_background_on_celery.py), written with the compat import path."""

import os

from django.utils import timezone

from future_celery.compat.background_task import background
from future_celery.compat.background_task.exceptions import InvalidTaskError
from future_celery.exceptions import DoNotRetry
from proj.demo.models import Execution


def _record(label):
    Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())


@background
def record(label, fail=False):
    _record(label)
    if fail:
        raise ValueError(f"{label} failed")
    return label


@background(schedule={"run_at": 90, "priority": 5})
def with_default_schedule(label):
    _record(label)


@background(schedule={"priority": 2})
def with_default_priority(label):
    _record(label)


class NoSuchInvoice(InvalidTaskError):
    """A task's own error that must not be retried (upstream's tests subclass it so)."""


@background
def invalid(label):
    raise NoSuchInvoice(f"{label}: the invoice is gone")


def fail_for_good(label):
    """A schedule_job callable that gives up at once, whatever attempts it has left."""
    raise DoNotRetry(f"{label}: nothing to retry")


@background
def keys_of(mapping, nested=None):
    """What the function gets: the keys of its dict arguments, and their types."""
    got = sorted(mapping) + sorted((nested or {}).get("inner", {}))
    assert all(isinstance(key, str) for key in got), got
    return got


def first_of_a_name(label):
    return f"first {label}"


def second_of_a_name(label):
    return f"second {label}"
