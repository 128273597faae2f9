"""The Redis transport on real Redis: one client per connection pool, through which
messages are sent, received, recorded as unacknowledged and acknowledged."""

import pytest
from kombu import Connection

pytestmark = pytest.mark.engine


def _connection(url: str) -> Connection:
    return Connection(url, transport="future_celery.redis_transport:Transport")


def test_a_channel_keeps_one_client_per_connection_pool(redis_broker):
    connection = _connection(redis_broker.url)
    try:
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second and first.connection_pool is channel.pool
            assert first.ping()
        channel._disconnect_pools()  # as after a fork: a new pool, and a client of it
        with channel.conn_or_acquire() as third:
            assert third is not first and third.connection_pool is channel.pool
            assert third.ping()
        assert channel._create_client(asynchronous=True) is not third
    finally:
        connection.release()


def test_messages_go_through_the_reused_client_and_come_back(redis_broker):
    connection = _connection(redis_broker.url)
    try:
        queue = connection.SimpleQueue("fc-transport-test")
        queue.clear()
        for i in range(3):
            queue.put({"n": i})
        received = []
        for _ in range(3):
            message = queue.get(timeout=5)
            received.append(message.payload["n"])
            message.ack()
        channel = queue.channel
        assert received == [0, 1, 2]
        # Recorded as unacknowledged on receipt, removed on the ack: both through the client.
        assert not channel._create_client().hexists(channel.unacked_key, message.delivery_tag)
        queue.close()
    finally:
        connection.release()
