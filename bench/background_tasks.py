"""future_celery's @background no-op for the benchmark: the same body as bench.tasks.noop
(one RPUSH of label, due time and start time). A call schedules a job named
bench.background_tasks.noop_background, which Celery workers, ``manage.py process_tasks``
and the runner find by importing this module."""

from bench.tasks import noop
from future_celery import background


@background
def noop_background(label, due):
    noop(label, due)
