"""A real Celery worker and beat, as separate processes, against Redis and the test database.

Windows of a few seconds: one request gets a YES while collecting and is assigned, another
gets nothing and expires, driven only by the countdown tasks and the beat sweeper. Then the
dispatch adapting: a peer who texts ON is alerted by the sweeper and wins, and a request with
no YES at its choice widens to a backup agency.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.choices import Need
from peer_requests import services
from peer_requests.models import SWEEPER_HEARTBEAT, Alert, Heartbeat, PeerRequest, RequestEvent, RequestStatus
from peers.models import Peer
from sms.models import OutboundMessage, OutboundStatus
from tests.world import make_world, seed_reference_data

# Handed to the provider: the console backend then reports it delivered.
HANDED_OVER = (OutboundStatus.SENT, OutboundStatus.DELIVERED)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.stdout.read().decode(errors="replace")[-4000:] if process.stdout else ""


def _celery(*, redis_url: str, settings, tmp_path, selection: int, expiry: int):
    """A worker and a beat on ``redis_url`` with these windows; yields them, stops them after."""
    import redis

    seed_reference_data()
    settings.PEERRX_SELECTION_SECONDS = selection
    settings.PEERRX_EXPIRY_SECONDS = expiry
    # Purge: nothing left over from an earlier run in this broker database.
    redis.Redis.from_url(redis_url).flushdb()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "peerrx.settings",
        "DEBUG": "false",
        "SECRET_KEY": "integration-test-secret-key-0123456789abcdefghij",
        "ALLOWED_HOSTS": "localhost",
        "PEERRX_PUBLIC_BASE_URL": "https://localhost",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PEERRX_ALLOW_DEV_EMAIL": "true",
        "DATABASE_URL": _test_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": redis_url,
        "SMS_BACKEND": "console",
        "PEERRX_SELECTION_SECONDS": str(selection),
        "PEERRX_EXPIRY_SECONDS": str(expiry),
        "PEERRX_SWEEP_SECONDS": "1",
        "PEERRX_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
    common = {"cwd": ROOT, "env": env, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
    # Fixed argument lists naming the venv's own celery: nothing untrusted reaches them.
    worker = subprocess.Popen(  # noqa: S603
        [CELERY, "-A", "peerrx", "worker", "--pool=threads", "--concurrency=4", "--loglevel=INFO"], **common
    )
    beat = subprocess.Popen(  # noqa: S603
        [CELERY, "-A", "peerrx", "beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"],
        **common,
    )
    processes = {"worker": worker, "beat": beat}
    try:
        yield processes
    finally:
        logs = {name: _stop(process) for name, process in processes.items()}
        connection.close()
        if os.environ.get("PEERRX_SHOW_CELERY_LOGS"):
            for name, log in logs.items():
                print(f"--- {name} ---\n{log}")  # noqa: T201


@pytest.fixture
def celery_processes(require_postgres, require_redis, settings, tmp_path):
    yield from _celery(redis_url=require_redis, settings=settings, tmp_path=tmp_path, selection=2, expiry=5)


@pytest.fixture
def celery_processes_slower(require_postgres, require_redis, settings, tmp_path):
    """Windows long enough for an ON text, a sweep and a YES before the choice."""
    yield from _celery(redis_url=require_redis, settings=settings, tmp_path=tmp_path, selection=8, expiry=20)


def test_a_real_worker_and_beat_assign_one_request_and_expire_another(celery_processes):
    # Beat ticks the sweeper every second and the worker runs it: both are up once it beats.
    _wait_for(
        lambda: Heartbeat.objects.filter(name=SWEEPER_HEARTBEAT).exists(),
        timeout=60,
        what="the first sweeper heartbeat (worker and beat running)",
    )
    world = make_world(peers=2)

    def submit() -> PeerRequest:
        return services.submit_request(
            location=world.location, need=Need.SUBSTANCE_USE, callback_contact="Desk", actor=None
        )

    wanted = submit()
    services.record_yes(alert=wanted.alerts.get(peer=world.peers[0]), now=timezone.now())
    unwanted = submit()

    def finished() -> bool:
        statuses = dict(PeerRequest.objects.values_list("pk", "status"))
        return (
            statuses[wanted.pk] == RequestStatus.ASSIGNED and statuses[unwanted.pk] == RequestStatus.EXPIRED
        )

    _wait_for(finished, timeout=45, what="one request assigned and the other expired")

    wanted.refresh_from_db()
    assert wanted.assigned_peer == world.peers[0]
    assert wanted.events.filter(kind=RequestEvent.Kind.ASSIGNED).count() == 1
    assert unwanted.events.filter(kind=RequestEvent.Kind.EXPIRED).count() == 1
    # The worker sent the texts too (console backend): alerts, the confirmation, the location's.
    _wait_for(
        lambda: not OutboundMessage.objects.filter(status=OutboundStatus.QUEUED).exists(),
        timeout=30,
        what="every text to be sent",
    )
    assert OutboundMessage.objects.filter(
        kind=OutboundMessage.Kind.CONFIRMATION, peer=world.peers[0], status__in=HANDED_OVER
    ).exists()
    assert OutboundMessage.objects.filter(
        kind=OutboundMessage.Kind.LOCATION_EXPIRED, request=unwanted
    ).exists()
    for name, process in celery_processes.items():
        assert process.poll() is None, f"celery {name} exited early"


def test_a_peer_who_texts_on_is_alerted_and_wins_and_a_request_without_yes_widens(celery_processes_slower):
    from sms.services import receive_inbound
    from tests.accounts.factories import CountyFactory
    from tests.agencies.factories import AgencyFactory
    from tests.peers.factories import AvailabilityOverrideFactory
    from tests.world import eligible_peer

    _wait_for(
        lambda: Heartbeat.objects.filter(name=SWEEPER_HEARTBEAT).exists(),
        timeout=60,
        what="the first sweeper heartbeat (worker and beat running)",
    )
    world = make_world(peers=1)
    now = timezone.now()
    late = eligible_peer(agency=world.agency)
    AvailabilityOverrideFactory(
        peer=late,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=8),
        is_available=False,
    )
    backup = AgencyFactory(name="Backup Peers", counties=[CountyFactory(name="Ulster")])
    backup.backup_counties.add(world.location.county)
    backup_peer = eligible_peer(agency=backup)

    def submit() -> PeerRequest:
        return services.submit_request(
            location=world.location, need=Need.SUBSTANCE_USE, callback_contact="Desk", actor=None
        )

    wanted, unanswered = submit(), submit()
    assert not wanted.alerts.filter(peer=late).exists()

    def text(body: str, sid: str) -> None:
        with transaction.atomic():  # the webhook's transaction: its commit enqueues the handling
            receive_inbound(message_sid=sid, from_number=str(late.phone), body=body)

    text("ON", "SM" + "a" * 32)
    _wait_for(
        lambda: wanted.alerts.filter(peer=late, wave=Alert.Wave.LATE).exists(),
        timeout=6,
        what="the peer who texted ON to be alerted by the sweeper",
    )
    text(f"YES {wanted.code}", "SM" + "b" * 32)

    def finished() -> bool:
        statuses = dict(PeerRequest.objects.values_list("pk", "status"))
        return statuses[wanted.pk] == RequestStatus.ASSIGNED and statuses[unanswered.pk] == RequestStatus.OPEN

    _wait_for(finished, timeout=30, what="the late joiner assigned and the other request open")
    wanted.refresh_from_db()
    assert wanted.assigned_peer == late
    assert wanted.alerts.get(peer=late).responded_at < wanted.selection_due_at
    unanswered.refresh_from_db()
    assert unanswered.widened_at is not None
    widened = unanswered.alerts.get(peer=backup_peer)
    assert widened.wave == Alert.Wave.WIDENED
    assert unanswered.events.filter(kind=RequestEvent.Kind.WIDENED).count() == 1
    _wait_for(
        lambda: OutboundMessage.objects.filter(alert=widened, status__in=HANDED_OVER).exists(),
        timeout=15,
        what="the backup agency's peer's alert to be sent",
    )


def test_a_real_worker_and_beat_follow_the_encounter_to_its_outcome(celery_processes_slower):
    from django.test import Client

    from sms.services import receive_inbound
    from tests.locations.factories import LocationMembershipFactory

    _wait_for(
        lambda: Heartbeat.objects.filter(name=SWEEPER_HEARTBEAT).exists(),
        timeout=60,
        what="the first sweeper heartbeat (worker and beat running)",
    )
    world = make_world(peers=1)
    peer = world.peers[0]
    nurse = LocationMembershipFactory(location=world.location).user
    browser = Client()
    browser.force_login(nurse)
    peer_request = services.submit_request(
        location=world.location, need=Need.SUBSTANCE_USE, callback_contact="Desk", actor=nurse
    )
    sids = iter(f"SM{n:032d}" for n in range(1, 100))

    def text(body: str) -> None:
        with transaction.atomic():
            receive_inbound(message_sid=next(sids), from_number=str(peer.phone), body=body)

    def live_page() -> str:
        return browser.get(f"/requests/{peer_request.pk}/live/").content.decode()

    def shows(words: str, what: str) -> None:
        _wait_for(lambda: words in live_page(), timeout=20, what=what)
        assert "hx-trigger" in live_page() or words == "encounter finished"

    code = peer_request.code
    text(f"YES {code}")
    shows("waiting for them to say they are on the way", "the choice to assign the peer")
    text(f"OMW {code} 10")
    shows("is on the way, expected about", "the page to show the peer on the way")
    text(f"HERE {code}")
    shows("arrived at", "the page to show the arrival")
    text(f"DONE {code}")
    shows("encounter finished", "the page to show the encounter finished")
    assert "hx-trigger" not in live_page()
    _wait_for(
        lambda: OutboundMessage.objects.filter(kind=OutboundMessage.Kind.OUTCOME_MENU, peer=peer).exists(),
        timeout=10,
        what="the outcome menu",
    )
    text("1")
    _wait_for(
        lambda: PeerRequest.objects.filter(pk=peer_request.pk, encounter_outcome="engaged").exists(),
        timeout=15,
        what="the outcome texted by the peer",
    )
    peer_request.refresh_from_db()
    assert peer_request.on_way_at <= peer_request.arrived_at <= peer_request.finished_at
    assert peer_request.assignment_ended_at == peer_request.finished_at
    assert list(
        peer_request.events.filter(
            kind__in=[
                RequestEvent.Kind.ON_THE_WAY,
                RequestEvent.Kind.ARRIVED,
                RequestEvent.Kind.FINISHED,
                RequestEvent.Kind.OUTCOME,
            ]
        ).values_list("kind", flat=True)
    ) == ["on_the_way", "arrived", "finished", "outcome"]


def test_a_new_peer_is_asked_first_and_alerted_only_after_join(celery_processes):
    from peers import services as roster
    from sms.services import receive_inbound
    from tests.peers.factories import CredentialFactory, always_available

    _wait_for(
        lambda: Heartbeat.objects.filter(name=SWEEPER_HEARTBEAT).exists(),
        timeout=60,
        what="the first sweeper heartbeat (worker and beat running)",
    )
    world = make_world(peers=1)
    with transaction.atomic():  # the roster form's transaction: its commit enqueues the text
        newcomer = roster.create_peer(
            agency=world.agency,
            first_name="Dana",
            last_name="Reyes",
            phone="+18455550142",
            age_range="18_35",
            gender="female",
        )
    CredentialFactory(peer=newcomer)
    always_available(newcomer)
    _wait_for(
        lambda: OutboundMessage.objects.filter(
            kind=OutboundMessage.Kind.OPT_IN_REQUEST, peer=newcomer, status__in=HANDED_OVER
        ).exists(),
        timeout=20,
        what="the opt-in text to be sent by the worker",
    )

    def submit() -> PeerRequest:
        return services.submit_request(
            location=world.location, need=Need.SUBSTANCE_USE, callback_contact="Desk", actor=None
        )

    before = submit()
    assert not before.alerts.filter(peer=newcomer).exists()
    with transaction.atomic():
        receive_inbound(message_sid="SM" + "j" * 32, from_number="+18455550142", body="JOIN")
    _wait_for(
        lambda: Peer.objects.filter(pk=newcomer.pk, consented_at__isnull=False).exists(),
        timeout=20,
        what="the worker to handle JOIN",
    )
    after = submit()
    alert = after.alerts.get(peer=newcomer)
    _wait_for(
        lambda: OutboundMessage.objects.filter(alert=alert, status__in=HANDED_OVER).exists(),
        timeout=20,
        what="the newcomer's first alert to be sent",
    )
    assert newcomer.consent_records.filter(action="opt_in", source="keyword", text="JOIN").exists()
