"""Shared helpers for the reliability proofs: signed webhook posts and a ready-made open request."""

import datetime as dt

from django.test import Client
from django.utils import timezone

from core.choices import Need
from peer_requests import services
from peer_requests.models import PeerRequest, RequestStatus
from sms import transport

INBOUND = "/sms/inbound/"
STATUS = "/sms/status/"
BASE = "http://testserver"  # settings.PEERRX_PUBLIC_BASE_URL in tests (tests/conftest.py)


def post_signed(client: Client, path: str, params: dict[str, str], *, signature: str | None = None):
    """POST ``params`` as Twilio would: form-encoded, signed over the public URL plus path."""
    if signature is None:
        signature = transport.sign(url=f"{BASE}{path}", params=params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def open_request(world) -> PeerRequest:
    """A request whose collecting window closed with no YES: the first valid YES now wins."""
    now = timezone.now()
    peer_request = services.submit_request(
        location=world.location,
        need=Need.SUBSTANCE_USE,
        callback_contact="Desk",
        actor=None,
        now=now - dt.timedelta(minutes=11),
    )
    services.complete_selection(request_id=peer_request.pk, now=now)
    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.OPEN
    return peer_request
