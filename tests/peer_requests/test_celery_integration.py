"""A real Celery worker and beat, as separate processes, against Redis and the test database.

Windows of a few seconds: one request gets a YES while collecting and is assigned, another
gets nothing and expires, driven only by the countdown tasks and the beat sweeper.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from core.choices import Need
from peer_requests import services
from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat, PeerRequest, RequestEvent, RequestStatus
from sms.models import OutboundMessage, OutboundStatus
from tests.world import make_world, seed_reference_data

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


@pytest.fixture
def celery_processes(require_postgres, require_redis, settings, tmp_path):
    import redis

    seed_reference_data()
    settings.PEERRX_SELECTION_SECONDS = 2
    settings.PEERRX_EXPIRY_SECONDS = 5
    # Purge: nothing left over from an earlier run in this broker database.
    redis.Redis.from_url(require_redis).flushdb()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "peerrx.settings",
        "DEBUG": "false",
        "SECRET_KEY": "integration-test-secret-key-0123456789abcdefghij",
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": _test_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": require_redis,
        "SMS_BACKEND": "console",
        "PEERRX_SELECTION_SECONDS": "2",
        "PEERRX_EXPIRY_SECONDS": "5",
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
        kind=OutboundMessage.Kind.CONFIRMATION, peer=world.peers[0], status=OutboundStatus.SENT
    ).exists()
    assert OutboundMessage.objects.filter(
        kind=OutboundMessage.Kind.LOCATION_EXPIRED, request=unwanted
    ).exists()
    for name, process in celery_processes.items():
        assert process.poll() is None, f"celery {name} exited early"
