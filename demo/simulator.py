"""Texts typed in the phone simulator, delivered as Twilio would deliver them."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.urls import reverse

from sms import transport
from sms.models import InboundMessage
from sms.services import handle_inbound_message, process_inbound_webhook

SIMULATOR_OUR_NUMBER = "+15005550006"


def simulate_inbound(*, from_number: str, body: str, now: dt.datetime | None = None) -> InboundMessage:
    """Text ``body`` from ``from_number`` as Twilio would deliver it: signed, through the webhook's path."""
    url = f"{settings.PEERRX_PUBLIC_BASE_URL}{reverse('sms:inbound')}"
    sid = f"SIM{uuid.uuid4().hex}"
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": settings.TWILIO_ACCOUNT_SID or "ACsimulator",
        "From": from_number,
        "To": settings.TWILIO_FROM_NUMBER or SIMULATOR_OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
    }
    signature = transport.sign(url=url, params=params)
    inbound, _ = process_inbound_webhook(url=url, params=params, signature=signature, now=now)
    # The developer sees the answer at once; the task enqueued for it then finds it handled.
    handle_inbound_message(inbound_id=inbound.pk, now=now)
    inbound.refresh_from_db()
    return inbound
