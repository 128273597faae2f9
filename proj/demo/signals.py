"""Receivers of Django's task signals for the demo's tasks: each records the signal as an
Execution (label "<signal>:<result id>:<status>", with the process that sent it), so that
tests can see when and where each was sent."""

import os

try:
    from django.tasks.signals import task_enqueued, task_finished, task_started  # Django 6.0
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone

from .models import Execution

DEMO_TASKS = "proj.demo.django_tasks."


def record(signal_name):
    def receiver(sender, task_result, **kwargs):
        if task_result.task.module_path.startswith(DEMO_TASKS):
            Execution.objects.create(
                label=f"{signal_name}:{task_result.id}:{task_result.status}",
                started=timezone.now(),
                pid=os.getpid(),
            )

    return receiver


def connect():
    for name, signal in (
        ("task_enqueued", task_enqueued),
        ("task_started", task_started),
        ("task_finished", task_finished),
    ):
        signal.connect(record(name), weak=False, dispatch_uid=f"proj.demo.{name}")
