"""Reads for the phone simulator: who has a phone, and what went to and came from it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from locations.models import Location
from peer_requests.models import ACTIVE_STATUSES, Alert, PeerRequest
from peers.models import Peer
from sms.models import InboundMessage, OutboundMessage

INBOX_LIMIT = 100
LIVE_REQUESTS_LIMIT = 20

# What Peer-RX made of a text typed on a phone (InboundMessage.outcome), in words. The codes are
# those peer_requests.replies.handle_text returns; an unknown code is shown as it is.
OUTCOME_LABELS = {
    "yes_recorded": "YES recorded: in the running for the choice",
    "yes_ranked": "YES recorded: ranked at the choice",
    "yes_already_recorded": "YES already recorded",
    "assigned": "Assigned to this peer",
    "already_assigned_to_you": "Already assigned to this peer",
    "filled": "Too late: another peer was assigned",
    "closed": "The request is closed",
    "busy": "Busy on another assignment",
    "yes_ambiguous": "YES without a code: which request?",
    "yes_unknown_code": "YES with an unknown code",
    "no_recorded": "NO recorded",
    "no_but_assigned": "NO from the assigned peer: they must CANCEL",
    "no_ambiguous": "NO without a code: which request?",
    "no_unknown_code": "NO with an unknown code",
    "decline_reason": "Reason for NO recorded",
    "decline_reason_unexpected": "A number nobody asked for",
    "withdrawn_reassigned": "Withdrew: the next peer was assigned",
    "withdrawn_reopened": "Withdrew: the request is open again",
    "withdrawn_expired": "Withdrew: the request has expired",
    "not_assigned": "Not this peer's assignment",
    "withdraw_unknown_code": "CANCEL with an unknown code",
    "on_the_way": "On the way",
    "eta_updated": "Arrival time updated",
    "arrived": "Arrived",
    "finished": "Encounter finished",
    "already": "Already recorded",
    "encounter_not_assigned": "No live assignment for this peer",
    "bad_eta": "Arrival time not understood",
    "outcome": "Encounter outcome recorded",
    "outcome_unexpected": "An outcome nobody asked for",
    "on": "Available (ON)",
    "off": "Unavailable (OFF)",
    "bad_hours": "Hours not understood",
    "help": "Help sent",
    "opted_out": "Opted out of texts",
    "opted_in": "Opted in to texts",
    "unknown": "Not understood: usage hint sent",
    "unknown_number": "Not a peer's number",
    "error": "Handling failed (retried)",
}
SILENCED_SUFFIX = "_silenced"


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
    entries += [
        InboxEntry(
            at=m.received_at,
            incoming=False,
            body=m.body,
            status=m.outcome,
            status_label=outcome_label(m.outcome) if m.handled_at else "Waiting to be handled",
        )
        for m in inbound
    ]
    # At the same instant, the answer Peer-RX sent comes after (above) the text it answers.
    entries.sort(key=lambda entry: (entry.at, entry.incoming), reverse=True)
    return entries[:limit]


def outcome_label(outcome: str) -> str:
    """A stored outcome code in words ("yes_recorded" → "YES recorded: …"); "_silenced" says no
    reply was sent because the number had its share of unasked-for replies."""
    silenced = outcome.endswith(SILENCED_SUFFIX)
    code = outcome.removesuffix(SILENCED_SUFFIX)
    label = OUTCOME_LABELS.get(code, code.replace("_", " ") or "Handled")
    return f"{label} (no reply: too many unasked-for replies)" if silenced else label


@dataclass(frozen=True)
class LiveRequest:
    """A request still looking for a peer, and who was alerted for it."""

    request: PeerRequest
    alerts: list[Alert]


def live_requests(*, limit: int = LIVE_REQUESTS_LIMIT) -> list[LiveRequest]:
    """The newest requests collecting or open, each with its alerted peers (two queries)."""
    requests = list(
        PeerRequest.objects.filter(status__in=ACTIVE_STATUSES)
        .select_related("location")
        .order_by("-created_at", "-id")[:limit]
    )
    alerts: dict[int, list[Alert]] = {r.pk: [] for r in requests}
    for alert in (
        Alert.objects.filter(request__in=requests)
        .select_related("peer__agency")
        .order_by("peer__last_name", "id")
    ):
        alerts[alert.request_id].append(alert)
    return [LiveRequest(request=r, alerts=alerts[r.pk]) for r in requests]


def alerted_codes(*, live: list[LiveRequest]) -> dict[int, list[str]]:
    """Peer id → the codes of the live requests they were alerted for."""
    codes: dict[int, list[str]] = {}
    for entry in live:
        for alert in entry.alerts:
            codes.setdefault(alert.peer_id, []).append(entry.request.code)
    return codes
