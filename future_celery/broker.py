"""The broker as the caller of schedule_job() meets it: bounded waits, and a short memory of
a failure.

A job due within the look-ahead is handed to Celery right after the commit that scheduled
it, in the caller's thread (a view, a job). That hand-over must never hold the caller up for
long when the broker is down or does not answer: the row is saved, and the tick dispatches it
once the broker is back. So it publishes over connections of its own, on which connecting
and each send or receive give up after FUTURE_CELERY_BROKER_TIMEOUT seconds, without Celery's
retries; and after a failure it leaves the broker alone for a few seconds, so that a burst of
calls pays for one failed attempt, not one each. The tick (celery beat) keeps the app's own
connections and retry policy: it runs in the background, and may wait.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from kombu.pools import ProducerPool

from . import conf

if TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)

# Seconds after a failed hand-over during which jobs are left to the tick.
QUIET_AFTER_FAILURE = 5.0

_lock = threading.Lock()
_pool: ProducerPool | None = None
# (pid, broker URL, transport, timeout): what _pool was made for.
_pool_key: tuple[int, str | None, str | None, float] | None = None
_failed_at = -float("inf")


def available() -> bool:
    """False for a few seconds after a failed hand-over: the caller leaves its jobs to the tick."""
    return time.monotonic() - _failed_at >= QUIET_AFTER_FAILURE


def producers(app: Celery) -> ProducerPool:
    """This process's pool of producers with bounded waits, for the broker ``app`` names."""
    global _pool, _pool_key
    timeout = conf.get("BROKER_TIMEOUT")
    key = (
        os.getpid(),
        app.conf.broker_write_url or app.conf.broker_url,
        app.conf.broker_transport,
        timeout,
    )
    with _lock:
        if _pool is None or _pool_key != key:
            _close()
            options = dict(
                app.conf.broker_transport_options or {},
                # kombu: no retries when the connection cannot be made
                max_retries=0,
                # Redis (redis-py)
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                # RabbitMQ (py-amqp)
                read_timeout=timeout,
                write_timeout=timeout,
            )
            connection = app.connection_for_write(
                connect_timeout=timeout, transport_options=options
            )
            _pool = ProducerPool(
                connection.Pool(limit=app.conf.broker_pool_limit), limit=app.conf.broker_pool_limit
            )
            _pool_key = key
        return _pool


def failed(app: Celery, count: int, exc: BaseException) -> None:
    """Record a failed hand-over of ``count`` jobs: one warning line, the traceback at debug
    level, the connections dropped (the next attempt connects anew)."""
    global _failed_at
    _failed_at = time.monotonic()
    broker = app.connection_for_write().as_uri()  # the password masked
    logger.warning(
        "Could not hand %s due jobs to the broker %s (%s: %s); they stay scheduled "
        "and the tick will dispatch them",
        count,
        broker,
        type(exc).__name__,
        exc,
    )
    logger.debug("The broker's error", exc_info=exc)
    with _lock:
        _close()


def forget() -> None:
    """Drop this process's connections and the memory of a failure: for a process whose
    broker settings changed."""
    global _failed_at
    with _lock:
        _close()
        _failed_at = -float("inf")


def _close() -> None:
    global _pool, _pool_key
    if _pool is not None and _pool_key and _pool_key[0] == os.getpid():
        try:
            _pool.connections.force_close_all()
            # celery-types 0.26's ProducerPool lacks the base class (kombu's Resource) that
            # has this method.
            _pool.force_close_all()  # type: ignore[attr-defined]
        except Exception:  # closing connections to a broker that is gone
            logger.debug("Closing the dispatch connections failed", exc_info=True)
    _pool, _pool_key = None, None
