"""Every text Peer-RX sends about a request, to peers and to locations.

No protected health information, ever: a text may say where (location, kind, town), what
kind of support (the need), the request code, how to reply, and, to the chosen peer only,
whom to ask for at the location (a staff contact). Nothing about the person being helped:
the requested age range, gender and languages describe the patient, so they never appear.
tests/matching/test_messages.py renders every public function here with marker strings in
every request field and proves it.

Functions take keyword arguments from one small vocabulary (peer_request, peer,
previous_peer, code, codes, reason, until) so that test can call all of them.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from core.choices import Need
from matching.grammar import DECLINE_MENU, MAX_ETA_MINUTES, MAX_HOURS, OUTCOME_MENU
from peer_requests.models import PeerRequest
from peers.models import Peer

NEED_WORDS = {
    Need.MENTAL_HEALTH: "mental health",
    Need.SUBSTANCE_USE: "substance use",
    Need.CO_OCCURRING: "co-occurring mental health and substance use",
}

_MENU = ", ".join(f"{i} {label}" for i, (_value, label) in enumerate(DECLINE_MENU, start=1))


def _clock(at: dt.datetime, tz_name: str) -> str:
    local = at.astimezone(ZoneInfo(tz_name))
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def _town(peer_request: PeerRequest) -> str:
    """The town from a "street, town, state zip" address, else the county."""
    location = peer_request.location
    parts = [part.strip() for part in location.address.split(",") if part.strip()]
    if len(parts) >= 3:
        return parts[-2]
    return f"{location.county.name} County"


def request_url(peer_request: PeerRequest) -> str:
    """The request page, for texts to the location (it needs a login)."""
    path = reverse("peer_requests:detail", args=[peer_request.pk])
    return f"{settings.PEERRX_PUBLIC_BASE_URL}{path}"


# --- Texts to peers about a request -------------------------------------------------------


def alert(*, peer_request: PeerRequest) -> str:
    location = peer_request.location
    return (
        f"Peer-RX {peer_request.code}: a peer is needed now at {location.name} "
        f"({location.get_kind_display()}, {_town(peer_request)}) for "
        f"{NEED_WORDS.get(peer_request.need, 'peer')} support. "
        f"Reply YES {peer_request.code} if you can go, NO {peer_request.code} if not."
    )


def reminder(*, peer_request: PeerRequest) -> str:
    return (
        f"Peer-RX {peer_request.code}: still looking for a peer at {peer_request.location.name}. "
        f"Reply YES {peer_request.code} if you can go, NO {peer_request.code} if not."
    )


def confirmation(*, peer_request: PeerRequest) -> str:
    location = peer_request.location
    return (
        f"Peer-RX {peer_request.code}: you're confirmed. Go to {location.name}, {location.address}. "
        f"Ask for {peer_request.callback_contact}. "
        f"Reply OMW {peer_request.code} 20 when you set off (minutes to arrive), HERE {peer_request.code} "
        f"when you arrive, DONE {peer_request.code} when you finish. Can't go? CANCEL {peer_request.code}."
    )


def filled(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX {peer_request.code}: this request has been filled. Thank you for saying YES!"


def cancelled_by_location(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX {peer_request.code}: the location cancelled this request. Thank you for saying YES!"


def ack_reminder(*, peer_request: PeerRequest) -> str:
    return (
        f"Peer-RX {peer_request.code}: you're assigned to {peer_request.location.name}. "
        f"Reply OMW {peer_request.code} 20 when you set off, or CANCEL {peer_request.code} if you can't go."
    )


def outcome_menu(*, peer_request: PeerRequest) -> str:
    choices = ", ".join(f"{i} {label}" for i, (_code, label) in enumerate(OUTCOME_MENU, start=1))
    return (
        f"Peer-RX {peer_request.code}: thank you. How did it end? Reply {choices}, with Y or N for a "
        "naloxone kit given, e.g. 1Y. No names or details, please."
    )


# --- Texts to the location's notification phone ---------------------------------------------


def location_assigned(*, peer_request: PeerRequest, peer: Peer) -> str:
    return (
        f"Peer-RX {peer_request.code}: {peer.full_name} of {peer.agency.name} is assigned; "
        f"you will be told when they set off. Details: {request_url(peer_request)}"
    )


def location_on_the_way(*, peer_request: PeerRequest, peer: Peer, minutes: int | None) -> str:
    about = f", about {minutes} min" if minutes else ""
    return f"Peer-RX {peer_request.code}: {peer.full_name} is on the way{about}. {request_url(peer_request)}"


def location_no_ack(*, peer_request: PeerRequest, peer: Peer) -> str:
    return (
        f"Peer-RX {peer_request.code}: no word yet from {peer.full_name} that they are on the way. "
        f"Their agency has been told. Find another peer: {request_url(peer_request)}"
    )


def location_late(*, peer_request: PeerRequest, peer: Peer) -> str:
    return (
        f"Peer-RX {peer_request.code}: {peer.full_name} has not arrived yet. Their agency has been told. "
        f"Mark the arrival or find another peer: {request_url(peer_request)}"
    )


def supervisor_notice(*, peer_request: PeerRequest, peer: Peer, what: str) -> str:
    """The mail to the assigned peer's agency supervisors (no patient details)."""
    return (
        f"{what}.\n\nRequest {peer_request.code} at {peer_request.location.name} "
        f"({peer_request.location.address}) was assigned to {peer.full_name}. Please reach them at "
        f"{peer.phone}.\n\n"
        f"{request_url(peer_request)}"
    )


