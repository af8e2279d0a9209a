import itertools
import threading
import uuid

import pytest

from sms import ratelimit
from sms.ratelimit import LocalRateLimiter, RedisRateLimiter


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestLocalRateLimiter:
    def test_it_hands_out_slots_one_interval_apart(self):
        clock = FakeClock()
        limiter = LocalRateLimiter(4.0, clock=clock)
        assert [limiter.reserve() for _ in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]

    def test_it_counts_from_now_once_the_queue_has_drained(self):
        clock = FakeClock()
        limiter = LocalRateLimiter(2.0, clock=clock)
        limiter.reserve()
        limiter.reserve()
        clock.now += 0.75  # the second slot (at +0.5) has passed; the next free one is +1.0
        assert limiter.reserve() == pytest.approx(0.25)
        clock.now += 10
        assert limiter.reserve() == 0.0

    def test_it_gives_every_thread_its_own_slot(self):
        limiter = LocalRateLimiter(10.0, clock=FakeClock())
        waits: list[float] = []
        lock = threading.Lock()

        def take() -> None:
            wait = limiter.reserve()
            with lock:
                waits.append(wait)

        threads = [threading.Thread(target=take) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(waits) == pytest.approx([i * 0.1 for i in range(50)])


class TestLimiter:
    def test_it_does_not_limit_at_zero(self, settings):
        settings.PEERRX_SMS_MAX_PER_SECOND = 0
        assert ratelimit.limiter() is None

    def test_it_limits_per_process_without_redis(self, settings):
        settings.PEERRX_SMS_MAX_PER_SECOND = 5
        settings.CELERY_BROKER_URL = "filesystem://"
        limiter = ratelimit.limiter()
        assert isinstance(limiter, LocalRateLimiter)
        assert limiter.interval == pytest.approx(0.2)
        assert ratelimit.limiter() is limiter  # one per process, shared by its threads

    def test_it_shares_the_rate_through_a_redis_broker(self, settings):
        settings.PEERRX_SMS_MAX_PER_SECOND = 5
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/11"
        assert isinstance(ratelimit.limiter(), RedisRateLimiter)


class TestRedisRateLimiter:
    def test_it_hands_out_slots_one_interval_apart_across_clients(self, require_redis):
        key = f"peerrx:test:sms-rate:{uuid.uuid4().hex}"
        # Two limiters stand for two worker processes; a long interval keeps the test's own
        # run time out of the comparison.
        first = RedisRateLimiter(0.1, url=require_redis, key=key)
        second = RedisRateLimiter(0.1, url=require_redis, key=key)
        try:
            waits = [first.reserve(), second.reserve(), first.reserve(), second.reserve()]
            assert waits[0] == pytest.approx(0.0, abs=0.5)
            for earlier, later in itertools.pairwise(waits):
                assert later - earlier == pytest.approx(10.0, abs=0.5)
        finally:
            first._redis.delete(key)
