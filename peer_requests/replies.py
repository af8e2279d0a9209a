"""What happens when a peer texts Peer-RX: parse, act, answer. ``SMS_INBOUND_HANDLER`` names
``handle_text``.

``sms`` stores each text once (unique MessageSid), then, in a worker, locks the row and calls
``handle_text`` inside the transaction that marks it handled: the action, the mark and the
answer commit together, so the same text handled twice acts once. ``handle_text`` queues
nothing itself: it returns the reply (None when the answer is a separate message, like the
confirmation of an assignment) and ``sms`` queues it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from matching.grammar import (
    DECLINE_MENU,
    DECLINE_MENU_WINDOW,
    OUTCOME_MENU_WINDOW,
    Command,
    Kind,
    outcome_for,
    parse,
)
from peer_requests import messages, selectors, services
from peer_requests.models import Alert
from peer_requests.services import EncounterOutcomeRecorded, NoOutcome, WithdrawOutcome, YesOutcome
from peers import consent
from peers.models import ConsentRecord, Peer
from peers.selectors import peer_for_number
from sms.handlers import Handled, InboundText
from sms.models import InboundMessage

Answer = tuple[str | None, str]  # (reply text or None, outcome stored on the inbound message)


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


def _yes(peer: Peer, command: Command, now: dt.datetime, received_at: dt.datetime) -> Answer:
    alert, problem = _alert_for(peer, command)
    if alert is None:
        return problem, "yes_ambiguous" if command.code is None else "yes_unknown_code"
    outcome = services.record_yes(alert=alert, now=now, received_at=received_at)
    peer_request = alert.request
    replies = {
        YesOutcome.RECORDED: messages.yes_recorded,
        YesOutcome.ALREADY_RECORDED: messages.yes_already_recorded,
        YesOutcome.ALREADY_ASSIGNED: messages.already_assigned_to_you,
        YesOutcome.FILLED: messages.filled,
        YesOutcome.CLOSED: messages.closed,
    }
    if outcome in (YesOutcome.ASSIGNED, YesOutcome.RANKED):
        return None, outcome  # the confirmation, or "filled", is its own text
    if outcome == YesOutcome.BUSY:
        other = selectors.busy_elsewhere(peer=peer, peer_request=peer_request)
        return messages.busy(peer_request=peer_request, assigned_to=other), outcome
    return replies[outcome](peer_request=peer_request), outcome


def _no(peer: Peer, command: Command, now: dt.datetime, received_at: dt.datetime) -> Answer:
    alert, problem = _alert_for(peer, command)
    if alert is None:
        return problem, "no_ambiguous" if command.code is None else "no_unknown_code"
    outcome = services.record_no(alert=alert, reason=command.reason or "", now=now, received_at=received_at)
    if outcome == NoOutcome.ASSIGNED_TO_YOU:
        return messages.already_assigned_to_you(peer_request=alert.request), outcome
    if outcome == NoOutcome.CLOSED:
        return messages.closed(peer_request=alert.request), outcome
    if command.reason:
        return messages.decline_reason_recorded(reason=command.reason), outcome
    return messages.no_menu(peer_request=alert.request), outcome


def _menu_number(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    """A bare digit answers whichever menu the peer got last: after DONE, or after NO."""
    encounter = selectors.awaiting_outcome(peer=peer, since=now - OUTCOME_MENU_WINDOW)
    alert = selectors.awaiting_decline_reason(peer=peer, since=now - DECLINE_MENU_WINDOW)
    number = next(i for i, (code, _label) in enumerate(DECLINE_MENU, start=1) if code == command.reason)
    if (
        encounter is not None
        and outcome_for(number)
        and (alert is None or alert.responded_at < encounter.finished_at)
    ):
        return _outcome(peer, Command(Kind.OUTCOME, outcome=outcome_for(number)), now)
    return _decline_reason(peer, command, now, alert=alert)


def _decline_reason(peer: Peer, command: Command, now: dt.datetime, *, alert: Alert | None) -> Answer:
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


def _encounter(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    """OMW, HERE, DONE: about the peer's assignment under way (the code may be left out)."""
    peer_request = selectors.live_assignment_of(peer=peer, code=command.code)
    if peer_request is None:
        if command.code:
            return messages.not_assigned_to_you_code(code=command.code), "encounter_not_assigned"
        return messages.no_live_assignment(), "encounter_not_assigned"
    if command.kind == Kind.ON_MY_WAY:
        outcome = services.record_on_the_way(
            peer_request=peer_request, peer=peer, minutes=command.minutes, now=now
        )
        replies = {
            EncounterOutcomeRecorded.ON_THE_WAY: messages.on_the_way_recorded,
            EncounterOutcomeRecorded.ETA_UPDATED: messages.eta_updated,
        }
    elif command.kind == Kind.ARRIVED:
        outcome = services.record_arrival(peer_request=peer_request, peer=peer, now=now)
        replies = {EncounterOutcomeRecorded.ARRIVED: messages.arrived_recorded}
    else:
        outcome = services.record_finished(peer_request=peer_request, peer=peer, now=now)
        if outcome == EncounterOutcomeRecorded.FINISHED:
            return None, f"done_{outcome}"  # the outcome menu is its own text
        replies = {}
    answer = replies.get(outcome, messages.stage_already_recorded)
    return answer(peer_request=peer_request), f"{command.kind}_{outcome}"


