"""Hypothesis fuzzing of Twilio's two webhooks with VALID signatures, and bad signatures.

Whatever a signed body holds (unicode, 10 kB, missing or odd fields, random or repeated
MessageSids), the webhooks never answer 500, and no request is ever assigned to a peer who
did not text a valid YES for it.
"""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.grammar import Kind, parse
from peer_requests.models import Alert, PeerRequest, RequestStatus
from sms.models import InboundMessage, OutboundMessage, OutboundStatus
from tests.reliability.helpers import INBOUND, STATUS, open_request, post_signed
from tests.world import make_world

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Twilio answers our webhooks with these; anything else (a 500 above all) is a bug.
ACCEPTABLE = {200, 400, 413}

text = st.text(max_size=80)
big_text = st.builds(
    lambda chunk, times: (chunk * times)[:10_240], st.text(min_size=1, max_size=16), st.just(10_240)
)
sids = st.one_of(
    text,
    st.from_regex(r"\ASM[0-9a-f]{32}\Z"),
    st.sampled_from(["SMrepeat0000000000000000000000000", "SMrepeat1111111111111111111111111"]),
)


def _bodies(code: str):
    keyword = st.sampled_from(
        [
            "YES {c}",
            "Y{c}",
            "yes #{c}!",
            "YES",
            "y",
            "NO {c}",
            "NO {c} 2",
            "CANCEL {c}",
            "STOP",
            "START",
            "HELP",
            "OFF 4",
            "ON",
            "YES 0000",
            "YES {c} {c}",
            "1",
        ]
    ).map(lambda template: template.format(c=code))
    return st.one_of(keyword, text, big_text)


def _valid_yes_senders(peer_request: PeerRequest) -> set[str]:
    """Numbers that texted a YES naming this request's code, or a bare YES (valid while the
    peer has one open alert)."""
    senders = set()
    for number, body in InboundMessage.objects.values_list("from_number", "body"):
        command = parse(body)
        if command.kind == Kind.YES and command.code in (None, peer_request.code):
            senders.add(number)
    return senders


