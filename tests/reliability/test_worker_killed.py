"""A worker SIGKILLed during the collecting window: the next worker and beat still finish the request.

The countdown tasks the dead worker held are unacknowledged in Redis and come back only after
the visibility timeout (hours): only the sweeper, driven by the deadlines in the database,
can finish the requests in time.
"""

import pytest
from django.db import connection
from django.utils import timezone

from core.choices import Need
from peer_requests import services
from peer_requests.models import PeerRequest, RequestEvent, RequestStatus
from sms.models import OutboundMessage, OutboundStatus
from tests.reliability.celery_harness import CeleryProcess, celery_env, wait_for
from tests.world import make_world, seed_reference_data

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SELECTION = 8
EXPIRY = 14


def test_after_a_sigkill_a_new_worker_and_beat_bring_each_request_to_its_outcome(
    require_postgres, require_redis, settings, tmp_path
):
    import redis

    seed_reference_data()
    settings.PEERRX_SELECTION_SECONDS = SELECTION
    settings.PEERRX_EXPIRY_SECONDS = EXPIRY
    redis.Redis.from_url(require_redis).flushdb()
    env = celery_env(broker=require_redis, tmp_path=tmp_path, selection=SELECTION, expiry=EXPIRY)
    world = make_world(peers=2)
    first = CeleryProcess("worker", env=env, tmp_path=tmp_path, name="first")
    processes = [first]
    try:
        first.wait_ready()

        def submit() -> PeerRequest:
            return services.submit_request(
                location=world.location, need=Need.SUBSTANCE_USE, callback_contact="Desk", actor=None
            )

        wanted = submit()
        services.record_yes(alert=wanted.alerts.get(peer=world.peers[0]), now=timezone.now())
        unwanted = submit()
        # The first worker is working: it took the fan-out (and, with it, the countdown tasks).
        wait_for(
            lambda: (
                OutboundMessage.objects.filter(
                    kind=OutboundMessage.Kind.ALERT,
                    status__in=(OutboundStatus.SENT, OutboundStatus.DELIVERED),
                ).count()
                == 4
            ),
            timeout=SELECTION - 2,
            what="the first worker to send the alerts",
        )
        first.kill()
        statuses = set(PeerRequest.objects.values_list("status", flat=True))
        assert statuses == {RequestStatus.COLLECTING}, "killed too late to prove anything"

        processes += [
            CeleryProcess("worker", env=env, tmp_path=tmp_path, name="second"),
            CeleryProcess("beat", env=env, tmp_path=tmp_path, name="second"),
        ]

        def finished() -> bool:
            got = dict(PeerRequest.objects.values_list("pk", "status"))
            return got[wanted.pk] == RequestStatus.ASSIGNED and got[unwanted.pk] == RequestStatus.EXPIRED

        wait_for(finished, timeout=90, what="one request assigned and the other expired")

        wanted.refresh_from_db()
        assert wanted.assigned_peer == world.peers[0]
        assert wanted.events.filter(kind=RequestEvent.Kind.ASSIGNED).count() == 1
        assert unwanted.events.filter(kind=RequestEvent.Kind.EXPIRED).count() == 1
        # Each peer was alerted exactly once per request, the killed worker notwithstanding.
        for peer_request in (wanted, unwanted):
            alerts = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ALERT, request=peer_request)
            assert sorted(alerts.values_list("peer_id", flat=True)) == sorted(p.pk for p in world.peers)
        wait_for(
            lambda: (
                OutboundMessage.objects.filter(
                    kind=OutboundMessage.Kind.CONFIRMATION,
                    status__in=(OutboundStatus.SENT, OutboundStatus.DELIVERED),
                )
                .filter(peer=world.peers[0])
                .exists()
            ),
            timeout=30,
            what="the assigned peer's confirmation to be sent",
        )
        for process in processes[1:]:
            assert process.process.poll() is None, process.output()[-3000:]
    finally:
        for process in processes:
            process.stop()
        connection.close()
