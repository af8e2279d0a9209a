"""What the end-to-end fault tests share: their own Redis, the fake Twilio, the checks.

Each fault test starts its own redis-server (nothing on disk, like a managed cache) on a port of
its own, a fake Twilio the worker reaches through the real SDK, and real Celery workers and
beats (``celery_harness``), with windows of seconds instead of minutes. The checks are the same
for every fault: every text sent exactly once (by provider id, at the fake), every deadline met
within a few sweeper intervals of the recovery, nothing left half-done.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from django.utils import timezone

from core.choices import Need
from peer_requests import services
from peer_requests.models import PeerRequest, RequestEvent, RequestStatus
from sms.models import OutboundMessage, OutboundStatus
from tests.conftest import _missing
from tests.fake_twilio import TEST_MESSAGING_SERVICE_SID, FakeTwilio
from tests.reliability.celery_harness import celery_env, wait_for

SWEEP_SECONDS = 1
# "A few sweeper intervals": the most a deadline may land after it is due (or after the
# fault ended, if later). The figures measured are in docs/reliability.md.
DEADLINE_BOUND_SECONDS = 5 * SWEEP_SECONDS

# Ports of this suite's own servers (Redis, the fake Twilio), one pair per fault test, so
# parallel test processes never share one.
PORTS = {
    "twilio_down": (8511, 8521),
    "redis_restarted": (8512, 8522),
    "postgres_restarted": (8513, 8523),
    "two_beats": (8514, 8524),
}


class OwnRedis:
    """A redis-server of the test's own that keeps nothing on disk: killed, it restarts empty."""

    def __init__(self, *, port: int, tmp_path: Path):
        self.port = port
        self.tmp_path = tmp_path
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> OwnRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            _missing("needs redis-server (apt-get install redis-server) for a Redis of its own")
        # A fixed argument list: the installed redis-server, a port of ours, no persistence.
        self.process = subprocess.Popen(  # noqa: S603
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: everything it held (queued tasks, countdown tasks) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def keys(self) -> int:
        import redis

        return redis.Redis.from_url(self.url).dbsize()


def fault_env(
    *, broker: str, fake: FakeTwilio, tmp_path: Path, selection: int, expiry: int, **extra: str
) -> dict[str, str]:
    """The worker's and beat's environment: production settings, short windows, Twilio at the fake."""
    return celery_env(broker=broker, tmp_path=tmp_path, selection=selection, expiry=expiry) | {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_MESSAGING_SERVICE_SID": TEST_MESSAGING_SERVICE_SID,
        "TWILIO_FROM_NUMBER": "",
        "TWILIO_API_BASE_URL": fake.base_url,
        "PEERRX_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "PEERRX_REMINDER_SECONDS": "0",
        "PEERRX_SMS_SEND_CONCURRENCY": "8",
        # Persistent, health-checked connections, as in production.
        "DB_CONN_MAX_AGE": "60",
        **extra,
    }


def submit(world) -> PeerRequest:
    return services.submit_request(
        location=world.location, need=Need.SUBSTANCE_USE, callback_contact="Charge nurse", actor=None
    )


def say_yes(peer_request: PeerRequest, peer) -> None:
    """The peer's YES, as the inbound handler records it."""
    services.record_yes(alert=peer_request.alerts.get(peer=peer), now=timezone.now())


def alerts_sent(*requests: PeerRequest) -> int:
    return OutboundMessage.objects.filter(
        kind=OutboundMessage.Kind.ALERT, request__in=requests, status=OutboundStatus.SENT
    ).count()


def statuses(*requests: PeerRequest) -> dict[int, str]:
    return dict(PeerRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list("pk", "status"))


def wait_for_outcomes(expected: dict[PeerRequest, str], *, timeout: float) -> None:
    wanted = {peer_request.pk: status for peer_request, status in expected.items()}
    wait_for(
        lambda: statuses(*expected) == wanted,
        timeout=timeout,
        what=f"the requests to end {sorted(wanted.values())} (now {sorted(statuses(*expected).values())})",
    )


def wait_until_every_text_is_sent(*, timeout: float = 30) -> None:
    wait_for(
        lambda: not OutboundMessage.objects.exclude(status=OutboundStatus.SENT).exists(),
        timeout=timeout,
        what="every text to be sent",
    )


def assert_every_text_sent_once(fake: FakeTwilio, *, world, requests: list[PeerRequest], also=()) -> None:
    """Every text in the outbox went out, exactly once, and the fake took nothing else; each of
    the world's peers got one alert per request (``also``: more (world, requests) pairs)."""
    fields = ("kind", "request_id", "peer_id", "status", "provider_sid")
    rows = list(OutboundMessage.objects.values_list(*fields))
    assert {status for *_, status, _sid in rows} == {OutboundStatus.SENT}, Counter(r[3] for r in rows)
    accepted = fake.messages
    assert sorted(m.sid for m in accepted) == sorted(sid for *_, sid in rows)
    # One text per recipient and body at the fake: nothing went out twice under another id.
    assert max(Counter((m.to, m.body) for m in accepted).values()) == 1
    # One alert per peer per request.
    alerts = Counter((request_id, peer_id) for kind, request_id, peer_id, *_ in rows if kind == "alert")
    pairs = [(world, requests), *also]
    assert alerts == Counter({(r.pk, p.pk): 1 for w, rs in pairs for r in rs for p in w.peers})
    for peer in [p for w, _rs in pairs for p in w.peers]:
        theirs = sum(1 for *_, peer_id, _status, _sid in rows if peer_id == peer.pk)
        assert len(fake.messages_to(str(peer.phone))) == theirs


def assert_nothing_half_done(*, assigned: list[PeerRequest], expired: list[PeerRequest]) -> None:
    """Each transition whole, once: its event, its fields, its texts."""
    for peer_request in assigned:
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer_id is not None
        assert peer_request.events.filter(kind=RequestEvent.Kind.ASSIGNED).count() == 1
        texts = Counter(peer_request.messages.values_list("kind", flat=True))
        assert texts[OutboundMessage.Kind.CONFIRMATION] == 1
        assert texts[OutboundMessage.Kind.LOCATION_ASSIGNED] == 1
    for peer_request in expired:
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.EXPIRED and peer_request.closed_at is not None
        assert peer_request.events.filter(kind=RequestEvent.Kind.EXPIRED).count() == 1
        assert peer_request.events.filter(kind=RequestEvent.Kind.OPENED).count() == 1
        assert (
            Counter(peer_request.messages.values_list("kind", flat=True))[
                OutboundMessage.Kind.LOCATION_EXPIRED
            ]
            == 1
        )


def lateness(peer_request: PeerRequest, *, recovered_at: dt.datetime | None = None) -> dict[str, float]:
    """Seconds from each deadline, or from the end of the fault if that came later, to when it
    was met (negative: met before the fault ended)."""
    peer_request.refresh_from_db()
    events = dict(peer_request.events.values_list("kind", "at"))

    def after(due: dt.datetime, met: dt.datetime) -> float:
        return (met - (max(due, recovered_at) if recovered_at else due)).total_seconds()

    choice = events.get(RequestEvent.Kind.ASSIGNED) or events.get(RequestEvent.Kind.OPENED)
    late = {"choice": round(after(peer_request.selection_due_at, choice), 3)}
    if RequestEvent.Kind.EXPIRED in events:
        late["expiry"] = round(after(peer_request.expires_at, events[RequestEvent.Kind.EXPIRED]), 3)
    return late


def assert_deadlines_met(late: dict[str, dict[str, float]]) -> None:
    worst = max(value for figures in late.values() for value in figures.values())
    assert worst <= DEADLINE_BOUND_SECONDS, late


def report(name: str, figures: dict) -> None:
    """The measured figures, for docs/reliability.md (shown with ``pytest -s``)."""
    print(f"\n[{name}] {figures}")  # noqa: T201


def elapsed_since(start: float) -> float:
    return round(time.monotonic() - start, 1)


def show_output(processes) -> None:
    """On failure: what the workers and beats said last."""
    for process in processes:
        name = " ".join(process.process.args[3:5])
        print(f"\n--- {name} (exit {process.process.poll()}) ---\n{process.output()[-6000:]}")  # noqa: T201
