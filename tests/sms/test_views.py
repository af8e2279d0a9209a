import pytest
from django.test import Client
from django.urls import reverse

from sms import services, tasks, transport
from sms.models import InboundMessage, OutboundMessage, OutboundStatus
from sms.views import EMPTY_TWIML, MAX_WEBHOOK_BYTES
from tests.fake_twilio import FakeTwilio
from tests.sms.factories import T0, OutboundMessageFactory

pytest_plugins = ["tests.fake_twilio"]
pytestmark = pytest.mark.django_db

INBOUND = "/sms/inbound/"
STATUS = "/sms/status/"


def inbound_params(**overrides) -> dict[str, str]:
    params = {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": "+12125550101",
        "To": "+15005550006",
        "Body": "YES 4821",
        "NumMedia": "0",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def post_signed(
    client, path: str, params: dict, *, base: str = "http://testserver", signature: str | None = None
):
    if signature is None:
        signature = transport.sign(url=f"{base}{path}", params=params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def status_url(message) -> str:
    return f"/sms/status/{message.pk}/"


class TestUrls:
    def test_it_mounts_the_webhooks_where_twilio_is_told_to_call(self):
        assert reverse("sms:inbound") == INBOUND
        assert reverse("sms:status", args=[7]) == "/sms/status/7/"
        assert reverse("sms:status_by_provider_id") == STATUS


class TestInboundWebhook:
    def test_it_stores_the_text_and_answers_empty_twiml_before_handling_it(
        self, client, reply_handler, django_capture_on_commit_callbacks, monkeypatch
    ):
        handed_over: list[int] = []
        monkeypatch.setattr(tasks.handle_inbound, "delay", handed_over.append)
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(client, INBOUND, inbound_params())
        assert response.status_code == 200
        assert response["Content-Type"] == "text/xml"
        assert response.content.decode() == EMPTY_TWIML
        inbound = InboundMessage.objects.get()
        assert (inbound.from_number, inbound.to_number, inbound.body) == (
            "+12125550101",
            "+15005550006",
            "YES 4821",
        )
        # The peer is found, and the reply handled, by a worker after the commit.
        assert inbound.peer is None
        assert (inbound.handled_at, reply_handler.calls) == (None, [])
        assert handed_over == [inbound.pk]

    def test_a_worker_then_acts_on_it_and_queues_the_answer(self, client, reply_handler, inbound_worker):
        with inbound_worker():
            post_signed(client, INBOUND, inbound_params())
        inbound = InboundMessage.objects.get()
        assert inbound.handled_at is not None
        assert len(reply_handler.calls) == 1
        reply = OutboundMessage.objects.get()
        assert (reply.kind, reply.to, reply.body) == ("reply", "+12125550101", "Thanks, got it.")

    def test_it_keeps_the_text_for_the_sweeper_when_the_broker_is_down(
        self, client, reply_handler, django_capture_on_commit_callbacks, monkeypatch
    ):
        def broker_down(inbound_id):
            raise ConnectionError("broker unreachable")

        monkeypatch.setattr(tasks.handle_inbound, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            assert post_signed(client, INBOUND, inbound_params()).status_code == 200
        inbound = InboundMessage.objects.get()
        assert inbound.handled_at is None
        later = inbound.received_at + services.INBOUND_RETRY_AFTER
        assert services.retry_unhandled_inbound(now=later) == 1
        inbound.refresh_from_db()
        assert inbound.handled_at == later
        assert len(reply_handler.calls) == 1

    @pytest.mark.parametrize("signature", ["", "d3Jvbmc=", None])
    def test_it_refuses_a_missing_or_wrong_signature_and_stores_nothing(
        self, client, reply_handler, signature
    ):
        headers = {} if signature is None else {"HTTP_X_TWILIO_SIGNATURE": signature}
        response = client.post(INBOUND, inbound_params(), **headers)
        assert response.status_code == 403
        assert not InboundMessage.objects.exists()
        assert not OutboundMessage.objects.exists()
        assert reply_handler.calls == []

    def test_it_refuses_a_signature_for_other_parameters(self, client, reply_handler):
        signature = transport.sign(url=f"http://testserver{INBOUND}", params=inbound_params(Body="NO 4821"))
        response = client.post(INBOUND, inbound_params(Body="YES 4821"), HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 403
        assert not InboundMessage.objects.exists()

    def test_it_checks_the_signature_against_the_public_url_behind_a_proxy(
        self, client, settings, reply_handler
    ):
        settings.PEERRX_PUBLIC_BASE_URL = "https://peer-rx.example.org"
        response = post_signed(client, INBOUND, inbound_params(), base="https://peer-rx.example.org")
        assert response.status_code == 200
        assert InboundMessage.objects.count() == 1
        # Signed for the address the request reached internally: not what Twilio signs.
        response = post_signed(client, INBOUND, inbound_params(MessageSid="SM2"), base="http://testserver")
        assert response.status_code == 403

    def test_it_accepts_twilios_own_signature(self, client, twilio_settings: FakeTwilio, reply_handler):
        callback = twilio_settings.inbound_sms(
            f"http://testserver{INBOUND}", from_="+12125550101", body="Y 4821"
        )
        response = client.post(callback.path, callback.params, HTTP_X_TWILIO_SIGNATURE=callback.signature)
        assert response.status_code == 200
        assert InboundMessage.objects.get().message_sid == callback.params["MessageSid"]

    def test_it_stores_a_duplicate_delivery_once_and_acts_once(self, client, reply_handler, inbound_worker):
        params = inbound_params()
        with inbound_worker():
            assert post_signed(client, INBOUND, params).status_code == 200
            assert post_signed(client, INBOUND, params).status_code == 200
        assert InboundMessage.objects.count() == 1
        assert len(reply_handler.calls) == 1
        assert OutboundMessage.objects.count() == 1

    @pytest.mark.parametrize("missing", ["MessageSid", "From"])
    def test_it_answers_400_for_a_missing_field(self, client, reply_handler, missing):
        response = post_signed(client, INBOUND, inbound_params(**{missing: None}))
        assert response.status_code == 400
        assert missing in response.content.decode()
        assert not InboundMessage.objects.exists()

    def test_it_answers_400_for_a_field_too_long_to_be_real(self, client, reply_handler):
        response = post_signed(client, INBOUND, inbound_params(MessageSid="SM" + "1" * 100))
        assert response.status_code == 400
        assert not InboundMessage.objects.exists()

    def test_it_stores_an_empty_body(self, client, reply_handler):
        assert post_signed(client, INBOUND, inbound_params(Body=None)).status_code == 200
        assert InboundMessage.objects.get().body == ""

    def test_it_drops_nul_characters_the_database_cannot_store(self, client, reply_handler):
        assert post_signed(client, INBOUND, inbound_params(Body="YES\x00 4821")).status_code == 200
        assert InboundMessage.objects.get().body == "YES 4821"

    def test_it_refuses_an_oversized_body(self, client, reply_handler):
        response = post_signed(client, INBOUND, inbound_params(Body="x" * (MAX_WEBHOOK_BYTES + 1)))
        assert response.status_code == 413
        assert not InboundMessage.objects.exists()

    def test_it_stores_a_long_text_cut_to_what_twilio_can_send(self, client, reply_handler):
        body = "é" * 5000
        assert post_signed(client, INBOUND, inbound_params(Body=body)).status_code == 200
        assert InboundMessage.objects.get().body == body[:1600]

    def test_it_answers_200_even_when_the_handler_fails(self, client, reply_handler, inbound_worker):
        reply_handler.error = RuntimeError("boom")
        with inbound_worker():
            assert post_signed(client, INBOUND, inbound_params()).status_code == 200
        inbound = InboundMessage.objects.get()
        assert inbound.handled_at is None
        assert inbound.outcome == "error"

    def test_it_only_accepts_post(self, client):
        assert client.get(INBOUND).status_code == 405

    def test_it_needs_no_csrf_token(self, reply_handler):
        client = Client(enforce_csrf_checks=True)
        assert post_signed(client, INBOUND, inbound_params()).status_code == 200


class TestStatusWebhook:
    @pytest.fixture
    def sent(self):
        return OutboundMessageFactory(status=OutboundStatus.SENT, provider_sid="SMsent", sent_at=T0)

    def callback(self, status: str, sid: str = "SMsent", **extra) -> dict[str, str]:
        return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status, **extra}

    def test_it_moves_the_status_forward(self, client, sent):
        response = post_signed(client, status_url(sent), self.callback("delivered"))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/xml"
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.DELIVERED

    @pytest.mark.parametrize("signature", ["", "d3Jvbmc=", None])
    def test_it_refuses_a_missing_or_wrong_signature_and_changes_nothing(self, client, sent, signature):
        headers = {} if signature is None else {"HTTP_X_TWILIO_SIGNATURE": signature}
        response = client.post(status_url(sent), self.callback("failed", ErrorCode="30003"), **headers)
        assert response.status_code == 403
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.SENT
        assert sent.error_code == ""

    def test_it_ends_on_the_right_status_through_duplicate_late_and_out_of_order_callbacks(
        self, client, sent
    ):
        for status in ["delivered", "sent", "delivered", "queued", "sending", "sent"]:
            assert post_signed(client, status_url(sent), self.callback(status)).status_code == 200
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.DELIVERED

    def test_it_stores_the_error_code_of_a_failure(self, client, sent):
        post_signed(client, status_url(sent), self.callback("undelivered", ErrorCode="30005"))
        sent.refresh_from_db()
        assert (sent.status, sent.error_code) == (OutboundStatus.UNDELIVERED, "30005")

    def test_it_answers_200_for_an_unknown_message_and_changes_nothing(self, client, sent):
        unknown = f"/sms/status/{sent.pk + 1000}/"
        assert post_signed(client, unknown, self.callback("delivered")).status_code == 200
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.SENT

    def test_the_old_url_still_finds_the_message_by_provider_id(self, client, sent):
        assert post_signed(client, STATUS, self.callback("delivered")).status_code == 200
        assert post_signed(client, STATUS, self.callback("delivered", sid="SMunknown")).status_code == 200
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.DELIVERED

    def test_it_falls_back_to_sms_status(self, client, sent):
        params = {"MessageSid": "SMsent", "SmsStatus": "delivered"}
        assert post_signed(client, status_url(sent), params).status_code == 200
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.DELIVERED

    @pytest.mark.parametrize("params", [{"MessageStatus": "delivered"}, {"MessageSid": "SMsent"}, {}])
    def test_it_answers_400_for_missing_fields(self, client, sent, params):
        assert post_signed(client, status_url(sent), params).status_code == 400
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.SENT

    def test_it_names_the_missing_status(self, client, sent):
        response = post_signed(client, status_url(sent), {"MessageSid": "SMsent"})
        assert response.content.decode() == "MessageStatus is required."

    def test_it_refuses_an_oversized_body(self, client, sent):
        params = self.callback("delivered", Junk="x" * (MAX_WEBHOOK_BYTES + 1))
        assert post_signed(client, status_url(sent), params).status_code == 413

    def test_it_applies_callbacks_the_fake_twilio_signs(self, client, twilio_settings: FakeTwilio):
        message = OutboundMessageFactory()
        from sms import services

        services.deliver(message_id=message.pk, now=T0)
        message.refresh_from_db()
        for status in ["sent", "delivered", "sent"]:
            callback = twilio_settings.status_callback(message.provider_sid, status)
            assert callback.path == status_url(message)
            response = client.post(callback.path, callback.params, HTTP_X_TWILIO_SIGNATURE=callback.signature)
            assert response.status_code == 200
        message.refresh_from_db()
        assert message.status == OutboundStatus.DELIVERED
