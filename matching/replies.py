"""What happens when a peer texts Peer-RX: parse, act, answer.

The SMS webhook stores each InboundMessage once (unique MessageSid) and calls
``handle_inbound``, which queues nothing itself: it returns the reply text (or None when
the answer is a separate message, like the confirmation of an assignment) and the webhook
queues it. Handling is idempotent too: the inbound row is locked and marked handled in the
same transaction as the action, so the same message handled twice acts once.
"""

from __future__ import annotations

import datetime as dt

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from matching import messages, services
from matching.grammar import DECLINE_MENU_WINDOW, Command, Kind, parse
from matching.services import NoOutcome, WithdrawOutcome, YesOutcome
from peer_requests import selectors
from peer_requests.models import Alert
from peers.models import Peer
from sms.models import InboundMessage

Answer = tuple[str | None, str]  # (reply text or None, outcome stored on the inbound message)


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def peer_for_number(number: str) -> Peer | None:
    return Peer.objects.select_related("agency").filter(phone=_e164(number)).first()


def _alert_for(peer: Peer, command: Command) -> tuple[Alert | None, str | None]:
    """The alert a YES/NO/CANCEL means: by code, or the only open one; else the reply to send."""
    if command.code:
        alert = selectors.alert_for_code(peer=peer, code=command.code)
        return (alert, None) if alert else (None, messages.no_such_request(code=command.code))
    open_alerts = selectors.open_alerts_for_peer(peer=peer)
    if len(open_alerts) == 1:
        return open_alerts[0], None
    if not open_alerts:
        return None, messages.nothing_open()
    return None, messages.which_code(codes=[alert.request.code for alert in open_alerts])


def _yes(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    alert, problem = _alert_for(peer, command)
    if alert is None:
        return problem, "yes_ambiguous" if command.code is None else "yes_unknown_code"
    outcome = services.record_yes(alert=alert, now=now)
    peer_request = alert.request
    replies = {
        YesOutcome.RECORDED: messages.yes_recorded,
        YesOutcome.ALREADY_RECORDED: messages.yes_already_recorded,
        YesOutcome.ALREADY_ASSIGNED: messages.already_assigned_to_you,
        YesOutcome.FILLED: messages.filled,
        YesOutcome.CLOSED: messages.closed,
    }
    if outcome == YesOutcome.ASSIGNED:
        return None, outcome  # the confirmation is its own text
    return replies[outcome](peer_request=peer_request), outcome


def _no(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    alert, problem = _alert_for(peer, command)
    if alert is None:
        return problem, "no_ambiguous" if command.code is None else "no_unknown_code"
    outcome = services.record_no(alert=alert, reason=command.reason or "", now=now)
    if outcome == NoOutcome.ASSIGNED_TO_YOU:
        return messages.already_assigned_to_you(peer_request=alert.request), outcome
    if outcome == NoOutcome.CLOSED:
        return messages.closed(peer_request=alert.request), outcome
    if command.reason:
        return messages.decline_reason_recorded(reason=command.reason), outcome
    return messages.no_menu(peer_request=alert.request), outcome


def _decline_reason(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    alert = selectors.awaiting_decline_reason(peer=peer, since=now - DECLINE_MENU_WINDOW)
    if alert is None:
        return messages.nothing_to_explain(), "decline_reason_unexpected"
    services.record_decline_reason(alert=alert, reason=command.reason)
    return messages.decline_reason_recorded(reason=command.reason), "decline_reason"


def _withdraw(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    alert = selectors.alert_for_code(peer=peer, code=command.code)
    if alert is None:
        return messages.no_such_request(code=command.code), "withdraw_unknown_code"
    outcome = services.withdraw(alert=alert, now=now)
    if outcome == WithdrawOutcome.NOT_ASSIGNED:
        return messages.not_assigned_to_you(peer_request=alert.request), outcome
    return messages.withdrawn(peer_request=alert.request), outcome


def _availability(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    available = command.kind == Kind.ON
    override = services.set_availability_by_sms(
        peer=peer, is_available=available, hours=command.hours, now=now
    )
    if available:
        return messages.on(peer=peer, until=override.ends_at), "on"
    return messages.off(peer=peer, until=override.ends_at), "off"


def _act(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    match command.kind:
        case Kind.YES:
            return _yes(peer, command, now)
        case Kind.NO:
            return _no(peer, command, now)
        case Kind.DECLINE_REASON:
            return _decline_reason(peer, command, now)
        case Kind.WITHDRAW:
            return _withdraw(peer, command, now)
        case Kind.ON | Kind.OFF:
            return _availability(peer, command, now)
        case Kind.BAD_HOURS:
            return messages.bad_hours(), "bad_hours"
        case Kind.HELP:
            return messages.help_text(), "help"
        case Kind.OPT_OUT:
            services.set_opted_out(peer=peer, opted_out=True, now=now)
            return messages.opted_out(), "opted_out"
        case Kind.OPT_IN:
            services.set_opted_out(peer=peer, opted_out=False, now=now)
            return messages.opted_in(), "opted_in"
    return messages.usage(), "unknown"


def handle_inbound(*, inbound: InboundMessage, now: dt.datetime | None = None) -> str | None:
    """Act on one stored inbound text and return the reply to send (None: no reply).

    A number that is not a peer's gets a neutral reply and nothing else happens. A message
    already handled returns None and changes nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = InboundMessage.objects.select_for_update().filter(pk=inbound.pk).first()
        if row is None or row.handled_at is not None:
            return None
        peer = peer_for_number(row.from_number)
        if peer is None:
            reply, outcome = messages.unknown_number(), "unknown_number"
        else:
            reply, outcome = _act(peer, parse(row.body), now)
        InboundMessage.objects.filter(pk=row.pk).update(peer=peer, outcome=str(outcome)[:64], handled_at=now)
    inbound.peer, inbound.outcome, inbound.handled_at = peer, str(outcome)[:64], now
    return reply
