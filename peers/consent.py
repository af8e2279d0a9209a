"""A peer's consent to alerts: the opt-in text, JOIN, every opt-out, and the record of each.

A peer added to a roster (or given a new number) is texted an opt-in and receives no alert
until they reply JOIN (or START / UNSTOP): ``peers.selectors.eligible_peers`` requires
``consented_at``. Every step is a ``ConsentRecord`` with when, how and the exact text sent or
received (TCPA record keeping); the agency and Peer-RX staff see them and download them as CSV.
The texts follow CTIA's messaging principles: the programme's name, what to expect, "Msg & data
rates may apply", and how to get help and to stop.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import record_audit
from peers.models import ConsentRecord, Peer
from sms.models import OutboundMessage
from sms.services import queue_message

# A supervisor may send the opt-in text again once a day: more would be a nuisance to the peer.
RESEND_AFTER = dt.timedelta(days=1)
RATES = "Msg & data rates may apply."


# --- the texts ---------------------------------------------------------------------------------


def opt_in_request(*, peer: Peer) -> str:
    return (
        f"Peer-RX: {peer.agency.name} added you to get peer support alerts when a hospital near you "
        f"needs a peer, a few a week. Reply JOIN to start, STOP to stop, HELP for help. {RATES}"
    )


def opted_in() -> str:
    return (
        "Peer-RX: you're subscribed to peer support alerts, a few a week. Reply HELP for help, "
        f"STOP to stop. {RATES}"
    )


def opted_out() -> str:
    return "Peer-RX: you're unsubscribed and will get no more texts. Reply JOIN or START to subscribe again."


# --- the services --------------------------------------------------------------------------------


def _record(
    *, peer: Peer, action: str, source: str, text: str, at: dt.datetime, actor: User | None = None
) -> ConsentRecord:
    return ConsentRecord.objects.create(
        peer=peer,
        at=at,
        action=action,
        source=source,
        text=text,
        phone=str(peer.phone),
        actor=actor if actor is not None and actor.is_authenticated else None,
    )


@transaction.atomic
def request_consent(
    *, peer: Peer, actor: User | None = None, now: dt.datetime | None = None
) -> OutboundMessage:
    """Text the peer the opt-in and record it; until they reply JOIN they get no alert."""
    now = now or timezone.now()
    body = opt_in_request(peer=peer)
    Peer.objects.filter(pk=peer.pk).update(consented_at=None, consent_requested_at=now)
    peer.consented_at, peer.consent_requested_at = None, now
    _record(
        peer=peer,
        action=ConsentRecord.Action.REQUESTED,
        source=ConsentRecord.Source.ROSTER,
        text=body,
        at=now,
        actor=actor,
    )
    return queue_message(
        to=str(peer.phone), body=body, kind=OutboundMessage.Kind.OPT_IN_REQUEST, peer_id=peer.pk, now=now
    )


@transaction.atomic
def resend_consent_request(
    *, peer: Peer, actor: User | None, now: dt.datetime | None = None
) -> OutboundMessage:
    """The supervisor's "send the opt-in text again": once a day at most, only while waiting."""
    now = now or timezone.now()
    locked = Peer.objects.select_for_update().get(pk=peer.pk)
    if locked.consented_at is not None:
        raise ValidationError("This peer has already agreed to receive alerts.")
    if locked.opted_out_at is not None:
        raise ValidationError("This peer texted STOP: only they can start again, by texting JOIN.")
    if locked.consent_requested_at is not None and now - locked.consent_requested_at < RESEND_AFTER:
        raise ValidationError("The opt-in text was sent less than a day ago.")
    record_audit(actor=actor, action="peer.consent_requested", target=locked, at=now)
    return request_consent(peer=locked, actor=actor, now=now)


@transaction.atomic
def record_opt_in(*, peer: Peer, source: str, text: str, now: dt.datetime | None = None) -> bool:
    """JOIN, START or UNSTOP: the peer agrees to alerts (again); returns whether anything changed."""
    now = now or timezone.now()
    changed = (
        Peer.objects.filter(pk=peer.pk)
        .exclude(consented_at__isnull=False, opted_out_at__isnull=True)
        .update(consented_at=now, opted_out_at=None)
    )
    _record(peer=peer, action=ConsentRecord.Action.OPT_IN, source=source, text=text, at=now)
    return bool(changed)


@transaction.atomic
def record_opt_out(
    *, peer: Peer, source: str, text: str, actor: User | None = None, now: dt.datetime | None = None
) -> bool:
    """STOP and the other ways of saying it: no more texts; returns whether the peer was opted in."""
    now = now or timezone.now()
    changed = Peer.objects.filter(pk=peer.pk, opted_out_at__isnull=True).update(opted_out_at=now)
    _record(peer=peer, action=ConsentRecord.Action.OPT_OUT, source=source, text=text, at=now, actor=actor)
    return bool(changed)
