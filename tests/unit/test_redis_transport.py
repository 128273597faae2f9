"""The Redis transport turns kombu 5.7.0's crash on a lost connection into a connection
error that kombu and Celery recover from (the real restart is in test_faults)."""

import pytest
from kombu import Connection

from future_celery.redis_transport import Channel, Transport


def test_a_channel_whose_connection_is_gone_raises_a_recoverable_connection_error():
    connection = Connection(
        "redis://127.0.0.1:6379/15", transport="future_celery.redis_transport:Transport"
    )
    transport = connection.transport
    assert isinstance(transport, Transport) and transport.Channel is Channel
    channel = Channel.__new__(Channel)  # a channel left behind by a dead connection
    for dead in (None, type("T", (), {"client": None})()):
        channel.connection = dead
        with pytest.raises(transport.connection_errors):
            channel._connparams()
