"""The tests' brokers (a Redis database and a RabbitMQ vhost of their own), and pointing the
tests' own Celery app (the one schedule_job publishes through) at one of them."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from kombu import Connection, Queue, pools

from proj.celery import app

REDIS_TRANSPORT = "future_celery.redis_transport:Transport"
# A vhost of the tests' own, as they use a Redis database of their own: a `make run` on "/"
# is not disturbed (scripts/ensure-services creates it; so does connect() when it is missing).
RABBITMQ_URL = os.environ.get(
    "TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/future_celery_test"
)


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
    # kombu keeps producer pools in a registry of its own, by broker URL: closed but kept, the
    # old URL's pool would be found again (and fail, "Acquire on closed pool") on the way back.
    pools.reset()
    with contextlib.suppress(AttributeError, KeyError):
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


@dataclasses.dataclass
class Broker:
    """One of the tests' brokers: ``kind`` is "redis" or "rabbitmq"; ``client`` a redis.Redis
    of the tests' Redis database (Redis only)."""

    kind: str
    url: str
    client: redis.Redis | None = None

    def purge(self) -> None:
        """Empty every queue of this broker (on Redis, the whole database: unacknowledged
        messages and bindings too)."""
        if self.client is not None:
            self.client.flushdb()
        else:
            purge_rabbitmq(self.url)

    def message_count(self, queue: str) -> int:
        """How many messages wait in ``queue`` (0 if it does not exist): ready ones, not those
        a consumer holds."""
        with Connection(self.url, transport=transport_for(self.url)) as conn:
            try:
                return (
                    Queue(queue, no_declare=True)(conn.default_channel)
                    .queue_declare(passive=True)
                    .message_count
                )
            except conn.channel_errors:
                return 0


def connect(kind: str, redis_url: str) -> Broker:
    """The broker of that kind, reachable. Raises ConnectionError (with what to do) if not."""
    if kind == "redis":
        client = redis.Redis.from_url(redis_url)
        try:
            client.ping()
        except redis.ConnectionError as exc:
            raise ConnectionError(
                f"Redis at {redis_url} is not reachable: {exc}. Start it "
                "(make test starts it when installed)."
            ) from exc
        return Broker("redis", redis_url, client)
    try:
        _check_rabbitmq(RABBITMQ_URL)
    except Exception:  # NOT_ALLOWED when the vhost is missing: create it, try once more
        _add_vhost(RABBITMQ_URL)
        try:
            _check_rabbitmq(RABBITMQ_URL)
        except Exception as exc:
            raise ConnectionError(
                f"RabbitMQ at {RABBITMQ_URL} is not reachable: {exc}. Start "
                "it (make test starts it when installed)."
            ) from exc
    return Broker("rabbitmq", RABBITMQ_URL)


def _check_rabbitmq(url: str) -> None:
    with Connection(url, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)


def vhost(url: str) -> str:
    return unquote(urlsplit(url).path[1:]) or "/"


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    return subprocess.run(
        ["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=timeout
    ).stdout


def _add_vhost(url: str) -> None:
    """Create the URL's vhost with rabbitmqctl, which manages the local node only."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        rabbitmqctl("add_vhost", vhost(url))
        rabbitmqctl(
            "set_permissions", "-p", vhost(url), urlsplit(url).username or "guest", ".*", ".*", ".*"
        )


def purge_rabbitmq(url: str) -> None:
    """Purge every queue of the vhost (rabbitmqctl lists them; kombu purges each)."""
    names = rabbitmqctl("list_queues", "-p", vhost(url), "--no-table-headers", "-q", "name").split()
    with Connection(url) as conn:
        for name in names:
            try:
                conn.default_channel.queue_purge(name)
            except conn.channel_errors:  # gone meanwhile (an auto-delete reply queue)
                conn.close()  # the error closed the channel; the next one is new


def stop_rabbitmq() -> None:
    """Stop the machine's RabbitMQ application (the node stays up: start_rabbitmq)."""
    rabbitmqctl("stop_app")


def start_rabbitmq() -> None:
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")
