"""A text typed in the phone simulator goes through the signed webhook, as Twilio's would."""

import pytest

from demo import simulator
from sms import services, transport
from sms.models import InboundMessage, OutboundMessage
from tests.peers.factories import PeerFactory
from tests.sms.factories import T0

pytestmark = pytest.mark.django_db


class TestSimulateInbound:
    def test_it_goes_through_the_signed_webhook_path(self, monkeypatch, reply_handler):
        seen = {}
        real = services.process_inbound_webhook

        def spy(*, url, params, signature, now=None):
            seen.update(url=url, params=dict(params), signature=signature)
            return real(url=url, params=params, signature=signature, now=now)

        monkeypatch.setattr(simulator, "process_inbound_webhook", spy)
        peer = PeerFactory()
        inbound = simulator.simulate_inbound(from_number=str(peer.phone), body="YES 4821", now=T0)

        assert seen["url"] == "http://testserver/sms/inbound/"
        assert transport.is_valid_signature(
            url=seen["url"], params=seen["params"], signature=seen["signature"]
        )
        assert inbound.message_sid.startswith("SIM")
        assert inbound.message_sid == seen["params"]["MessageSid"]
        assert (inbound.from_number, inbound.body) == (str(peer.phone), "YES 4821")
        assert len(reply_handler.calls) == 1  # handled at once, for the developer watching

    def test_it_stores_nothing_when_the_signature_does_not_check_out(self, monkeypatch, reply_handler):
        monkeypatch.setattr(transport, "sign", lambda *, url, params: "forged")
        with pytest.raises(services.WebhookError) as raised:
            simulator.simulate_inbound(from_number="+12125550101", body="YES", now=T0)
        assert raised.value.status == 403
        assert not InboundMessage.objects.exists()
        assert reply_handler.calls == []


class TestWithTheRealReplyHandler:
    def test_the_simulator_reaches_it(self):
        peer = PeerFactory()
        inbound = simulator.simulate_inbound(from_number=str(peer.phone), body="ON", now=T0)
        assert inbound.outcome == "on"
        assert OutboundMessage.objects.filter(to=str(peer.phone), kind="reply").count() == 1
