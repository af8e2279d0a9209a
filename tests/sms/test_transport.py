import logging

import pytest

from sms import services, transport
from sms.models import OutboundMessage, OutboundStatus
from tests.fake_twilio import TEST_MESSAGING_SERVICE_SID, FakeTwilio
from tests.sms.factories import OutboundMessageFactory
from tests.sms.test_services import RECEIVED_REFUSALS

pytest_plugins = ["tests.fake_twilio"]

PEER = "+12125550101"


def outgoing(**kwargs) -> transport.Outgoing:
    kwargs.setdefault("message_id", 7)
    kwargs.setdefault("to", PEER)
    kwargs.setdefault("body", "Peer-RX: a peer is needed. Reply YES 4821")
    return transport.Outgoing(**kwargs)


@pytest.mark.django_db
class TestConsoleBackend:
    def test_it_logs_the_text_and_returns_a_console_id(self, settings, caplog):
        settings.SMS_BACKEND = "console"
        settings.DEBUG = True  # the body is logged in debug only; the number is always masked
        with caplog.at_level(logging.INFO, logger="sms.transport"):
            sid = transport.send(outgoing())
        assert sid.startswith("console-")
        assert len(sid) == len("console-") + 32
        assert "Reply YES 4821" in caplog.text
        assert PEER not in caplog.text
        assert f"{PEER[:2]}******{PEER[-4:]}" in caplog.text

    def test_it_gives_each_message_its_own_id(self, settings):
        settings.SMS_BACKEND = "console"
        assert transport.send(outgoing()) != transport.send(outgoing())


class TestTwilioBackend:
    def test_it_sends_through_the_sdk_to_the_api_base_url(self, twilio_settings: FakeTwilio):
        sid = transport.send(outgoing(validity_seconds=600))

        [message] = twilio_settings.messages
        assert sid == message.sid
        assert message.to == PEER
        assert message.body == "Peer-RX: a peer is needed. Reply YES 4821"
        assert message.params["MessagingServiceSid"] == TEST_MESSAGING_SERVICE_SID
        assert "From" not in message.params
        assert message.params["ValidityPeriod"] == "600"
        assert message.status_callback == "http://testserver/sms/status/7/"

    def test_it_uses_the_from_number_without_a_messaging_service(self, settings, twilio_settings):
        settings.TWILIO_MESSAGING_SERVICE_SID = ""
        settings.TWILIO_FROM_NUMBER = "+15005550006"
        transport.send(outgoing())
        [message] = twilio_settings.messages
        assert message.from_ == "+15005550006"
        assert "MessagingServiceSid" not in message.params
        assert "ValidityPeriod" not in message.params

    def test_it_builds_the_status_callback_from_the_public_url(self, settings, twilio_settings):
        settings.PEERRX_PUBLIC_BASE_URL = "https://peer-rx.example.org"
        transport.send(outgoing())
        assert twilio_settings.messages[0].status_callback == "https://peer-rx.example.org/sms/status/7/"

    @pytest.mark.parametrize(("seconds", "sent"), [(0, "1"), (50_000, "36000"), (1, "1")])
    def test_it_keeps_the_validity_period_in_twilios_range(self, twilio_settings, seconds, sent):
        transport.send(outgoing(validity_seconds=seconds))
        assert twilio_settings.messages[0].params["ValidityPeriod"] == sent

    @pytest.mark.parametrize(
        ("outcome", "code", "retryable"),
        [
            ("429", "20429", True),
            ("500", "20500", True),
            ("503", "20503", True),
            ("21610", "21610", False),
            ("21211", "21211", False),
        ],
    )
    def test_it_classifies_provider_errors(self, twilio_settings, outcome, code, retryable):
        twilio_settings.script(outcome)
        with pytest.raises(transport.SendError) as raised:
            transport.send(outgoing())
        assert raised.value.code == code
        assert raised.value.retryable is retryable
        assert raised.value.http_status in {400, 429, 500, 503}
        assert twilio_settings.messages == []

    def test_it_treats_a_timeout_as_retryable(self, settings, twilio_settings):
        settings.PEERRX_SMS_TIMEOUT_SECONDS = 0.3
        twilio_settings.hang_seconds = 2
        twilio_settings.script("timeout")
        with pytest.raises(transport.SendError) as raised:
            transport.send(outgoing())
        assert raised.value.code == "timeout"
        assert raised.value.retryable is True

    def test_it_treats_a_dropped_connection_as_retryable(self, twilio_settings):
        twilio_settings.script("drop")
        with pytest.raises(transport.SendError) as raised:
            transport.send(outgoing())
        assert raised.value.code == "connection"
        assert raised.value.retryable is True

    def test_it_refuses_wrong_credentials_for_good(self, settings, twilio_settings):
        settings.TWILIO_AUTH_TOKEN = "not-the-token"
        with pytest.raises(transport.SendError) as raised:
            transport.send(outgoing())
        assert raised.value.code == "20003"
        assert raised.value.retryable is False

    def test_it_reuses_one_client_per_configuration(self, settings, twilio_settings):
        first = transport.twilio_client()
        assert transport.twilio_client() is first
        settings.PEERRX_SMS_TIMEOUT_SECONDS = 3
        assert transport.twilio_client() is not first
        assert transport.twilio_client().api.base_url == twilio_settings.base_url


