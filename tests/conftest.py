import os
from dataclasses import dataclass, field

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from sms.handlers import Handled, InboundText

REQUIRE_SERVICES = os.environ.get("PEERRX_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PEERRX_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture
def require_postgres() -> None:
    if connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/peerrx")


@pytest.fixture
def require_redis() -> str:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        _missing("needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _missing(f"Redis at {url} is not answering: {exc}")
    return url


@pytest.fixture
def inbound_worker(monkeypatch, django_capture_on_commit_callbacks):
    """Incoming texts handled the moment the webhook commits, as an idle worker would.

    ``with inbound_worker(now=T0): client.post(...)`` runs the webhook's on-commit callbacks,
    and the ``handle_inbound`` task they enqueue runs at once, at ``now``. Tests on real
    transactions (transactional_db) need no ``with``: their commits run the task directly.
    """
    from sms import services, tasks

    handled_at = {"now": None}

    def handle(inbound_id: int) -> None:
        services.handle_inbound_message(inbound_id=inbound_id, now=handled_at["now"])

    monkeypatch.setattr(tasks.handle_inbound, "delay", handle)

    def start(now=None):
        handled_at["now"] = now
        return django_capture_on_commit_callbacks(execute=True)

    return start


@dataclass
class FakeHandler:
    """Stands in for the inbound handler named by SMS_INBOUND_HANDLER: records calls, answers ``reply``."""

    reply: str | None = "Thanks, got it."
    outcome: str = ""
    peer_id: int | None = None
    calls: list = field(default_factory=list)
    error: Exception | None = None

    def __call__(self, *, text: InboundText) -> Handled:
        self.calls.append((text.from_number, text.body, text.received_at, text.now))
        if self.error is not None:
            raise self.error
        outcome = self.outcome or ("replied" if self.reply else "no reply")
        return Handled(reply=self.reply, outcome=outcome, peer_id=self.peer_id)


_handlers: list[FakeHandler] = []


def fake_inbound_handler(*, text: InboundText) -> Handled:
    """What SMS_INBOUND_HANDLER names while a test uses ``reply_handler``."""
    return _handlers[-1](text=text)


@pytest.fixture
def reply_handler(settings):
    """Replace the inbound handler for webhook unit tests, through its setting."""
    handler = FakeHandler()
    _handlers.append(handler)
    settings.SMS_INBOUND_HANDLER = "tests.conftest.fake_inbound_handler"
    yield handler
    _handlers.remove(handler)


@pytest.fixture(autouse=True)
def _media_and_cache(settings) -> None:
    from django.core.cache import cache

    settings.PEERRX_PUBLIC_BASE_URL = "http://testserver"
    cache.clear()  # rate limits counted in the cache start at zero in every test


# Hypothesis derives its examples from each test rather than a random seed, so a run in CI
# explores exactly what it explored here and any failure reproduces; no per-example
# deadline, since a loaded 2-core machine is slow in bursts.
hypothesis_settings.register_profile("peerrx", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.load_profile("peerrx")
