"""The job body the benchmark runs, the same for future_celery and for raw Celery: a no-op
that records its own start time (one RPUSH to Redis)."""

import os
import time

import redis
from celery import shared_task

_client = None

RESULTS_KEY = "bench:starts"


def _redis():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            os.environ.get("BENCH_RESULTS_URL", "redis://127.0.0.1:6379/13")
        )
    return _client


def noop(label, due):
    """The job: record (label, due time, start time)."""
    _redis().rpush(RESULTS_KEY, f"{label} {due} {time.time()}")


@shared_task(name="bench.raw", ignore_result=True)
def raw(label, due):
    """The same body as a plain Celery task, for raw apply_async(eta=...)."""
    noop(label, due)
