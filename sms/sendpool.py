"""A per-process pool of sending threads for the alert fan-out.

The threads outlive one batch task, so each keeps its database connection across the batches
of a fan-out instead of opening one per message or per batch (a PostgreSQL connection is a new
server process). A thread that finds no work for ``IDLE_CLOSE_SECONDS`` closes its connection,
so an idle worker holds none. Created lazily in the process that uses it (after Celery's fork).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

IDLE_CLOSE_SECONDS = 2.0
_STOP = object()


class _Latch:
    def __init__(self, count: int):
        self._count = count
        self._done = threading.Event()
        self._lock = threading.Lock()
        if count == 0:
            self._done.set()

    def count_down(self) -> None:
        with self._lock:
            self._count -= 1
            if self._count <= 0:
                self._done.set()

    def wait(self) -> None:
        self._done.wait()


class SendPool:
    def __init__(self, size: int):
        self.size = size
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def run(self, function: Callable[[Any], None], items: Iterable[Any]) -> None:
        """Call ``function(item)`` for every item on the pool's threads; return when all are done."""
        items = list(items)
        latch = _Latch(len(items))
        self._start_threads(min(self.size, len(items)))
        for item in items:
            self._work.put((function, item, latch))
        latch.wait()

    def shutdown(self) -> None:
        """Stop the threads (closing their database connections); the next run starts new ones."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._work.put(_STOP)
        for thread in threads:
            thread.join(timeout=10)

    def _start_threads(self, wanted: int) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < wanted:
                thread = threading.Thread(
                    target=self._serve, name=f"sms-send-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _serve(self) -> None:
        current_run = None
        while True:
            try:
                work = self._work.get(timeout=IDLE_CLOSE_SECONDS)
            except queue.Empty:
                connections.close_all()
                current_run = None
                continue
            if work is _STOP:
                connections.close_all()
                return
            function, item, latch = work
            try:
                if latch is not current_run:
                    # Like the start of a web request, once per batch: drop a connection that
                    # is too old or broken.
                    close_old_connections()
                    current_run = latch
                function(item)
            except Exception:  # the function logs its own errors; never let a thread die
                logger.exception("Sending thread error on %s", item)
            finally:
                latch.count_down()


_pools: dict[tuple[int, int], SendPool] = {}
_pools_lock = threading.Lock()


def pool(size: int) -> SendPool:
    """This process's pool of ``size`` threads (a forked child gets its own)."""
    key = (os.getpid(), size)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = SendPool(size)
        return _pools[key]
