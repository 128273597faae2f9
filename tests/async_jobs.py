"""``async def`` job callables that only the tests schedule, through every front door
(importable by the test workers and runners too). Each returns what a test checks."""

import asyncio
import os

from asgiref.sync import sync_to_async
from django.db import connection

from future_celery import background, job_as_parameter
from proj.demo.models import Note


class AsyncJobFailure(Exception):
    """What the failing async jobs raise."""


async def add(a, b):
    await asyncio.sleep(0)
    return a + b


async def write_note(title, fail=False):
    """Writes a note through Django's async ORM (its thread-sensitive sync_to_async), and
    reports whether that write ran in a transaction, in which process; then fails if told."""
    await Note.objects.acreate(title=title)
    in_transaction = await sync_to_async(lambda: connection.in_atomic_block)()
    if fail:
        raise AsyncJobFailure(f"{title} failed after its write")
    return {"in_transaction": in_transaction, "pid": os.getpid()}


async def write_note_on_another_thread(title):
    """Writes a note through sync_to_async(thread_sensitive=False) (another thread, its own
    connection, autocommit), then fails: that write is not the job's."""
    await sync_to_async(_create_then_close, thread_sensitive=False)(title)
    raise AsyncJobFailure(f"{title} failed after its write on another thread")


def _create_then_close(title):
    """On a thread of asgiref's pool: that thread's connection is closed after (nothing
    else would close it, and the tests' database could not be dropped)."""
    try:
        Note.objects.create(title=title)
    finally:
        connection.close()


async def sleep_then_write(title, seconds):
    """Waits (as a job waiting on the network does), then writes a note on another thread's
    connection: what it does once it wakes, unless it was stopped meanwhile."""
    await asyncio.sleep(seconds)
    await sync_to_async(_create_then_close, thread_sensitive=False)(title)


@job_as_parameter
async def report_job(job, label):
    await asyncio.sleep(0)
    return f"{label}: job #{job.pk}, attempt {job.attempts}"


@background
async def background_note(title):
    await Note.objects.acreate(title=title)
    return title


def returns_a_coroutine(title):
    """A plain function that returns a coroutine (a sync wrapper of an async one)."""
    return write_note(title)
