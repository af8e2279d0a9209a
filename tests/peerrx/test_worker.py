from types import SimpleNamespace

import pytest
from kombu.transport import redis as kombu_redis

from peerrx import celery, worker


def test_the_worker_runs_the_consumer_that_survives_a_broker_restart():
    assert celery.app.conf.worker_consumer == "peerrx.worker:Consumer"
    assert kombu_redis.Channel._connparams is worker._connparams_of_an_open_transport


def test_a_channel_of_a_closed_transport_raises_a_connection_error_kombu_handles():
    closed = SimpleNamespace(connection=SimpleNamespace(client=None))
    with pytest.raises(kombu_redis.redis.ConnectionError):
        kombu_redis.Channel._connparams(closed)
    assert kombu_redis.redis.ConnectionError in kombu_redis.Transport.connection_errors
