"""A fake Twilio REST API on 127.0.0.1 for tests and benchmarks, driven by the real twilio SDK.

It serves ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` the way Twilio does: HTTP basic
auth must be the configured account SID and auth token (401, code 20003 otherwise), the path's
account must be that account (404, code 20404), every accepted message is recorded and answered
with 201 and a Twilio-like JSON body. Faults are injected from the test thread while it runs:
a fixed latency per call, a script of outcomes consumed per call or per recipient, a default
outcome, and ``post_status`` sends signed delivery status callbacks back to the app.

Pointing the real SDK (twilio-python 9.x) at it: every API call is built from the ``base_url``
of a domain object (``twilio.base.domain.Domain.absolute_url``), and ``client.api`` is created
once per client and cached, so overriding it redirects ``client.messages`` (which is
``client.api.account.messages``)::

    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    http = TwilioHttpClient(timeout=settings.PEERRX_SMS_TIMEOUT_SECONDS)  # seconds, per request
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)
    if settings.TWILIO_API_BASE_URL:  # e.g. "http://127.0.0.1:54321"
        client.api.base_url = settings.TWILIO_API_BASE_URL
    message = client.messages.create(to=..., body=..., messaging_service_sid=..., status_callback=...)

Notes checked against twilio 9.13:
- Leave ``TWILIO_EDGE`` / ``TWILIO_REGION`` unset: with an edge or region the SDK rewrites the host
  name of every URL (``ClientBase.get_hostname``) and 127.0.0.1 would be mangled.
- ``TwilioHttpClient(timeout=...)`` reaches requests as the connect and read timeout: a call the
  fake holds longer raises ``requests.exceptions.ReadTimeout`` (a ``requests.exceptions.Timeout``);
  a dropped connection raises ``requests.exceptions.ConnectionError``. Neither is wrapped in a
  ``TwilioRestException``, so the transport must catch them to retry.
- Error replies (4xx/5xx with Twilio's JSON body) raise ``TwilioRestException`` with ``.status`` (the
  HTTP status) and ``.code`` (the Twilio error code, e.g. 20429, 21610, 21211).
- The SDK's requests session mounts a large connection pool for ``https://`` only; for many
  threads sharing one client over ``http://``, also mount one:
  ``http.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))``. Without it
  urllib3 still opens extra connections, it just does not keep them.

Outcomes (``fake.script("429", "ok", to="+1555...")``, ``fake.default_outcome = "503"``): ``ok`` (201,
recorded), ``429`` (20429), ``500`` (20500), ``503`` (20503), ``21610`` and ``21211`` (HTTP 400),
each with Twilio's JSON error body and nothing recorded; ``timeout`` holds the request
``fake.hang_seconds`` then closes the connection unanswered; ``drop`` closes it at once. Neither
records a message. ``fake.latency`` delays every call; ``fake.calls`` has every call's outcome and
monotonic start/end times, ``fake.max_in_flight`` the most calls handled at once.

Use in tests: ``with FakeTwilio() as fake:``, or the fixtures ``fake_twilio`` (a server shared by
the session, reset around each test) and ``twilio_settings`` (Django settings pointed at it); load
them with ``pytest_plugins = ["tests.fake_twilio"]`` in each test module that uses them (or once
in tests/conftest.py). (PYTEST_DONT_REWRITE: it has no asserts, and
test modules import it before pytest loads it as a plugin.)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import email.utils
import hmac
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
TEST_MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
TEST_FROM_NUMBER = "+15005550006"

OK = "ok"
TIMEOUT = "timeout"
DROP = "drop"

# Twilio's own status, code and message for each injectable error.
ERRORS: dict[str, tuple[int, int, str]] = {
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
    "503": (503, 20503, "Service Unavailable"),
    "21610": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "21211": (400, 21211, "Invalid 'To' Phone Number"),
}
OUTCOMES = frozenset({OK, TIMEOUT, DROP, *ERRORS})

_MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")


def _check_outcome(outcome: str) -> str:
    outcome = str(outcome)
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose from {sorted(OUTCOMES)}")
    return outcome


def _rfc2822(when: dt.datetime) -> str:
    return email.utils.format_datetime(when)


@dataclass
class SentMessage:
    """A message the fake accepted (answered 201)."""

    sid: str
    params: dict[str, str]
    created_at: dt.datetime
    status: str = "queued"

    @property
    def to(self) -> str:
        return self.params.get("To", "")

    @property
    def body(self) -> str:
        return self.params.get("Body", "")

    @property
    def from_(self) -> str:
        return self.params.get("From", "")

    @property
    def status_callback(self) -> str:
        return self.params.get("StatusCallback", "")


@dataclass
class Call:
    """One HTTP request the fake handled, whatever its outcome; times are ``time.monotonic()``."""

    method: str
    path: str
    started: float
    to: str = ""
    outcome: str = ""
    status_code: int | None = None  # None when the connection was dropped or timed out
    sid: str = ""
    ended: float | None = None


@dataclass(frozen=True)
class SignedCallback:
    """A webhook Twilio would send: post ``params`` to ``url`` with ``X-Twilio-Signature: signature``.

    With Django's test client: ``client.post(cb.path, cb.params, HTTP_X_TWILIO_SIGNATURE=cb.signature)``
    (the url's host must be what the view rebuilds, e.g. ``http://testserver``).
    """

    url: str
    params: dict[str, str]
    signature: str

    @property
    def path(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class _State:
    messages: list[SentMessage] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)
    scripts_by_to: dict[str, deque[str]] = field(default_factory=dict)
    in_flight: set[int] = field(default_factory=set)
    max_in_flight: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 makes a burst of parallel sends wait for SYN retries.
    request_queue_size = 256
    fake: FakeTwilio

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        """End keep-alive connections so their handler threads finish with the server."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API; every reply has a Content-Length
    server: _Server
    timeout = 60  # idle keep-alive connections end eventually
    # Headers and body go out in two writes; with Nagle on, each reply waits ~40 ms for an ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the client may already be gone
            super().finish()

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


class FakeTwilio:
    """The fake server; configure it from the test thread while requests run in server threads.

    ``latency`` (seconds added to every call), ``default_outcome`` (for unscripted calls) and
    ``hang_seconds`` (how long a ``timeout`` outcome holds the request before dropping it) are
    plain attributes; ``script()`` queues outcomes.
    """

    def __init__(
        self,
        *,
        account_sid: str = TEST_ACCOUNT_SID,
        auth_token: str = TEST_AUTH_TOKEN,
        from_number: str = TEST_FROM_NUMBER,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number  # what a Messaging Service "picks" when no From is given
        self.host = host
        self._port = port  # 0: any free port
        self._lock = threading.Lock()
        self._state = _State()
        self._generation = 0  # bumped by reset(): calls still running from before are not recorded
        self._release = threading.Event()  # set to end every hanging call at once
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._call_ids = iter(range(1, 1 << 62))
        self.latency = 0.0
        self.hang_seconds = 5.0
        self._default_outcome = OK

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        if self._server is not None:
            return self
        server = _Server((self.host, self._port), _Handler)
        server.fake = self
        self._server = server
        self._release = threading.Event()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget messages, calls and scripts; back to no latency and the ``ok`` default."""
        with self._lock:
            self._generation += 1
            self._state = _State()
            self.latency = 0.0
            self.hang_seconds = 5.0
            self._default_outcome = OK
            # Wake calls still hanging from the previous test; new ones wait on a fresh event.
            self._release.set()
            self._release = threading.Event()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTwilio is not running; use start() or a with block")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What ``TWILIO_API_BASE_URL`` / ``client.api.base_url`` should be set to."""
        return f"http://{self.host}:{self.port}"

    def messages_url(self, account_sid: str | None = None) -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{account_sid or self.account_sid}/Messages.json"

    def client(self, *, timeout: float | None = None, pool_maxsize: int = 64) -> Any:
        """A real ``twilio.rest.Client`` pointed at this fake, following the recipe above."""
        from requests.adapters import HTTPAdapter
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http = TwilioHttpClient(timeout=timeout)
        http.session.mount("http://", HTTPAdapter(pool_maxsize=pool_maxsize))
        client = Client(self.account_sid, self.auth_token, http_client=http)
        client.api.base_url = self.base_url
        return client

    # --- fault injection -------------------------------------------------------------------------

    @property
    def default_outcome(self) -> str:
        return self._default_outcome

    @default_outcome.setter
    def default_outcome(self, outcome: str) -> None:
        self._default_outcome = _check_outcome(outcome)

    def script(self, *outcomes: str, to: str | None = None) -> None:
        """Queue outcomes, one consumed per call: for every call, or only for calls to ``to``.

        A call to a number with a non-empty script of its own takes from it; other calls take
        from the shared script; calls beyond both get ``default_outcome``.
        """
        checked = [_check_outcome(o) for o in outcomes]
        with self._lock:
            if to is None:
                self._state.script.extend(checked)
            else:
                self._state.scripts_by_to.setdefault(to, deque()).extend(checked)

    def _next_outcome(self, to: str) -> str:
        state = self._state
        own = state.scripts_by_to.get(to)
        if own:
            return own.popleft()
        if state.script:
            return state.script.popleft()
        return self._default_outcome

    # --- what happened ---------------------------------------------------------------------------

    @property
    def messages(self) -> list[SentMessage]:
        with self._lock:
            return list(self._state.messages)

    def messages_to(self, to: str) -> list[SentMessage]:
        return [m for m in self.messages if m.to == to]

    def message(self, sid: str) -> SentMessage:
        for m in self.messages:
            if m.sid == sid:
                return m
        raise KeyError(sid)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._state.calls)

    def calls_to(self, to: str) -> list[Call]:
        return [c for c in self.calls if c.to == to]

    @property
    def max_in_flight(self) -> int:
        """The most requests the fake was handling at the same moment since the last reset."""
        with self._lock:
            return self._state.max_in_flight

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._state.in_flight)

    # --- status callbacks and other signed webhooks ----------------------------------------------

    def sign(self, url: str, params: dict[str, str]) -> SignedCallback:
        """Sign any webhook (status callback, inbound SMS) the way Twilio does, with the auth token."""
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        return SignedCallback(url=url, params=dict(params), signature=signature)

    def status_callback(
        self, sid: str, status: str, *, error_code: int | None = None, url: str | None = None
    ) -> SignedCallback:
        """The signed status callback for message ``sid`` (to its StatusCallback unless ``url``)."""
        message = self.message(sid)
        url = url or message.status_callback
        if not url:
            raise ValueError(f"message {sid} was sent without a StatusCallback and no url was given")
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message.to,
            "From": message.from_ or self.from_number,
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
        }
        if message.params.get("MessagingServiceSid"):
            params["MessagingServiceSid"] = message.params["MessagingServiceSid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        with self._lock:
            message.status = status
        return self.sign(url, params)

    def inbound_sms(self, url: str, *, from_: str, body: str, to: str | None = None) -> SignedCallback:
        """The signed webhook Twilio posts when ``from_`` texts ``body`` to our number."""
        sid = "SM" + secrets.token_hex(16)
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to or self.from_number,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        return self.sign(url, params)

    def post_status(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        url: str | None = None,
        timeout: float = 10.0,
    ) -> int:
        """POST a signed status callback for ``sid`` over HTTP and return the HTTP status."""
        return self.post(self.status_callback(sid, status, error_code=error_code, url=url), timeout=timeout)

    @staticmethod
    def post(callback: SignedCallback, *, timeout: float = 10.0) -> int:
        """POST a signed webhook to its (http) url and return the HTTP status."""
        if urllib.parse.urlsplit(callback.url).scheme not in {"http", "https"}:
            raise ValueError(f"not an http(s) url: {callback.url}")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            callback.url,
            data=urllib.parse.urlencode(callback.params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": callback.signature,
                "User-Agent": "TwilioProxy/1.1",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    # --- the HTTP side (runs in server threads) --------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(handler.path).path
        call = Call(method=handler.command, path=path, started=time.monotonic())
        with self._lock:
            call_id = next(self._call_ids)
            generation = self._generation
            release = self._release
            latency = self.latency
            hang_seconds = self.hang_seconds
            state = self._state
            state.calls.append(call)
            state.in_flight.add(call_id)
            state.max_in_flight = max(state.max_in_flight, len(state.in_flight))
        try:
            self._respond(handler, call, raw, generation, release, latency, hang_seconds)
        finally:
            with self._lock:
                call.ended = time.monotonic()
                state.in_flight.discard(call_id)

    def _respond(
        self,
        handler: _Handler,
        call: Call,
        raw: bytes,
        generation: int,
        release: threading.Event,
        latency: float,
        hang_seconds: float,
    ) -> None:
        if latency > 0:
            release.wait(latency)
        if not self._authorized(handler.headers.get("Authorization", "")):
            self._error(handler, call, 401, 20003, "Authenticate")
            return
        match = _MESSAGES_PATH.match(call.path)
        if match is None or match["account"] != self.account_sid:
            self._error(handler, call, 404, 20404, f"The requested resource {call.path} was not found")
            return
        if handler.command != "POST":
            self._error(handler, call, 405, 20004, "Method not allowed")
            return

        parsed = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        params = {key: values[0] for key, values in parsed.items()}
        to = params.get("To", "")
        call.to = to
        with self._lock:
            outcome = self._next_outcome(to) if generation == self._generation else OK
        call.outcome = outcome

        if outcome == TIMEOUT:
            release.wait(hang_seconds)
            self._drop(handler)
            return
        if outcome == DROP:
            self._drop(handler)
            return
        if outcome in ERRORS:
            status, code, message = ERRORS[outcome]
            if code == 21211 and to:
                message = f"{message}: {to}"
            self._error(handler, call, status, code, message)
            return

        # Twilio's own validation of a create request.
        if not to:
            self._error(handler, call, 400, 21604, "A 'To' phone number is required.")
            return
        if not (params.get("From") or params.get("MessagingServiceSid")):
            self._error(handler, call, 400, 21603, "A 'From' phone number is required.")
            return
        if not (params.get("Body") or params.get("MediaUrl") or params.get("ContentSid")):
            self._error(handler, call, 400, 21602, "Message body is required.")
            return

        message = SentMessage(
            sid="SM" + secrets.token_hex(16), params=params, created_at=dt.datetime.now(dt.UTC)
        )
        call.sid = message.sid
        with self._lock:
            if generation == self._generation:  # not a straggler from before a reset()
                self._state.messages.append(message)
        self._send_json(handler, call, 201, self._message_json(message))

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        return hmac.compare_digest(username.encode(), self.account_sid.encode()) and hmac.compare_digest(
            password.encode(), self.auth_token.encode()
        )

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        params = message.params
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}.json"
        created = _rfc2822(message.created_at)
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": params.get("Body", ""),
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From") or self.from_number,
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": message.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": params.get("To", ""),
            "uri": uri,
        }

    def _error(self, handler: _Handler, call: Call, status: int, code: int, message: str) -> None:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        self._send_json(handler, call, status, body)

    def _send_json(self, handler: _Handler, call: Call, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        call.status_code = status
        handler.send_response(status, HTTPStatus(status).phrase)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _drop(handler: _Handler) -> None:
        # No reply at all: the server closes the socket once the handler returns.
        handler.close_connection = True


# --- pytest fixtures (load with pytest_plugins = ["tests.fake_twilio"]) ------------------------------


@pytest.fixture(scope="session")
def fake_twilio_server() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake_twilio(fake_twilio_server: FakeTwilio) -> Iterator[FakeTwilio]:
    """The session's fake Twilio, clean for this test."""
    fake_twilio_server.reset()
    yield fake_twilio_server
    fake_twilio_server.reset()


@pytest.fixture
def twilio_settings(settings: Any, fake_twilio: FakeTwilio) -> FakeTwilio:
    """Django settings that send SMS through the real Twilio SDK to the fake."""
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = fake_twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = fake_twilio.auth_token
    settings.TWILIO_MESSAGING_SERVICE_SID = TEST_MESSAGING_SERVICE_SID
    settings.TWILIO_FROM_NUMBER = ""
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url
    settings.SMS_SIGNING_TOKEN = fake_twilio.auth_token
    return fake_twilio
