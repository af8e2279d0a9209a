"""The fake Twilio, driven by the real twilio SDK (that is what it is for)."""

import re
import socket
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.test import RequestFactory
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fake_twilio import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_MESSAGING_SERVICE_SID,
    FakeTwilio,
    SignedCallback,
)

pytest_plugins = ["tests.fake_twilio"]

PEER = "+15555550101"
OTHER_PEER = "+15555550102"
SID = re.compile(r"^SM[0-9a-f]{32}$")


def send(client: Client, to: str = PEER, **kwargs):
    kwargs.setdefault("body", "Peer-RX: a peer is needed. Reply YES 4821")
    kwargs.setdefault("messaging_service_sid", TEST_MESSAGING_SERVICE_SID)
    return client.messages.create(to=to, **kwargs)


@pytest.fixture
def client(fake_twilio: FakeTwilio) -> Client:
    return fake_twilio.client(timeout=5)


class _Receiver(BaseHTTPRequestHandler):
    """A tiny app endpoint: checks X-Twilio-Signature like the real webhook view, 204 or 403."""

    server: "ReceiverServer"

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        params = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
        url = f"http://{self.headers['Host']}{self.path}"
        signature = self.headers.get("X-Twilio-Signature", "")
        valid = RequestValidator(TEST_AUTH_TOKEN).validate(url, params, signature)
        self.server.received.append((url, params, signature, valid))
        self.send_response(204 if valid else 403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args) -> None:
        pass


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receiver)
        self.received: list[tuple[str, dict[str, str], str, bool]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sms/status/"


@pytest.fixture
def receiver():
    server = ReceiverServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class TestMessagesCreate:
    def test_it_creates_and_records_a_message(self, fake_twilio, client):
        message = send(client, status_callback="http://testserver/sms/status/", validity_period=600)

        assert SID.match(message.sid)
        assert message.status == "queued"
        assert message.to == PEER
        assert message.body == "Peer-RX: a peer is needed. Reply YES 4821"
        assert message.account_sid == TEST_ACCOUNT_SID
        assert message.messaging_service_sid == TEST_MESSAGING_SERVICE_SID
        assert message.from_ == fake_twilio.from_number
        assert message.date_created is not None
        [recorded] = fake_twilio.messages
        assert recorded.sid == message.sid
        assert recorded.params["To"] == PEER
        assert recorded.params["Body"] == message.body
        assert recorded.params["MessagingServiceSid"] == TEST_MESSAGING_SERVICE_SID
        assert recorded.params["StatusCallback"] == "http://testserver/sms/status/"
        assert recorded.params["ValidityPeriod"] == "600"
        assert recorded.created_at.tzinfo is not None
        assert fake_twilio.message(message.sid) is recorded

    def test_it_sends_from_a_number_when_given_one(self, fake_twilio, client):
        message = send(client, from_="+15005550009", messaging_service_sid=None)

        assert message.from_ == "+15005550009"
        assert fake_twilio.messages[0].params["From"] == "+15005550009"
        assert "MessagingServiceSid" not in fake_twilio.messages[0].params

    def test_it_keeps_unicode_bodies(self, fake_twilio, client):
        message = send(client, body="¿Puede venir? Responda SÍ 4821 🙂")

        assert message.body == "¿Puede venir? Responda SÍ 4821 🙂"
        assert fake_twilio.messages_to(PEER)[0].body == "¿Puede venir? Responda SÍ 4821 🙂"

    @pytest.mark.parametrize(
        ("username", "password"),
        [(TEST_ACCOUNT_SID, "not-the-token"), ("AC" + "9" * 32, TEST_AUTH_TOKEN)],
        ids=["wrong-token", "wrong-account"],
    )
    def test_it_refuses_wrong_credentials(self, fake_twilio, username, password):
        client = Client(username, password)
        client.api.base_url = fake_twilio.base_url

        with pytest.raises(TwilioRestException) as error:
            send(client)

        assert error.value.status == 401
        assert error.value.code == 20003
        assert fake_twilio.messages == []

    def test_it_refuses_another_accounts_messages(self, fake_twilio):
        client = Client(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, account_sid="AC" + "1" * 32)
        client.api.base_url = fake_twilio.base_url

        with pytest.raises(TwilioRestException) as error:
            send(client)

        assert (error.value.status, error.value.code) == (404, 20404)
        assert fake_twilio.messages == []

    def test_it_requires_a_body_and_a_sender(self, fake_twilio, client):
        with pytest.raises(TwilioRestException) as no_body:
            send(client, body="")
        with pytest.raises(TwilioRestException) as no_sender:
            send(client, messaging_service_sid=None)

        assert (no_body.value.status, no_body.value.code) == (400, 21602)
        assert (no_sender.value.status, no_sender.value.code) == (400, 21603)
        assert fake_twilio.messages == []


class TestFaultInjection:
    @pytest.mark.parametrize(
        ("outcome", "status", "code", "text"),
        [
            ("429", 429, 20429, "Too Many Requests"),
            ("500", 500, 20500, "Internal Server Error"),
            ("503", 503, 20503, "Service Unavailable"),
            ("21610", 400, 21610, "Attempt to send to unsubscribed recipient"),
            ("21211", 400, 21211, "Invalid 'To' Phone Number"),
        ],
    )
    def test_it_makes_the_sdk_raise_each_injected_error(
        self, fake_twilio, client, outcome, status, code, text
    ):
        fake_twilio.script(outcome)

        with pytest.raises(TwilioRestException) as error:
            send(client)

        assert error.value.status == status
        assert error.value.code == code
        assert text in error.value.msg
        assert fake_twilio.messages == []
        # The script is used up: the retry goes through, once.
        retried = send(client)
        assert [m.sid for m in fake_twilio.messages] == [retried.sid]
        assert [(c.outcome, c.status_code) for c in fake_twilio.calls] == [(outcome, status), ("ok", 201)]

    def test_it_consumes_the_script_in_order_then_uses_the_default(self, fake_twilio, client):
        fake_twilio.script("429", "500")
        fake_twilio.default_outcome = "503"

        codes = []
        for _ in range(4):
            with pytest.raises(TwilioRestException) as error:
                send(client)
            codes.append(error.value.code)
        fake_twilio.default_outcome = "ok"
        send(client)

        assert codes == [20429, 20500, 20503, 20503]
        assert len(fake_twilio.messages) == 1

    def test_it_scripts_outcomes_per_recipient(self, fake_twilio, client):
        fake_twilio.script("21610", to=PEER)
        fake_twilio.script("429")

        with pytest.raises(TwilioRestException) as shared:
            send(client, to=OTHER_PEER)
        with pytest.raises(TwilioRestException) as own:
            send(client, to=PEER)
        send(client, to=PEER)
        send(client, to=OTHER_PEER)

        assert shared.value.code == 20429
        assert own.value.code == 21610
        assert [c.outcome for c in fake_twilio.calls_to(PEER)] == ["21610", "ok"]
        assert [c.outcome for c in fake_twilio.calls_to(OTHER_PEER)] == ["429", "ok"]
        assert len(fake_twilio.messages_to(PEER)) == 1
        assert len(fake_twilio.messages_to(OTHER_PEER)) == 1

    def test_it_rejects_an_unknown_outcome(self, fake_twilio):
        with pytest.raises(ValueError, match="unknown outcome"):
            fake_twilio.script("418")
        with pytest.raises(ValueError, match="unknown outcome"):
            fake_twilio.default_outcome = "sometimes"

    def test_it_holds_a_timeout_call_past_the_sdk_timeout(self, fake_twilio):
        client = fake_twilio.client(timeout=0.3)  # TwilioHttpClient(timeout=...) is the read timeout
        fake_twilio.hang_seconds = 5
        fake_twilio.script("timeout")

        with pytest.raises(requests.exceptions.Timeout):
            send(client)

        assert fake_twilio.messages == []
        assert fake_twilio.calls[0].outcome == "timeout"
        assert fake_twilio.calls[0].status_code is None
        sent = send(client)
        assert [m.sid for m in fake_twilio.messages] == [sent.sid]

    def test_it_drops_the_connection(self, fake_twilio, client):
        fake_twilio.script("drop")

        with pytest.raises(requests.exceptions.ConnectionError):
            send(client)

        assert fake_twilio.messages == []
        send(client)
        assert len(fake_twilio.messages) == 1


class TestConcurrency:
    def test_it_sees_parallel_sends_overlap(self, fake_twilio, client):
        fake_twilio.latency = 0.2
        numbers = [f"+1555555{n:04d}" for n in range(20)]
        start = threading.Barrier(len(numbers))

        def send_to(number: str) -> str:
            start.wait()
            return send(client, to=number).sid

        with ThreadPoolExecutor(max_workers=len(numbers)) as pool:
            sids = list(pool.map(send_to, numbers))

        assert fake_twilio.max_in_flight > 1
        assert fake_twilio.in_flight == 0
        assert sorted(m.to for m in fake_twilio.messages) == sorted(numbers)
        assert sorted(m.sid for m in fake_twilio.messages) == sorted(sids)
        assert len(set(sids)) == len(numbers)
        calls = fake_twilio.calls
        assert all(c.ended is not None and c.started <= c.ended for c in calls)
        first_to_end = min(c.ended for c in calls)
        assert sum(c.started < first_to_end for c in calls) > 1  # begun before any had finished

    def test_it_counts_in_flight_calls_one_at_a_time_when_sequential(self, fake_twilio, client):
        fake_twilio.latency = 0.05
        send(client)
        send(client, to=OTHER_PEER)

        assert fake_twilio.max_in_flight == 1


class TestStatusCallbacks:
    def test_it_posts_a_signed_status_callback_that_validates(self, fake_twilio, client, receiver):
        message = send(client, status_callback=receiver.url)

        status = fake_twilio.post_status(message.sid, "delivered")

        assert status == 204
        [(url, params, signature, valid)] = receiver.received
        assert valid
        assert url == receiver.url
        assert RequestValidator(TEST_AUTH_TOKEN).validate(url, params, signature)
        assert not RequestValidator("another-token").validate(url, params, signature)
        assert params["MessageSid"] == message.sid
        assert params["MessageStatus"] == "delivered"
        assert params["To"] == PEER
        assert params["From"] == fake_twilio.from_number
        assert params["AccountSid"] == TEST_ACCOUNT_SID
        assert "ErrorCode" not in params
        assert fake_twilio.message(message.sid).status == "delivered"

    def test_it_sends_the_error_code_of_a_failed_message(self, fake_twilio, client, receiver):
        message = send(client, status_callback=receiver.url)

        assert fake_twilio.post_status(message.sid, "undelivered", error_code=30003) == 204

        [(_, params, _, valid)] = receiver.received
        assert valid
        assert (params["MessageStatus"], params["ErrorCode"]) == ("undelivered", "30003")

    def test_it_returns_the_apps_refusal_of_a_bad_signature(self, fake_twilio, client, receiver):
        message = send(client, status_callback=receiver.url)
        callback = fake_twilio.status_callback(message.sid, "delivered")

        status = FakeTwilio.post(SignedCallback(callback.url, callback.params, "forged"))

        assert status == 403
        assert receiver.received[0][3] is False

    def test_it_signs_callbacks_for_the_django_test_client(self, fake_twilio, client):
        message = send(client, status_callback="http://testserver/sms/status/")

        callback = fake_twilio.status_callback(message.sid, "sent")
        request = RequestFactory().post(
            callback.path, callback.params, HTTP_X_TWILIO_SIGNATURE=callback.signature
        )

        assert callback.path == "/sms/status/"
        assert RequestValidator(TEST_AUTH_TOKEN).validate(
            request.build_absolute_uri(), request.POST, request.META["HTTP_X_TWILIO_SIGNATURE"]
        )

    def test_it_signs_inbound_sms(self, fake_twilio):
        callback = fake_twilio.inbound_sms("http://testserver/sms/inbound/", from_=PEER, body="YES 4821")
        request = RequestFactory().post(
            callback.path, callback.params, HTTP_X_TWILIO_SIGNATURE=callback.signature
        )

        assert request.POST["Body"] == "YES 4821"
        assert request.POST["From"] == PEER
        assert SID.match(request.POST["MessageSid"])
        assert RequestValidator(TEST_AUTH_TOKEN).validate(
            request.build_absolute_uri(), request.POST, request.META["HTTP_X_TWILIO_SIGNATURE"]
        )

    def test_it_needs_a_callback_url(self, fake_twilio, client):
        message = send(client)

        with pytest.raises(ValueError, match="StatusCallback"):
            fake_twilio.status_callback(message.sid, "delivered")
        with pytest.raises(KeyError):
            fake_twilio.status_callback("SM" + "0" * 32, "delivered")


class TestLifecycle:
    def test_it_starts_and_stops_as_a_context_manager(self):
        with FakeTwilio(account_sid="AC" + "a" * 32, auth_token="secret-token") as fake:
            port = fake.port
            client = Client("AC" + "a" * 32, "secret-token", http_client=TwilioHttpClient(timeout=5))
            client.api.base_url = fake.base_url
            assert SID.match(send(client).sid)

        with pytest.raises(RuntimeError):
            fake.base_url  # noqa: B018
        # The kept-alive connection was closed with the server: no hanging on a dead socket.
        with pytest.raises(requests.exceptions.ConnectionError):
            send(client)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)

    def test_it_resets_everything(self, fake_twilio, client):
        fake_twilio.latency = 0.01
        send(client)
        fake_twilio.script("429", "500")
        fake_twilio.script("21610", to=PEER)
        fake_twilio.default_outcome = "503"

        fake_twilio.reset()

        assert (fake_twilio.messages, fake_twilio.calls, fake_twilio.max_in_flight) == ([], [], 0)
        assert (fake_twilio.latency, fake_twilio.default_outcome) == (0.0, "ok")
        send(client)
        assert [c.outcome for c in fake_twilio.calls] == ["ok"]

    def test_it_points_django_settings_and_the_documented_recipe_at_the_fake(self, twilio_settings):
        from django.conf import settings

        # The recipe from the module docstring, as sms/transport.py uses it.
        http = TwilioHttpClient(timeout=settings.PEERRX_SMS_TIMEOUT_SECONDS)
        client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)
        if settings.TWILIO_API_BASE_URL:
            client.api.base_url = settings.TWILIO_API_BASE_URL
        message = client.messages.create(
            to=PEER, body="hello", messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID
        )

        assert settings.SMS_BACKEND == "twilio"
        assert settings.TWILIO_API_BASE_URL.startswith("http://127.0.0.1:")
        assert twilio_settings.message(message.sid).to == PEER
