"""Outbound send rate: at most ``PEERRX_SMS_MAX_PER_SECOND`` texts per second.

Both limiters hand out send slots one interval (1 / rate seconds) apart, like GCRA: a caller
reserves the next free slot and learns how long to wait for it. Slots are never given back,
so the outbox keeps a reserved slot on the message (``rate_slot_at``) while it waits instead
of asking again.

- With a Redis broker the slot counter lives in Redis (one Lua script, Redis's own clock), so
  every thread of every worker process and host shares one rate.
- Otherwise (filesystem or in-memory broker: one machine, local runs) each process keeps its
  own counter: with N worker processes the total rate can reach N times the setting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from django.conf import settings

REDIS_KEY = "peerrx:sms:next-send-slot"

# KEYS[1]: the key holding the next free slot (unix seconds); ARGV[1]: the interval.
# Returns the wait for the reserved slot, in seconds, as a string (Lua numbers become integers).
_RESERVE_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(next_free, now)
local ttl_ms = math.ceil((slot + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', ttl_ms)
return string.format('%.6f', slot - now)
"""


class RateLimiter(Protocol):
    def reserve(self) -> float:
        """Reserve the next send slot; returns the seconds to wait until it (0 when free now)."""
        ...


class LocalRateLimiter:
    """Slots shared by the threads of this process."""

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / per_second
        self.clock = clock
        self._next_free = float("-inf")
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self.clock()
            slot = max(self._next_free, now)
            self._next_free = slot + self.interval
            return slot - now


class RedisRateLimiter:
    """Slots shared through Redis by every worker process."""

    def __init__(self, per_second: float, *, url: str, key: str = REDIS_KEY):
        import redis

        self.interval = 1.0 / per_second
        self.key = key
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_RESERVE_SCRIPT)

    def reserve(self) -> float:
        return float(self._script(keys=[self.key], args=[repr(self.interval)]))


_lock = threading.Lock()
_cached: tuple[tuple, RateLimiter | None] | None = None


def limiter() -> RateLimiter | None:
    """The limiter for the current settings, or None when sending is not limited."""
    global _cached
    rate = settings.PEERRX_SMS_MAX_PER_SECOND
    broker = settings.CELERY_BROKER_URL
    key = (rate, broker)
    with _lock:
        if _cached is None or _cached[0] != key:
            instance: RateLimiter | None
            if not rate:
                instance = None
            elif broker.startswith(("redis://", "rediss://")):
                instance = RedisRateLimiter(rate, url=broker)
            else:
                instance = LocalRateLimiter(rate)
            _cached = (key, instance)
        return _cached[1]
