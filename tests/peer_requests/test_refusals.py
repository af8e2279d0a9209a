"""What a text refused for good means for the peer and the request (SMS_REFUSAL_HANDLER)."""

import pytest

from accounts.models import AuditEntry
from peer_requests.models import RequestEvent
from peer_requests.refusals import handle_refusal
from sms.handlers import Refusal
from tests.peer_requests.factories import PeerRequestFactory
from tests.peers.factories import PeerFactory
from tests.world import T0

pytestmark = pytest.mark.django_db


def refusal(**fields) -> Refusal:
    values = {
        "message_id": 1,
        "to": "+18455550123",
        "kind": "alert",
        "kind_label": "Alert",
        "code": "30003",
        "text": "Unreachable handset.",
        "at": T0,
    }
    return Refusal(**(values | fields))


class TestHandleRefusal:
    def test_21610_opts_the_peer_out_once_and_audits_it(self):
        peer = PeerFactory()
        handle_refusal(refusal=refusal(code="21610", peer_id=peer.pk, to=str(peer.phone)))
        handle_refusal(
            refusal=refusal(code="21610", peer_id=peer.pk, to=str(peer.phone), at=T0.replace(hour=16))
        )
        peer.refresh_from_db()
        assert peer.opted_out_at == T0
        assert AuditEntry.objects.filter(action="peer.opted_out_by_provider").count() == 1

    def test_21211_flags_the_peer_found_by_number_when_the_text_names_none(self):
        peer = PeerFactory(phone="+18455550177")
        handle_refusal(refusal=refusal(code="21211", to="(845) 555-0177"))
        peer.refresh_from_db()
        assert peer.phone_flagged_at == T0
        assert peer.opted_out_at is None

    def test_a_failed_text_about_a_request_goes_on_its_timeline(self):
        peer_request = PeerRequestFactory()
        handle_refusal(refusal=refusal(request_id=peer_request.pk))
        event = peer_request.events.get(kind=RequestEvent.Kind.SMS_FAILED)
        assert event.detail == "Alert to +18455550123: 30003 Unreachable handset."

    def test_an_expired_text_changes_nothing(self):
        peer = PeerFactory()
        peer_request = PeerRequestFactory()
        handle_refusal(refusal=refusal(code="expired", peer_id=peer.pk, request_id=peer_request.pk))
        peer.refresh_from_db()
        assert (peer.opted_out_at, peer.phone_flagged_at) == (None, None)
        assert not peer_request.events.filter(kind=RequestEvent.Kind.SMS_FAILED).exists()

    def test_a_number_nobody_has_is_left_alone(self):
        handle_refusal(refusal=refusal(code="21610", to="+18455550999"))
        assert not AuditEntry.objects.exists()
