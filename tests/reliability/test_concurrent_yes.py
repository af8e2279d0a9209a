"""50 peers text YES at the same moment, through the real ``/sms/inbound/`` view, on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from peer_requests.models import Alert, RequestEvent, RequestStatus
from sms.models import InboundMessage, OutboundMessage
from tests.reliability.helpers import INBOUND, open_request, post_signed
from tests.world import make_world, seed_reference_data

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PEERS = 50


def test_fifty_simultaneous_signed_yes_webhooks_assign_exactly_one_peer(
    require_postgres, settings, inbound_worker
):
    # The webhook threads run each reply's handler right after their commit: fifty workers at once.
    seed_reference_data()
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    world = make_world(peers=PEERS)
    peer_request = open_request(world)
    texts = [
        {
            "MessageSid": f"SM{index:032d}",
            "From": str(peer.phone),
            "To": "+15005550006",
            "Body": f"YES {peer_request.code}",
        }
        for index, peer in enumerate(world.peers)
    ]
    barrier = threading.Barrier(PEERS)

    def post(params):
        client = Client()  # one client, one thread, one database connection per peer
        try:
            barrier.wait(timeout=60)
            first = post_signed(client, INBOUND, params).status_code
            # Twilio retries a webhook it thinks failed: the same MessageSid again changes nothing.
            again = post_signed(client, INBOUND, params).status_code
            return first, again
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=PEERS) as pool:
        codes = list(pool.map(post, texts))

    assert codes == [(200, 200)] * PEERS
    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.ASSIGNED
    assert Alert.objects.filter(request=peer_request, is_assigned=True).count() == 1
    assert Alert.objects.get(request=peer_request, is_assigned=True).peer == peer_request.assigned_peer
    # Every reply stored once and handled once; each peer's YES recorded once.
    assert InboundMessage.objects.count() == PEERS
    assert not InboundMessage.objects.filter(handled_at__isnull=True).exists()
    assert sorted(InboundMessage.objects.values_list("outcome", flat=True)) == ["assigned"] + ["filled"] * (
        PEERS - 1
    )
    assert Alert.objects.filter(request=peer_request, response=Alert.Response.YES).count() == PEERS
    assert peer_request.events.filter(kind=RequestEvent.Kind.REPLY_YES).count() == PEERS
    assert peer_request.events.filter(kind=RequestEvent.Kind.ASSIGNED).count() == 1
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.CONFIRMATION).count() == 1
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.LOCATION_ASSIGNED).count() == 1
