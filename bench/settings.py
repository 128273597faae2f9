"""The benchmark's settings: proj's, with the benchmark's own jobs (bench.tasks) allowed."""

from proj.settings import *  # noqa: F403
from proj.settings import FUTURE_CELERY_ALLOWED_CALLABLES

FUTURE_CELERY_ALLOWED_CALLABLES = [*FUTURE_CELERY_ALLOWED_CALLABLES, "bench.*"]
