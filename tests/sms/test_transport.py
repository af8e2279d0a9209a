import logging

import pytest

from sms import transport
from tests.fake_twilio import TEST_MESSAGING_SERVICE_SID, FakeTwilio

pytest_plugins = ["tests.fake_twilio"]

PEER = "+12125550101"


def outgoing(**kwargs) -> transport.Outgoing:
    kwargs.setdefault("message_id", 7)
    kwargs.setdefault("to", PEER)
    kwargs.setdefault("body", "Peer-RX: a peer is needed. Reply YES 4821")
    return transport.Outgoing(**kwargs)


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