def location_reassigned(*, peer_request: PeerRequest, peer: Peer, previous_peer: Peer) -> str:
    return (
        f"Peer-RX {peer_request.code}: {previous_peer.full_name} can no longer come; "
        f"{peer.full_name} of {peer.agency.name} is assigned instead. Details: {request_url(peer_request)}"
    )


def location_reopened(*, peer_request: PeerRequest, previous_peer: Peer) -> str:
    until = _clock(peer_request.expires_at, peer_request.location.timezone)
    return (
        f"Peer-RX {peer_request.code}: {previous_peer.full_name} can no longer come. "
        f"We are looking for another peer until {until}. Details: {request_url(peer_request)}"
    )


def location_nobody(*, peer_request: PeerRequest) -> str:
    return (
        f"Peer-RX {peer_request.code}: no peer is available right now, not even from backup agencies. "
        f"Peer-RX staff will call you; peers who become available are alerted. {request_url(peer_request)}"
    )


def location_expired(*, peer_request: PeerRequest) -> str:
    return (
        f"Peer-RX {peer_request.code}: no peer was found in time and the request has expired. "
        f"Resubmit at {request_url(peer_request)}"
    )


# --- Replies to a peer's text -------------------------------------------------------------


def yes_recorded(*, peer_request: PeerRequest) -> str:
    at = _clock(peer_request.selection_due_at, peer_request.location.timezone)
    return (
        f"Peer-RX {peer_request.code}: thanks, your YES is in. We choose at {at} "
        "and will text you if you're chosen."
    )


def yes_already_recorded(*, peer_request: PeerRequest) -> str:
    at = _clock(peer_request.selection_due_at, peer_request.location.timezone)
    return f"Peer-RX {peer_request.code}: we already have your YES. We choose at {at}."


def already_assigned_to_you(*, peer_request: PeerRequest) -> str:
    return (
        f"Peer-RX {peer_request.code}: you're already confirmed for this request. "
        f"Reply CANCEL {peer_request.code} if you can't go."
    )


def busy(*, peer_request: PeerRequest, assigned_to: PeerRequest | None) -> str:
    other = f" {assigned_to.code}" if assigned_to is not None else ""
    return (
        f"Peer-RX {peer_request.code}: you're still assigned to request{other}, so this YES can't count. "
        "Thank you! You can be alerted again once that assignment ends."
    )


