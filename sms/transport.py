"""The only module that talks to the SMS provider (and the only one importing the Twilio SDK).

``send()`` hands one text to the configured backend and returns the provider's message id,
or raises ``SendError`` saying whether trying again later could help. Deciding what to do
about an error (retry, opt the peer out, flag the number) is the outbox's job, in
``sms.services``.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from core.logs import SmsBody

logger = logging.getLogger(__name__)

# The SDK logs every request at INFO; a fan-out of a thousand alerts would drown the logs.
_http_logger = logging.getLogger("sms.twilio_http")
_http_logger.setLevel(logging.WARNING)

# Twilio accepts a ValidityPeriod of 1..36000 seconds.
MAX_VALIDITY_SECONDS = 36_000
# Enough pooled connections for the fan-out's concurrent sends from one process.
CONNECTION_POOL_SIZE = 64

TOO_MANY_REQUESTS_CODE = 20429


class SendError(Exception):
    """The provider did not take the message.

    ``code`` is the provider's error code when it gave one (``"21610"``), else the HTTP status
    or a short word (``"timeout"``, ``"connection"``); ``retryable`` says whether the same
    request could succeed later.
    """

    def __init__(self, *, code: str, message: str, retryable: bool, http_status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.http_status = http_status


@dataclass(frozen=True)
class Outgoing:
    message_id: int  # our OutboundMessage's id: the status callback URL carries it
    to: str
    body: str
    validity_seconds: int | None = None


def status_callback_url(message_id: int) -> str:
    """Where Twilio reports this message's delivery: the URL names our row, so a callback that
    arrives before the provider id is saved still finds its message."""
    return f"{settings.PEERRX_PUBLIC_BASE_URL}{reverse('sms:status', args=[message_id])}"


def send(message: Outgoing) -> str:
    """Send one text with the backend named by ``settings.SMS_BACKEND``; returns the provider id."""
    if settings.SMS_BACKEND == "twilio":
        return _send_twilio(message)
    return _send_console(message)


def _send_console(message: Outgoing) -> str:
    provider_sid = f"console-{uuid.uuid4().hex}"
    logger.info("SMS (console) to %s [%s]: %s", message.to, provider_sid, SmsBody(message.body))
    _report_console_delivery(message)
    return provider_sid


# The console's failures look like Twilio's commonest: a handset that is off or out of coverage.
CONSOLE_FAILURE_STATUS = "undelivered"
CONSOLE_FAILURE_CODE = "30003"
_console_random: Callable[[], float] = random.random  # replaced in tests


def console_delivery_outcome() -> tuple[str, str]:
    """What the console "carrier" reports for one text: ``(status, error code)``.

    "delivered", or, for a ``PEERRX_CONSOLE_SMS_FAILURE_RATE`` share of texts, "undelivered"
    with 30003, so local counts and pages look as they will with Twilio.
    """
    rate = settings.PEERRX_CONSOLE_SMS_FAILURE_RATE
    if rate > 0 and _console_random() < rate:
        return CONSOLE_FAILURE_STATUS, CONSOLE_FAILURE_CODE
    return "delivered", ""


def _report_console_delivery(message: Outgoing) -> None:
    """Report the console text's delivery as Twilio's status callback would: after the send has
    committed, through the service that applies callbacks (so status only moves forward and a
    failure reaches the refusal handler)."""
    # Imported here: the outbox (sms.services) imports this module.
    from sms.services import record_delivery_status

    status, error_code = console_delivery_outcome()
    transaction.on_commit(
        lambda: record_delivery_status(message_id=message.message_id, status=status, error_code=error_code)
    )


# --- Twilio --------------------------------------------------------------------------------

_client_lock = threading.Lock()
_client_cache: dict[tuple, Client] = {}


def twilio_client() -> Client:
    """One SDK client per process and configuration, shared by the sending threads.

    ``TWILIO_API_BASE_URL`` replaces the API domain's base URL (``https://api.twilio.com``):
    every Messages call is built from ``client.api.base_url``, so the SDK talks to the fake
    Twilio in tests, or a staging proxy, unchanged otherwise.
    """
    key = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        settings.PEERRX_SMS_TIMEOUT_SECONDS,
    )
    with _client_lock:
        client = _client_cache.get(key)
        if client is None:
            http_client = TwilioHttpClient(timeout=settings.PEERRX_SMS_TIMEOUT_SECONDS, logger=_http_logger)
            for scheme in ("http://", "https://"):
                http_client.session.mount(scheme, HTTPAdapter(pool_maxsize=CONNECTION_POOL_SIZE))
            _read_environment_once(http_client, settings.TWILIO_API_BASE_URL or "https://api.twilio.com")
            client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
            if settings.TWILIO_API_BASE_URL:
                client.api.base_url = settings.TWILIO_API_BASE_URL
            _client_cache.clear()
            _client_cache[key] = client
        return client


def _read_environment_once(http_client: TwilioHttpClient, base_url: str) -> None:
    """Take proxy and CA bundle settings from the environment now, not on every call.

    requests re-reads the whole environment for every request it sends (proxies, CA bundle),
    which costs milliseconds of CPU per text in a fan-out of thousands.
    """
    session = http_client.session
    http_client.proxy = requests.utils.get_environ_proxies(base_url)
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = False


def _send_twilio(message: Outgoing) -> str:
    params: dict[str, object] = {
        "to": message.to,
        "body": message.body,
        "status_callback": status_callback_url(message.message_id),
    }
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
    else:
        params["from_"] = settings.TWILIO_FROM_NUMBER
    if message.validity_seconds is not None:
        params["validity_period"] = max(1, min(MAX_VALIDITY_SECONDS, int(message.validity_seconds)))
    try:
        created = twilio_client().messages.create(**params)
    except TwilioRestException as exc:
        raise _classify(exc) from exc
    except requests.Timeout as exc:
        raise SendError(code="timeout", message=str(exc)[:300], retryable=True) from exc
    except requests.ConnectionError as exc:
        raise SendError(code="connection", message=str(exc)[:300], retryable=True) from exc
    except (requests.RequestException, TwilioException, ValueError) as exc:
        # A garbled answer (bad JSON, a proxy's HTML page): worth another try later.
        raise SendError(code="error", message=f"{type(exc).__name__}: {exc}"[:300], retryable=True) from exc
    if not created.sid:
        raise SendError(code="error", message="the provider returned no message id", retryable=True)
    return created.sid


def _classify(exc: TwilioRestException) -> SendError:
    status = int(exc.status or 0)
    code = str(exc.code) if exc.code else str(status)
    retryable = exc.code == TOO_MANY_REQUESTS_CODE or status == 429 or status >= 500
    return SendError(code=code, message=str(exc.msg or "")[:300], retryable=retryable, http_status=status)


# --- Webhook signatures ---------------------------------------------------------------------


def is_valid_signature(*, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Whether ``X-Twilio-Signature`` matches the URL Twilio called and the POSTed parameters."""
    if not signature:
        return False
    return RequestValidator(settings.SMS_SIGNING_TOKEN).validate(url, params, signature)


def sign(*, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send for these parameters (for the phone simulator and tests)."""
    return RequestValidator(settings.SMS_SIGNING_TOKEN).compute_signature(url, params)
