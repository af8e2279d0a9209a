"""Reads for the phone simulator: who has a phone, and what went to and came from it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from locations.models import Location
from peers.models import Peer
from sms.models import InboundMessage, OutboundMessage

INBOX_LIMIT = 100


@dataclass(frozen=True)
class InboxEntry:
    """One text on a phone's screen: sent to it by Peer-RX (``incoming``) or typed on it."""

    at: dt.datetime
    incoming: bool
    body: str
    status: str = ""
    status_label: str = ""
    kind_label: str = ""
    error: str = ""


def simulator_peers(*, query: str = "") -> QuerySet[Peer]:
    peers = Peer.objects.select_related("agency").order_by("last_name", "first_name", "id")
    query = query.strip()
    if query:
        peers = peers.filter(
            Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(phone__icontains=query)
            | Q(agency__name__icontains=query)
        )
    return peers


def simulator_locations(*, query: str = "") -> QuerySet[Location]:
    locations = Location.objects.order_by("name", "id")
    query = query.strip()
    if query:
        locations = locations.filter(Q(name__icontains=query) | Q(notification_phone__icontains=query))
    return locations


def phone_inbox(*, phone: str, limit: int = INBOX_LIMIT) -> list[InboxEntry]:
    """The newest ``limit`` texts to and from ``phone`` (E.164), newest first, in two queries."""
    outbound = OutboundMessage.objects.filter(to=phone).order_by("-created_at", "-id")[:limit]
    inbound = InboundMessage.objects.filter(from_number=phone).order_by("-received_at", "-id")[:limit]
    entries = [
        InboxEntry(
            at=m.created_at,
            incoming=True,
            body=m.body,
            status=m.status,
            status_label=m.get_status_display(),
            kind_label=m.get_kind_display(),
            error=" ".join(part for part in (m.error_code, m.error_message) if part),
        )
        for m in outbound
    ]
    entries += [InboxEntry(at=m.received_at, incoming=False, body=m.body, status=m.outcome) for m in inbound]
    # At the same instant, the answer Peer-RX sent comes after (above) the text it answers.
    entries.sort(key=lambda entry: (entry.at, entry.incoming), reverse=True)
    return entries[:limit]
