"""Example job functions. Schedule them with e.g.
``schedule_job('30s', 'proj.demo.jobs.say_hello', args=['Ada'])``."""

import os
import time

from django.utils import timezone

from future_celery import job_as_parameter

from .models import Execution, Note


def say_hello(name="world"):
    return f"Hello, {name}!"


def add(a, b):
    return a + b


def echo(*args, **kwargs):
    """Returns its arguments, so a caller can check they arrived as they were sent."""
    return repr((args, kwargs))


def record(label, fail=False, seconds=0):
    """Write one Execution row (the job's own write), then optionally sleep and fail."""
    Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())
    if seconds:
        time.sleep(seconds)
    if fail:
        raise RuntimeError(f"record({label!r}) was asked to fail")
    return label


def boom(message="boom"):
    raise ValueError(message)


def sleep(seconds=1.0):
    time.sleep(seconds)
    return seconds


def note_title(note, suffix=""):
    """Gets the job's content object as its first argument."""
    return note.title + suffix


@job_as_parameter
def countdown(job, n=3):
    """Reschedules itself, counting down: shows @job_as_parameter and reschedule()."""
    if n > 1:
        job.reschedule("1s", kwargs={"n": n - 1})
    return n


@job_as_parameter
def whoami(job):
    return f"job #{job.pk} attempt {job.attempts}"


def create_note(title):
    return Note.objects.create(title=title).pk


@job_as_parameter
def stall_first_attempt(job, label, seconds=30):
    """Records each attempt; the first one stalls (for tests that kill the worker)."""
    Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())
    if job.attempts == 1:
        time.sleep(seconds)
    return f"{label} attempt {job.attempts}"


def shout(text):
    """Print ``text`` in capitals (what a job prints goes to the worker's output)."""
    print(text.upper())
    return text.upper()