class TestSignatures:
    URL = "https://peer-rx.example.org/sms/inbound/"
    PARAMS = {"MessageSid": "SM123", "From": PEER, "Body": "YES 4821"}

    def test_it_accepts_what_it_signed(self, settings):
        signature = transport.sign(url=self.URL, params=self.PARAMS)
        assert transport.is_valid_signature(url=self.URL, params=self.PARAMS, signature=signature)

    def test_it_accepts_twilios_own_signature(self, settings, fake_twilio):
        settings.SMS_SIGNING_TOKEN = fake_twilio.auth_token
        callback = fake_twilio.sign(self.URL, self.PARAMS)
        assert transport.is_valid_signature(url=self.URL, params=self.PARAMS, signature=callback.signature)

    @pytest.mark.parametrize("signature", [None, "", "bm90IGl0"])
    def test_it_refuses_a_missing_or_wrong_signature(self, signature):
        assert not transport.is_valid_signature(url=self.URL, params=self.PARAMS, signature=signature)

    def test_it_refuses_changed_parameters_or_url(self):
        signature = transport.sign(url=self.URL, params=self.PARAMS)
        changed = {**self.PARAMS, "Body": "NO 4821"}
        assert not transport.is_valid_signature(url=self.URL, params=changed, signature=signature)
        other_url = "https://evil.example.org/sms/inbound/"
        assert not transport.is_valid_signature(url=other_url, params=self.PARAMS, signature=signature)

    def test_it_refuses_a_signature_made_with_another_token(self, settings):
        signature = transport.sign(url=self.URL, params=self.PARAMS)
        settings.SMS_SIGNING_TOKEN = "another-token"
        assert not transport.is_valid_signature(url=self.URL, params=self.PARAMS, signature=signature)


@pytest.mark.django_db
class TestConsoleDeliveryReports:
    """The console backend reports delivery the way Twilio's status callback does."""

    @pytest.fixture(autouse=True)
    def _console(self, settings):
        settings.SMS_BACKEND = "console"
        settings.PEERRX_CONSOLE_SMS_FAILURE_RATE = 0.0
        settings.SMS_REFUSAL_HANDLER = "tests.sms.test_services.record_refusal"
        RECEIVED_REFUSALS.clear()
        yield
        RECEIVED_REFUSALS.clear()

    def test_it_marks_a_text_delivered_once_the_send_has_committed(self, django_capture_on_commit_callbacks):
        message = OutboundMessageFactory()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert services.deliver(message_id=message.pk) == OutboundStatus.SENT
            message.refresh_from_db()
            assert message.status == OutboundStatus.SENT  # the report waits for the commit
        assert len(callbacks) == 1
        message.refresh_from_db()
        assert message.status == OutboundStatus.DELIVERED
        assert message.provider_sid.startswith("console-")
        assert (message.error_code, RECEIVED_REFUSALS) == ("", [])

    def test_with_a_failure_rate_of_one_every_text_is_undelivered_30003_and_refused(
        self, settings, django_capture_on_commit_callbacks
    ):
        settings.PEERRX_CONSOLE_SMS_FAILURE_RATE = 1.0
        message = OutboundMessageFactory()
        with django_capture_on_commit_callbacks(execute=True):
            services.deliver(message_id=message.pk)
        message.refresh_from_db()
        assert (message.status, message.error_code) == (OutboundStatus.UNDELIVERED, "30003")
        assert message.error_message == services.CALLBACK_ERROR_TEXT["30003"]
        assert message.provider_sid.startswith("console-")  # handed over: never sent again
        assert [(r.message_id, r.code) for r in RECEIVED_REFUSALS] == [(message.pk, "30003")]

    def test_it_fails_the_share_of_texts_the_rate_names(self, settings, monkeypatch):
        settings.PEERRX_CONSOLE_SMS_FAILURE_RATE = 0.25
        draws = iter([0.1, 0.3, 0.9, 0.24, 0.25, 0.7, 0.5, 0.99])
        monkeypatch.setattr(transport, "_console_random", lambda: next(draws))
        outcomes = [transport.console_delivery_outcome() for _ in range(8)]
        assert outcomes.count(("undelivered", "30003")) == 2
        assert outcomes.count(("delivered", "")) == 6

    def test_a_rate_of_zero_never_draws(self, monkeypatch):
        monkeypatch.setattr(transport, "_console_random", lambda: pytest.fail("drew a number"))
        assert transport.console_delivery_outcome() == ("delivered", "")

    def test_the_report_only_moves_the_status_forward(self, django_capture_on_commit_callbacks):
        message = OutboundMessageFactory()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.deliver(message_id=message.pk)
        # A later state (a real failure recorded meanwhile) is not undone by the report.
        OutboundMessage.objects.filter(pk=message.pk).update(status=OutboundStatus.FAILED)
        for callback in callbacks:
            callback()
        message.refresh_from_db()
        assert message.status == OutboundStatus.FAILED

    def test_twilio_texts_get_no_console_report(self, twilio_settings, django_capture_on_commit_callbacks):
        message = OutboundMessageFactory()
        with django_capture_on_commit_callbacks(execute=True):
            services.deliver(message_id=message.pk)
        message.refresh_from_db()
        assert message.status == OutboundStatus.SENT
