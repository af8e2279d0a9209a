from dataclasses import dataclass, field

import pytest

from sms import sendpool, services, tasks


@dataclass
class Enqueued:
    """Delivery tasks the outbox tried to enqueue, instead of publishing them to a broker."""

    single: list[tuple[int, float | None]] = field(default_factory=list)
    batches: list[list[int]] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [message_id for message_id, _ in self.single] + [i for batch in self.batches for i in batch]

    def clear(self) -> None:
        self.single.clear()
        self.batches.clear()


@pytest.fixture
def enqueued(monkeypatch) -> Enqueued:
    record = Enqueued()
    monkeypatch.setattr(
        tasks.send_message, "delay", lambda message_id: record.single.append((message_id, None))
    )
    monkeypatch.setattr(
        tasks.send_message,
        "apply_async",
        lambda args, countdown=None, **kw: record.single.append((args[0], countdown)),
    )
    monkeypatch.setattr(tasks.send_batch, "delay", lambda ids: record.batches.append(list(ids)))
    return record


def shutdown_send_pools() -> None:
    """End every sending thread this process started (they hold database connections)."""
    with sendpool._pools_lock:
        pools = list(sendpool._pools.values())
        sendpool._pools.clear()
    for each in pools:
        each.shutdown()


@pytest.fixture
def no_sleep(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(services, "_sleep", slept.append)
    return slept


@pytest.fixture(autouse=True)
def _stop_sending_threads():
    """Sending threads keep database connections; end them with the test that started them."""
    yield
    shutdown_send_pools()