@pytest.fixture
def world(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    # Every example submits a request at the same location: the request limits would stop them.
    settings.PEERRX_MAX_SUBMITS_PER_MINUTE = settings.PEERRX_MAX_LIVE_REQUESTS_PER_LOCATION = 100_000
    return make_world(peers=3)


class TestInboundWebhookFuzz:
    def test_it_never_fails_and_never_assigns_a_peer_without_a_valid_yes(self, world, inbound_worker):
        phones = [str(peer.phone) for peer in world.peers]
        request_holder: dict = {}

        @FUZZ
        @given(data=st.data())
        def run(data):
            peer_request = open_request(world)
            request_holder["last"] = peer_request
            client = Client()
            for _ in range(data.draw(st.integers(1, 4), label="texts")):
                params = {
                    "MessageSid": data.draw(sids, label="MessageSid"),
                    "From": data.draw(st.one_of(st.sampled_from(phones), text), label="From"),
                    "To": data.draw(st.one_of(st.just("+15005550006"), text), label="To"),
                    "Body": data.draw(_bodies(peer_request.code), label="Body"),
                    "AccountSid": "AC" + "0" * 32,
                }
                for name in data.draw(st.sets(st.sampled_from(sorted(params))), label="missing"):
                    del params[name]
                with inbound_worker():
                    response = post_signed(client, INBOUND, params)
                assert response.status_code in ACCEPTABLE, (response.status_code, params)
            # The invariant, over every request made so far.
            for standing in PeerRequest.objects.filter(status=RequestStatus.ASSIGNED):
                phone = str(standing.assigned_peer.phone)
                assert phone in _valid_yes_senders(standing), (
                    standing.code,
                    list(InboundMessage.objects.filter(from_number=phone).values_list("body", "outcome")),
                )
                assert Alert.objects.filter(request=standing, is_assigned=True).count() == 1

        run()
        # The fuzz did reach the handler: texts were stored and handled.
        assert InboundMessage.objects.filter(handled_at__isnull=False).exists()
        assert request_holder["last"] is not None

    def test_it_assigns_the_peer_who_sent_a_valid_yes(self, world, inbound_worker):
        """The positive control for the invariant above: a valid YES through the same path assigns."""
        peer_request = open_request(world)
        peer = world.peers[1]
        with inbound_worker():
            response = post_signed(
                Client(),
                INBOUND,
                {"MessageSid": "SM" + "7" * 32, "From": str(peer.phone), "Body": f"yes {peer_request.code}"},
            )
        assert response.status_code == 200
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.ASSIGNED
        assert peer_request.assigned_peer == peer

    def test_it_answers_413_to_a_body_over_the_limit_and_stores_nothing(self, world):
        params = {"MessageSid": "SM" + "8" * 32, "From": str(world.peers[0].phone), "Body": "x" * 70_000}
        response = post_signed(Client(), INBOUND, params)
        assert response.status_code == 413
        assert not InboundMessage.objects.exists()


class TestStatusWebhookFuzz:
    def test_it_never_fails_and_keeps_every_status_a_known_one(self, world):
        open_request(world)
        sent = list(OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ALERT))
        for index, message in enumerate(sent):
            OutboundMessage.objects.filter(pk=message.pk).update(
                provider_sid=f"SMfuzz{index:026d}", status=OutboundStatus.SENT
            )
        provider_sids = [f"SMfuzz{index:026d}" for index in range(len(sent))]
        statuses = ["queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "accepted"]

        @FUZZ
        @given(data=st.data())
        def run(data):
            client = Client()
            params = {
                "MessageSid": data.draw(st.one_of(st.sampled_from(provider_sids), sids), label="MessageSid"),
                "MessageStatus": data.draw(st.one_of(st.sampled_from(statuses), text), label="MessageStatus"),
                "ErrorCode": data.draw(st.one_of(st.sampled_from(["", "30003", "30005", "21610"]), text)),
                "SmsStatus": data.draw(st.one_of(st.sampled_from(statuses), text, big_text)),
            }
            for name in data.draw(st.sets(st.sampled_from(sorted(params))), label="missing"):
                del params[name]
            response = post_signed(client, STATUS, params)
            assert response.status_code in ACCEPTABLE, (response.status_code, params)
            known = set(OutboundStatus.values)
            assert set(OutboundMessage.objects.values_list("status", flat=True)) <= known

        run()


class TestBadSignatures:
    @pytest.mark.parametrize("path", [INBOUND, STATUS])
    @pytest.mark.parametrize(
        "signature",
        [None, "", "not-base64!", "d3Jvbmc=", "signed-for-another-url"],
    )
    def test_it_answers_403_and_stores_nothing(self, world, path, signature):
        open_request(world)
        inbound_before = InboundMessage.objects.count()
        outbound_before = list(OutboundMessage.objects.values_list("pk", "status", "provider_sid"))
        params = {
            "MessageSid": "SM" + "9" * 32,
            "From": str(world.peers[0].phone),
            "Body": "YES",
            "MessageStatus": "delivered",
        }
        client = Client()
        if signature is None:
            response = client.post(path, params)
        elif signature == "signed-for-another-url":
            from sms import transport

            forged = transport.sign(url=f"https://attacker.example{path}", params=params)
            response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=forged)
        else:
            response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 403
        assert InboundMessage.objects.count() == inbound_before
        assert list(OutboundMessage.objects.values_list("pk", "status", "provider_sid")) == outbound_before
        assert not PeerRequest.objects.filter(status=RequestStatus.ASSIGNED).exists()

    def test_a_signature_over_other_params_is_refused(self, world):
        peer_request = open_request(world)
        signed = {"MessageSid": "SM" + "6" * 32, "From": str(world.peers[0].phone), "Body": "NO"}
        tampered = signed | {"Body": f"YES {peer_request.code}"}
        from sms import transport

        signature = transport.sign(url=f"http://testserver{INBOUND}", params=signed)
        response = Client().post(INBOUND, tampered, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 403
        assert not InboundMessage.objects.exists()
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN
