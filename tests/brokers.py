"""Pointing the tests' own Celery app (the one schedule_job publishes through) at a broker."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings

from proj.celery import app

REDIS_TRANSPORT = "future_celery.redis_transport:Transport"


def transport_for(url: str) -> str | None:
    """The broker transport proj uses for ``url``: our fixed Redis transport for redis://."""
    return REDIS_TRANSPORT if url.startswith(("redis://", "rediss://")) else None


def point_app_at(url: str) -> None:
    """Make the test process's Celery app publish to ``url`` from its next message on."""
    app.conf.broker_url = url
    app.conf.broker_write_url = None
    app.conf.broker_transport = transport_for(url)
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        producers = app.__dict__["amqp"]._producer_pool
        if producers is not None:
            producers.force_close_all()
        app.__dict__["amqp"]._producer_pool = None
    from future_celery import dispatch

    dispatch.forget_broker()


@contextlib.contextmanager
def use_broker(url: str) -> Iterator[None]:
    """The test process publishes to ``url`` inside the block (settings.CELERY_BROKER_URL
    too, so that processes started with base_env() use it), and to the old broker after."""
    old = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = url
    point_app_at(url)
    try:
        yield
    finally:
        settings.CELERY_BROKER_URL = old
        point_app_at(old)
