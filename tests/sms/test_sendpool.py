import threading

import pytest

from sms import sendpool
from sms.sendpool import SendPool
from tests.sms.conftest import shutdown_send_pools


@pytest.fixture
def send_pool():
    each = SendPool(4)
    yield each
    each.shutdown()


class TestSendPool:
    def test_it_calls_the_function_for_every_item_and_waits_for_all(self, send_pool):
        done: list[int] = []
        lock = threading.Lock()

        def work(item: int) -> None:
            with lock:
                done.append(item)

        send_pool.run(work, range(25))
        assert sorted(done) == list(range(25))

    def test_it_runs_as_many_calls_at_once_as_it_has_threads(self, send_pool):
        # Four calls can only all pass the barrier if four run at the same time.
        barrier = threading.Barrier(4, timeout=10)
        send_pool.run(lambda item: barrier.wait(), range(4))
        assert not barrier.broken

    def test_it_survives_a_failing_call(self, send_pool):
        done: list[int] = []

        def work(item: int) -> None:
            if item == 2:
                raise RuntimeError("boom")
            done.append(item)

        send_pool.run(work, range(5))
        assert sorted(done) == [0, 1, 3, 4]

    def test_it_reuses_its_threads_from_one_run_to_the_next(self, send_pool):
        seen: set[int] = set()
        lock = threading.Lock()

        def work(item: int) -> None:
            with lock:
                seen.add(threading.get_ident())

        send_pool.run(work, range(20))
        send_pool.run(work, range(20))
        assert 1 <= len(seen) <= 4  # the same four threads served both runs

    def test_it_returns_at_once_for_no_items(self, send_pool):
        send_pool.run(lambda item: None, [])

    def test_it_starts_new_threads_after_a_shutdown(self, send_pool):
        done: list[int] = []
        send_pool.run(done.append, [1])
        send_pool.shutdown()
        send_pool.run(done.append, [2])
        assert done == [1, 2]


class TestPool:
    def test_it_is_one_pool_per_process_and_size(self):
        assert sendpool.pool(3) is sendpool.pool(3)
        assert sendpool.pool(3) is not sendpool.pool(5)
        shutdown_send_pools()
