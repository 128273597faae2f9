"""A Django Tasks (django.tasks) no-op for the benchmark: the same body as bench.tasks.noop,
enqueued through proj's TASKS backend (future_celery.tasks_backend.FutureCeleryBackend)."""

from django.tasks import task

from bench.tasks import noop


@task
def noop_task(label, due):
    noop(label, due)
