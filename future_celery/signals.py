"""Signals that future_celery sends. Receivers live in signal_handlers.py."""

from django.dispatch import Signal

# Sent after a job was cancelled; sender is ScheduledJob, with ``job``.
job_cancelled = Signal()
