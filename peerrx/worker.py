"""The Celery worker's consumer, made to survive a broker restart (``CELERY_WORKER_CONSUMER``).

Celery 5.7.0 with kombu 5.7.0, on losing its Redis connection, first collects the connection
(closing its transport) and then closes it again. Whatever then still talks through the dead
channel — putting back the messages it held unacknowledged (the countdown tasks waiting for
their time, under ``acks_late``), or acknowledging a task that was running during the outage —
asks the closed transport for its address and raises ``AttributeError``. That is not one of
the connection errors Celery and kombu expect there, so the worker exits instead of
reconnecting (found by tests/reliability/test_redis_restarted.py).

The fix makes a channel whose transport is closed raise Redis's own ``ConnectionError``, which
kombu and Celery handle: the dead channel is dropped, the acknowledgement is logged as lost,
and the consumer reconnects. Nothing is lost by it: messages held by a dead connection cannot
be put back through it, Redis hands unacknowledged ones out again after the visibility
timeout, and the sweeper meets every deadline from the database meanwhile. The patch is
installed in worker processes only, when Celery loads this consumer.
"""

from __future__ import annotations

from celery.worker.consumer import Consumer as CeleryConsumer
from kombu.transport import redis as kombu_redis

_connparams = kombu_redis.Channel._connparams


def _connparams_of_an_open_transport(self, asynchronous: bool = False) -> dict:
    if self.connection.client is None:
        raise kombu_redis.redis.ConnectionError("the connection to the broker was closed")
    return _connparams(self, asynchronous=asynchronous)


kombu_redis.Channel._connparams = _connparams_of_an_open_transport


class Consumer(CeleryConsumer):
    """Celery's consumer; importing this module installs the fix above in the worker."""
