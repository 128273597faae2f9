"""The demo's django-background-tasks functions (found in tasks.py, as that project's
autodiscovery expects). Each records its runs in Execution, so tests can count them."""

import os

from django.contrib.auth.models import User
from django.utils import timezone

from future_celery import background

from .models import Execution


@background(schedule=60)
def notify_user(user_id):
    """The seed's example: look the user up by id and record the notification."""
    user = User.objects.get(pk=user_id)
    Execution.objects.create(
        label=f"notify-{user.username}", started=timezone.now(), pid=os.getpid()
    )
    return user.username


@background
def record_background(label, fail=False):
    Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())
    if fail:
        raise ValueError(f"{label} failed")
    return label


@background(queue="my-queue")
def on_my_queue(label):
    Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())


@background(name="demo.renamed")
def renamed(label):
    Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())


@background(remove_existing_tasks=True)
def refresh_cache(key):
    Execution.objects.create(label=f"refresh-{key}", started=timezone.now(), pid=os.getpid())
