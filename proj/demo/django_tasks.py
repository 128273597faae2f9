"""The demo's Django tasks (django.tasks), run by future_celery's backend (TASKS in
proj/settings.py): enqueued by the demo's /tasks/ view, run by the Procfile's worker. Each
returns a JSON value, which its TaskResult gives back in any process."""

import asyncio
import os

try:
    from django.tasks import task  # Django 6.0
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks import task
from django.utils import timezone

from .models import Execution


@task
def add(a, b):
    return a + b


@task
async def greet(name):
    """An async task: the worker runs it through async_to_sync."""
    await asyncio.sleep(0)
    return f"Hello, {name}!"


@task(takes_context=True, priority=50)
def report_attempt(context, label):
    """Records its run; returns its attempt number, its own result id and its process."""
    Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())
    return {"attempt": context.attempt, "id": context.task_result.id, "pid": os.getpid()}


@task
def fail(label):
    raise ValueError(f"{label} failed")