def closed(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX: request {peer_request.code} is closed. Thank you!"


def no_menu(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX {peer_request.code}: got it, NO. What's keeping you? Reply {_MENU}."


def decline_reason_recorded(*, reason: str) -> str:
    label = dict(DECLINE_MENU).get(reason, reason)
    return f"Peer-RX: thanks, noted ({label})."


def withdrawn(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX {peer_request.code}: you've withdrawn. Thanks for letting us know."


def not_assigned_to_you(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX {peer_request.code}: you're not assigned to this request, so there is nothing to cancel."


def no_such_request(*, code: str) -> str:
    return f"Peer-RX: we sent you no request {code}. Check the code in the alert."


def which_code(*, codes: list[str]) -> str:
    listed = ", ".join(codes)
    return (
        f"Peer-RX: you have {len(codes)} open requests ({listed}). "
        f"Reply with the code, e.g. YES {codes[0]} or NO {codes[0]}."
    )


def nothing_open() -> str:
    return "Peer-RX: you have no open requests right now."


def nothing_to_explain() -> str:
    return "Peer-RX: there is no recent NO to add a reason to. Reply HELP for how to reply."


def on(*, peer: Peer, until: dt.datetime) -> str:
    return (
        f"Peer-RX: you're ON, available for alerts until {_clock(until, peer.agency.timezone)} "
        "(outside your usual hours too). Text OFF to stop."
    )


def off(*, peer: Peer, until: dt.datetime) -> str:
    return (
        f"Peer-RX: you're OFF, no alerts until {_clock(until, peer.agency.timezone)}. "
        "Text ON to be available again."
    )


def bad_hours() -> str:
    return f"Peer-RX: ON and OFF take 1 to {MAX_HOURS} hours, e.g. OFF 4."


def help_text() -> str:
    return (
        "Peer-RX peer support alerts: texts when a hospital near you needs a peer, a few a week. "
        "Reply YES 1234 or NO 1234, ON or OFF, OMW/HERE/DONE 1234 when assigned. STOP to stop. "
        f"Msg & data rates may apply. Help: {settings.PEERRX_SUPPORT_CONTACT}"
    )


def on_the_way_recorded(*, peer_request: PeerRequest) -> str:
    return (
        f"Peer-RX {peer_request.code}: thanks, the location knows you're on the way. "
        f"Reply HERE {peer_request.code} when you arrive."
    )


def eta_updated(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX {peer_request.code}: thanks, the location has your new arrival time."


def arrived_recorded(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX {peer_request.code}: arrival recorded. Reply DONE {peer_request.code} when you finish."


def stage_already_recorded(*, peer_request: PeerRequest) -> str:
    return f"Peer-RX {peer_request.code}: that was recorded already. Thank you."


def not_assigned_to_you_code(*, code: str) -> str:
    return f"Peer-RX: request {code} is not an assignment of yours under way. Reply HELP for the commands."


def no_live_assignment() -> str:
    return "Peer-RX: you have no assignment under way. Reply HELP for the commands."


def bad_eta() -> str:
    return f"Peer-RX: send the minutes to arrive as a number from 1 to {MAX_ETA_MINUTES}, e.g. OMW 1234 20."


def no_outcome_expected() -> str:
    return "Peer-RX: there is no finished encounter waiting for its outcome. Reply HELP for the commands."


def outcome_recorded(*, peer_request: PeerRequest, kit: bool | None) -> str:
    ask = " Was a naloxone kit given? Reply the number again with Y or N, e.g. 1Y." if kit is None else ""
    return f"Peer-RX {peer_request.code}: outcome recorded. Thank you!{ask}"


def usage() -> str:
    return "Peer-RX: reply YES 1234 or NO 1234 with the alert's code, ON, OFF, or HELP."


def unknown_number() -> str:
    return "This number is not registered with Peer-RX."
