"""Django tasks that only the tests enqueue (importable by the test workers too)."""

import asyncio

from future_celery.tasks_api import task
from proj.demo.models import Note

# The labels of order_of_runs() in the order they ran in this process.
RUNS: list[str] = []


class TaskFailure(Exception):
    """What failing tasks raise (a class of a module, not a builtin)."""


@task
def noop():
    return None


@task
def echo(*args, **kwargs):
    return {"args": args, "kwargs": kwargs}


@task
async def async_echo(value):
    await asyncio.sleep(0)
    return {"async": value}


@task(takes_context=True)
def context_report(context, fail_until=0):
    """Fails its first ``fail_until`` attempts; then reports what its context says."""
    if context.attempt <= fail_until:
        raise TaskFailure(f"attempt {context.attempt} fails")
    return {
        "attempt": context.attempt,
        "id": context.task_result.id,
        "status": context.task_result.status,
        "worker_ids": context.task_result.worker_ids,
    }


@task
def fail(message):
    raise TaskFailure(message)


@task
def fail_builtin():
    raise ValueError("a builtin error")


@task
def returns(value_kind, size=0):
    return {"set": lambda: {1, 2}, "long": lambda: "x" * size}[value_kind]()


@task
def write_note_then_return_a_set(title):
    Note.objects.create(title=title)
    return {1, 2}


@task
def order_of_runs(label):
    RUNS.append(label)
    return label
