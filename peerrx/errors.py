"""Error reporting: optional Sentry with personal data scrubbed, or mail to ``ADMINS``.

Peer-RX's errors can carry what it must never leak: peers' and locations' phone numbers, the
bodies of their texts, and what was typed into forms. ``scrub_event`` is Sentry's
``before_send``: a pure function that removes them from an event before it leaves the process.
``parse_admins`` reads ``PEERRX_ADMINS`` ("Name <email>, ...") for Django's mail to ``ADMINS``.
Neither imports Django's settings: ``peerrx/settings.py`` calls them while it is being read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

FILTERED = "[Filtered]"
PHONE = "[phone]"

# E.164 (+ and 8 to 15 digits) and the US ways of writing a number: 845-555-0123,
# (845) 555-0123, 845.555.0123, 8455550123, 1 845 555 0123. Digits next to other digits are
# left alone (a longer id is not a phone number); a bare 10-digit id is scrubbed, which errs on
# the side of privacy.
PHONE_PATTERN = re.compile(
    r"(?<![\w+])(?:"
    r"\+[1-9]\d{7,14}"
    r"|(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}"
    r")(?!\d)"
)

# Keys whose values are message bodies, form input or numbers, wherever they appear in an
# event (request data, frame variables, extra, breadcrumbs); compared lower-cased.
SENSITIVE_KEYS = frozenset(
    {
        "body",
        "text",
        "message_body",
        "from",
        "from_",
        "from_number",
        "to",
        "to_number",
        "phone",
        "phone_number",
        "notification_phone",
        "data",
        "post",
        "form",
        "cleaned_data",
        "cookies",
        "query_string",
        "password",
        "patient_details",
        "ask_for",
    }
)


def scrub_string(value: str) -> str:
    """``value`` with every phone number replaced by ``[phone]``."""
    return PHONE_PATTERN.sub(PHONE, value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_string(value)
    if isinstance(value, Mapping):
        return {
            key: FILTERED if str(key).lower() in SENSITIVE_KEYS and item not in (None, "") else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's ``before_send``: the event without phone numbers, text bodies or form data.

    The request's body (form fields, Twilio's webhook parameters), cookies and query string are
    dropped whole; every other value named like a body or a number is filtered, and every
    string left (messages, exception values, frame variables, breadcrumbs, URLs) has its phone
    numbers replaced. Returns a new event; the one given is not changed.
    """
    scrubbed = _scrub(event)
    request = scrubbed.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string"):
            if request.get(key):
                request[key] = FILTERED
    return scrubbed


def init_sentry(*, dsn: str, environment: str, release: str = "") -> None:
    """Report errors of web and worker processes to Sentry, without personal data."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        traces_sample_rate=0.0,
    )


ADMIN_PATTERN = re.compile(r"(?:(?P<name>[^<>]*?)\s*<(?P<address>[^<>]*)>|(?P<bare>[^<>\s]+))")
EMAIL_PATTERN = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def parse_admins(raw: str, *, variable: str = "PEERRX_ADMINS") -> list[tuple[str, str]]:
    """``"Ana Ops <ana@example.org>, ops@example.org"`` as Django's ``ADMINS`` list of
    ``(name, email)``; a malformed entry stops start-up naming the variable."""
    if not raw.strip():
        return []
    admins = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        match = ADMIN_PATTERN.fullmatch(entry)
        name, address = (match["name"] or "", match["address"] or match["bare"]) if match else ("", "")
        if not EMAIL_PATTERN.fullmatch(address):
            raise ImproperlyConfigured(
                f"{variable} must be a comma-separated list of 'Name <email>' or 'email', not {entry!r}."
            )
        admins.append((name or address, address))
    return admins
