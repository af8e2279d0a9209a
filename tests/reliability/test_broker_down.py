"""Redis down while a request is submitted: the request stands, the alerts go out once it is back."""

from collections import Counter

import pytest
from django.test import Client

from core.choices import Need
from peer_requests import tasks
from peer_requests.models import PeerRequest, RequestStatus
from sms import transport
from sms.models import OutboundMessage, OutboundStatus
from tests.locations.factories import LocationMembershipFactory
from tests.reliability.celery_harness import DEAD_BROKER, CeleryProcess, broker_at, celery_env, wait_for
from tests.world import make_world, seed_reference_data

PEERS = 5


def _submit_with_the_broker_down(world) -> PeerRequest:
    """A nurse submits through the real form view while every publish to the broker fails."""
    client = Client()
    client.force_login(LocationMembershipFactory(location=world.location).user)
    with broker_at(DEAD_BROKER):
        response = client.post(
            "/requests/new/", {"need": Need.SUBSTANCE_USE, "callback_contact": "Charge nurse, ext. 4410"}
        )
    assert response.status_code == 302, response.content[:500]
    peer_request = PeerRequest.objects.get()
    # Saved and shown: the location sees its request and its code.
    page = client.get(f"/requests/{peer_request.pk}/")
    assert page.status_code == 200
    assert peer_request.code in page.content.decode()
    # Nothing could be published, so nothing went out yet; every alert is queued in the outbox.
    alerts = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ALERT)
    assert alerts.count() == PEERS
    assert set(alerts.values_list("status", flat=True)) == {OutboundStatus.QUEUED}
    return peer_request


def _assert_one_alert_each(world, peer_request: PeerRequest) -> None:
    alerts = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ALERT, request=peer_request)
    assert Counter(alerts.values_list("peer_id", flat=True)) == Counter({peer.pk: 1 for peer in world.peers})
    # Handed over once each; the console backend then reports them delivered.
    assert set(alerts.values_list("status", flat=True)) <= {OutboundStatus.SENT, OutboundStatus.DELIVERED}
    assert set(alerts.values_list("attempts", flat=True)) == {1}
    assert len(set(alerts.values_list("provider_sid", flat=True))) == PEERS


@pytest.mark.django_db(transaction=True)
def test_the_submit_survives_a_dead_broker_and_the_sweeper_sends_each_alert_once(settings, monkeypatch):
    """Without services (any database): the broker comes back as an eager one, the sweeper sends."""
    seed_reference_data()
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    world = make_world(peers=PEERS)
    peer_request = _submit_with_the_broker_down(world)

    sent_to = Counter()
    real_send = transport.send

    def counting_send(message):
        sent_to[message.to] += 1
        return real_send(message)

    monkeypatch.setattr(transport, "send", counting_send)
    from peerrx.celery import app

    # The broker is back: an eager one here, which runs each published task at once.
    app.conf.update(task_always_eager=True)
    try:
        for _ in range(3):  # the sweeper runs every few seconds: running again must not resend
            tasks.sweep()
    finally:
        app.conf.update(task_always_eager=False)

    _assert_one_alert_each(world, peer_request)
    assert sent_to == Counter({str(peer.phone): 1 for peer in world.peers})


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_redis_back_a_real_worker_and_beat_send_each_alert_once(
    require_postgres, require_redis, settings, tmp_path
):
    import redis

    seed_reference_data()
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    redis.Redis.from_url(require_redis).flushdb()
    world = make_world(peers=PEERS)
    peer_request = _submit_with_the_broker_down(world)

    env = celery_env(broker=require_redis, tmp_path=tmp_path, selection=600, expiry=1800)
    processes = [
        CeleryProcess("worker", env=env, tmp_path=tmp_path, name="back"),
        CeleryProcess("beat", env=env, tmp_path=tmp_path, name="back"),
    ]
    try:
        wait_for(
            lambda: (
                OutboundMessage.objects.filter(
                    kind=OutboundMessage.Kind.ALERT,
                    status__in=(OutboundStatus.SENT, OutboundStatus.DELIVERED),
                ).count()
                == PEERS
            ),
            timeout=90,
            what="the sweeper to send every alert",
        )
        # A few more sweeps (one a second): still exactly one alert per peer.
        before = OutboundMessage.objects.count()
        wait_for(
            lambda: "peer_requests.tasks.sweep" in "".join(processes[0].lines[-50:]),
            timeout=10,
            what="more sweeps",
        )
        import time

        time.sleep(3)
        assert OutboundMessage.objects.count() == before
        _assert_one_alert_each(world, peer_request)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.COLLECTING
        for process in processes:
            assert process.process.poll() is None, process.output()[-3000:]
    finally:
        for process in processes:
            process.stop()
        from django.db import connection

        connection.close()
