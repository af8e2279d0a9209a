"""The two seams through which texts reach the rest of Peer-RX, named in settings.

``sms`` knows phone numbers and messages, never peers or requests. What an incoming text
means, and what a text refused for good means, is decided by handlers named by dotted path
(resolved with ``import_string``, the way Django resolves ``EMAIL_BACKEND``):

- ``SMS_INBOUND_HANDLER``: ``handler(*, text: InboundText) -> Handled``. Called inside the
  transaction that locks the stored ``InboundMessage`` and marks it handled; everything the
  handler writes commits with that mark, or nothing does.
- ``SMS_REFUSAL_HANDLER``: ``handler(*, refusal: Refusal) -> None``. Called once, inside the
  transaction that marks a message failed (by the provider's answer, a status callback, or
  its deadline passing unsent).

Tests point the settings at stand-ins instead of forging modules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

# Permanent errors with a meaning beyond the message itself.
OPT_OUT_CODES = frozenset({"21610"})  # Attempt to send to unsubscribed recipient
INVALID_NUMBER_CODES = frozenset({"21211", "21614"})  # Invalid 'To' number; not a mobile number
EXPIRED_CODE = "expired"  # our own: its valid_until passed before it could be sent


@dataclass(frozen=True)
class InboundText:
    """A stored incoming text, as the inbound handler sees it."""

    inbound_id: int
    from_number: str
    body: str
    received_at: dt.datetime  # when the webhook stored it
    now: dt.datetime  # when it is being handled (later, if the queue lagged)


@dataclass(frozen=True)
class Handled:
    """What the inbound handler did: the answer to text back (None: none), a short outcome for
    the admin, and the id of the peer the number belongs to (kept on the inbound row)."""

    reply: str | None
    outcome: str
    peer_id: int | None = None


@dataclass(frozen=True)
class Refusal:
    """A text that failed for good, with what the message row says it was about."""

    message_id: int
    to: str
    kind: str
    kind_label: str
    code: str
    text: str
    at: dt.datetime
    peer_id: int | None = None
    request_id: int | None = None

    @property
    def opted_out(self) -> bool:
        """The recipient texted STOP to the carrier: every further text to them is refused."""
        return self.code in OPT_OUT_CODES

    @property
    def bad_number(self) -> bool:
        return self.code in INVALID_NUMBER_CODES

    @property
    def expired(self) -> bool:
        """Not sent because its moment passed: nothing about the recipient to learn from it."""
        return self.code == EXPIRED_CODE


def inbound_handler() -> Callable[..., Handled]:
    return import_string(settings.SMS_INBOUND_HANDLER)


def refusal_handler() -> Callable[..., None]:
    return import_string(settings.SMS_REFUSAL_HANDLER)