def _outcome(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    encounter = selectors.awaiting_outcome(peer=peer, since=now - OUTCOME_MENU_WINDOW)
    if encounter is None:
        return messages.no_outcome_expected(), "outcome_unexpected"
    services.record_outcome(
        peer_request=encounter, outcome=command.outcome, naloxone_kit_given=command.kit, now=now
    )
    return messages.outcome_recorded(peer_request=encounter, kit=command.kit), "outcome"


def _availability(peer: Peer, command: Command, now: dt.datetime) -> Answer:
    available = command.kind == Kind.ON
    override = services.set_availability_by_sms(
        peer=peer, is_available=available, hours=command.hours, now=now
    )
    if available:
        return messages.on(peer=peer, until=override.ends_at), "on"
    return messages.off(peer=peer, until=override.ends_at), "off"


def _act(peer: Peer, command: Command, now: dt.datetime, received_at: dt.datetime, body: str) -> Answer:
    match command.kind:
        case Kind.YES:
            return _yes(peer, command, now, received_at)
        case Kind.NO:
            return _no(peer, command, now, received_at)
        case Kind.DECLINE_REASON:
            return _menu_number(peer, command, now)
        case Kind.ON_MY_WAY | Kind.ARRIVED | Kind.DONE:
            return _encounter(peer, command, now)
        case Kind.OUTCOME:
            return _outcome(peer, command, now)
        case Kind.BAD_ETA:
            return messages.bad_eta(), "bad_eta"
        case Kind.WITHDRAW:
            return _withdraw(peer, command, now)
        case Kind.ON | Kind.OFF:
            return _availability(peer, command, now)
        case Kind.BAD_HOURS:
            return messages.bad_hours(), "bad_hours"
        case Kind.HELP:
            return messages.help_text(), "help"
        case Kind.OPT_OUT:
            how = ConsentRecord.Source.NATURAL_LANGUAGE if command.natural else ConsentRecord.Source.KEYWORD
            consent.record_opt_out(peer=peer, source=how, text=body, now=now)
            return consent.opted_out(), "opted_out"
        case Kind.OPT_IN:
            consent.record_opt_in(peer=peer, source=ConsentRecord.Source.KEYWORD, text=body, now=now)
            return consent.opted_in(), "opted_in"
    return messages.usage(), "unknown"


# Replies nobody asked for: usage hints and the like, and the neutral reply to an unknown number.
# An auto-responder answering them would start a loop; beyond a few, Peer-RX stays silent.
PASSIVE_OUTCOMES = frozenset(
    {
        "unknown",
        "bad_hours",
        "bad_eta",
        "decline_reason_unexpected",
        "outcome_unexpected",
        "encounter_not_assigned",
        "yes_ambiguous",
        "no_ambiguous",
        "yes_unknown_code",
        "no_unknown_code",
        "withdraw_unknown_code",
        "unknown_number",
    }
)
SILENCED = "_silenced"


def _quiet(handled: Handled, text: InboundText) -> Handled:
    """The same answer, or silence when the number has had its share of passive replies:
    PEERRX_PASSIVE_REPLIES_PER_HOUR and _PER_DAY for a peer, one a day for an unknown number.
    Silenced texts are still stored and handled (their outcome says so)."""
    if handled.reply is None or handled.outcome not in PASSIVE_OUTCOMES:
        return handled
    earlier = InboundMessage.objects.filter(
        from_number=text.from_number, outcome__in=PASSIVE_OUTCOMES, handled_at__isnull=False
    ).exclude(pk=text.inbound_id)
    day, hour = text.now - dt.timedelta(days=1), text.now - dt.timedelta(hours=1)
    if handled.outcome == "unknown_number":
        limits = [(day, 1)]
    else:
        limits = [
            (hour, settings.PEERRX_PASSIVE_REPLIES_PER_HOUR),
            (day, settings.PEERRX_PASSIVE_REPLIES_PER_DAY),
        ]
    for since, most in limits:
        if earlier.filter(received_at__gte=since).count() >= most:
            return Handled(reply=None, outcome=f"{handled.outcome}{SILENCED}"[:64], peer_id=handled.peer_id)
    return handled


def handle_text(*, text: InboundText) -> Handled:
    """Act on one stored text from a phone and say what to answer.

    A number that is not a peer's gets a neutral reply (one a day) and nothing else happens;
    replies nobody asked for are limited per number (``_quiet``). Runs inside the transaction
    in which ``sms`` marks the text handled (see the module docstring).
    """
    peer = peer_for_number(text.from_number)
    if peer is None:
        return _quiet(Handled(reply=messages.unknown_number(), outcome="unknown_number"), text)
    reply, outcome = _act(peer, parse(text.body), text.now, text.received_at, text.body)
    return _quiet(Handled(reply=reply, outcome=str(outcome), peer_id=peer.pk), text)
