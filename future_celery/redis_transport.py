"""kombu's Redis transport with one fix: a worker survives a Redis restart.

kombu 5.7.0 kills the worker ("Unrecoverable error: AttributeError: 'NoneType' object has no
attribute 'hostname'" or "... attribute 'client'") when the broker connection is lost while
the worker holds unacknowledged messages: giving them back while closing the dead channel, or
acknowledging one late after the reconnect, builds a Redis client from a connection that is
gone. Here that raises a connection error instead, which kombu and Celery handle: the worker
reconnects, and the messages stay in Redis' unacked set, from which Redis gives them back after
the visibility timeout (a redelivered message of a finished job is ignored by its claim, and
the tick re-dispatches any job whose message was lost).

Use it with CELERY_BROKER_TRANSPORT = "future_celery.redis_transport:Transport" (the URL
keeps its redis:// form)."""

from __future__ import annotations

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection of this channel is closed")
        return super()._connparams(asynchronous)


class Transport(redis.Transport):
    Channel = Channel
