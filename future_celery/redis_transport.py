"""kombu's Redis transport with two fixes: a worker survives a Redis restart, and it does not
build a Redis client for every message.

1. kombu 5.7.0 kills the worker ("Unrecoverable error: AttributeError: 'NoneType' object has
   no attribute 'hostname'" or "... attribute 'client'") when the broker connection is lost
   while the worker holds unacknowledged messages: giving them back while closing the dead
   channel, or acknowledging one late after the reconnect, builds a Redis client from a
   connection that is gone. Here that raises a connection error instead, which kombu and
   Celery handle: the worker reconnects, and the messages stay in Redis' unacked set, from
   which Redis gives them back after the visibility timeout (a redelivered message of a
   finished job is ignored by its claim, and the tick re-dispatches any job whose message was
   lost).
2. kombu makes a new ``redis.Redis`` for each synchronous command of a channel: for each
   message a worker receives (recording it as unacknowledged) and acknowledges, and for each
   message sent outside a batch. redis-py 8 fills every new client's table of ~170 response
   callbacks one key at a time (redis-py issue #3624), so that was a sixth of a worker main
   process's time while it took up a batch of eta messages. The channel here keeps one
   client per connection pool. A client with a pool holds no connection of its own: each
   command takes one from the pool, as with a new client, so it is safe across threads, and
   a new pool (after a fork, or a reconnect) gets a new client.

Use it with CELERY_BROKER_TRANSPORT = "future_celery.redis_transport:Transport" (the URL
keeps its redis:// form)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError

if TYPE_CHECKING:
    from redis import Redis


class Channel(redis.Channel):
    _sync_client: Redis | None = None

    # celery-types' stub of kombu's redis Channel leaves out its private _connparams and
    # _create_client, which these override (hence the ignores on the super() calls).
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection of this channel is closed")
        return super()._connparams(asynchronous)  # type: ignore[misc]  # see above

    def _create_client(self, asynchronous: bool = False) -> Redis:
        if asynchronous:  # the event loop's clients, made once per channel by kombu
            return super()._create_client(asynchronous=True)  # type: ignore[misc]  # see above
        pool = self.pool
        client = self._sync_client
        if client is None or client.connection_pool is not pool:
            client = self._sync_client = super()._create_client()  # type: ignore[misc]  # see above
        return client


class Transport(redis.Transport):
    Channel = Channel
