"""The dispatch workflow: a request from submission to assignment, expiry or cancellation.

States (docs/dispatch.md): collecting → assigned | open; open → assigned | expired;
collecting/open → cancelled; assigned → (peer withdraws) assigned to the next best | open.

Deadlines live in the database (``selection_due_at``, ``expires_at``). Countdown tasks
give timing to the second; the beat sweeper (``complete_due_requests``) finishes any due
request whose task never ran. Every transition locks the request row
(``select_for_update``) and then changes it with a conditional UPDATE whose row count is
checked, so a task, a sweep or a reply that arrives twice or late changes nothing. The
database refuses a second assigned alert for one request whatever the code does.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services import record_audit
from locations.models import Location
from peer_requests import messages, patient_details
from peer_requests.candidates import prescore_peers, rank_responders
from peer_requests.models import (
    ACTIVE_STATUSES,
    Alert,
    EncounterOutcome,
    PeerRequest,
    RequestEvent,
    RequestStatus,
)
from peer_requests.notifications import notify_staff, notify_supervisors
from peer_requests.selectors import alertable_peers, busy_elsewhere, busy_peer_ids, live_assignments
from peers.models import AvailabilityOverride, Language, Peer
from peers.selectors import eligible_peers
from peers.services import set_availability_override
from sms.models import OutboundMessage
from sms.services import handle_earlier_texts, queue_bulk, queue_message

logger = logging.getLogger(__name__)
# The requests whose choice this thread is making: replies it handles first do not start it again.
_choosing: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar("choosing", default=frozenset())

CODE_ATTEMPTS = 30
OPEN_WINDOW_REASON = "First YES while the request was open"
DUE_BATCH = 200
CLOSED_STATUSES = (RequestStatus.EXPIRED, RequestStatus.CANCELLED)
# A new assignment (or a reopened request) starts its encounter afresh.
ENCOUNTER_RESET = {
    "on_way_at": None,
    "eta_at": None,
    "arrived_at": None,
    "arrived_by": None,
    "ack_reminded_at": None,
    "ack_escalated_at": None,
    "late_told_at": None,
}
# Without an ETA the peer is late an hour after assignment: the measure peer programmes keep.
ARRIVAL_WITHOUT_ETA = dt.timedelta(minutes=60)


class DispatchError(Exception):
    """A step the request's state does not allow; the message is fit to show the user."""


# --- helpers ------------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _locked(request_id: int) -> PeerRequest | None:
    """The request row, locked until the transaction ends (a no-op lock on SQLite, whose
    IMMEDIATE transactions serialise writers anyway)."""
    return PeerRequest.objects.select_for_update().filter(pk=request_id).first()


def _event(
    *,
    peer_request: PeerRequest,
    kind: str,
    at: dt.datetime,
    actor: User | None = None,
    peer: Peer | None = None,
    detail: str = "",
) -> RequestEvent:
    return RequestEvent.objects.create(
        request=peer_request,
        kind=kind,
        at=at,
        actor=actor if actor is not None and actor.is_authenticated else None,
        peer=peer,
        detail=detail[:300],
    )


def _move(peer_request: PeerRequest, *, from_statuses: Iterable[str], **changes) -> bool:
    """Compare-and-set: apply ``changes`` only if the status is still one of ``from_statuses``."""
    updated = PeerRequest.objects.filter(pk=peer_request.pk, status__in=list(from_statuses)).update(**changes)
    if updated:
        for field, value in changes.items():
            setattr(peer_request, field, value)
    return bool(updated)


CODES = range(1000, 10000)  # four digits with no leading zero to drop: easy to type in a reply
RANDOM_CODE_TRIES = 20


def _free_code(taken: set[str]) -> str:
    """A code no live request uses. Random first (codes do not reveal how busy Peer-RX is);
    when the space is crowded, one pass over the free codes; when none is left, DispatchError.

    9,000 codes: with at most PEERRX_MAX_LIVE_REQUESTS_PER_LOCATION live requests a location
    (10 by default), no location can hold more than a sliver of them, and 900 locations at
    their limit at once still find a code.
    """
    for _try in range(RANDOM_CODE_TRIES):
        code = str(CODES[secrets.randbelow(len(CODES))])
        if code not in taken:
            return code
    free = [str(code) for code in CODES if str(code) not in taken]
    if not free:
        raise DispatchError("Every request code is in use right now; please try again in a few minutes.")
    return free[secrets.randbelow(len(free))]


def _text_location(*, peer_request: PeerRequest, kind: str, body: str, now: dt.datetime) -> None:
    location = peer_request.location
    queue_message(
        to=str(location.notification_phone),
        body=body,
        kind=kind,
        location_id=location.pk,
        request_id=peer_request.pk,
        now=now,
    )


def _text_peer(
    *, peer: Peer, body: str, kind: str, peer_request: PeerRequest, alert: Alert | None, now: dt.datetime
) -> None:
    queue_message(
        to=str(peer.phone),
        body=body,
        kind=kind,
        peer_id=peer.pk,
        alert_id=alert.pk if alert else None,
        request_id=peer_request.pk,
        now=now,
    )


def _text_peers(
    *,
    alerts: Iterable[Alert],
    body: str,
    kind: str,
    peer_request: PeerRequest,
    now: dt.datetime,
    valid_until: dt.datetime | None = None,
) -> None:
    """One text to each alert's peer, in the alerts' order, saved in one INSERT (the alerts
    carry their peer)."""
    queue_bulk(
        messages=[
            OutboundMessage(
                to=str(alert.peer.phone),
                body=body,
                kind=kind,
                peer=alert.peer,
                alert=alert,
                request=peer_request,
                valid_until=valid_until,
            )
            for alert in alerts
        ],
        now=now,
    )


def _schedule_deadlines(*, request_id: int, selection_due_at: dt.datetime, expires_at: dt.datetime) -> None:
    """Enqueue the countdown tasks; a broker outage only logs: the sweeper covers it."""
    from peer_requests import tasks

    try:
        tasks.complete_selection.apply_async(args=[request_id], eta=selection_due_at)
        tasks.expire.apply_async(args=[request_id], eta=expires_at)
    except Exception:
        logger.warning(
            "Could not enqueue deadlines of request %s; the sweeper will finish it", request_id, exc_info=True
        )


# --- who is alerted -------------------------------------------------------------------------


def _alert(*, peer_request: PeerRequest, wave: str, now: dt.datetime, backup: bool = False) -> list[Alert]:
    """Alert every peer who may be alerted for the request now and has no alert for it yet,
    best static match first; returns the new alerts. The caller holds the request's lock.

    One alert per peer per request, ever (``one_alert_per_peer_per_request``): the lock keeps
    two callers (a sweep and a reply) from inserting twice, and the constraint backs it.
    """
    peer_ids = list(
        alertable_peers(peer_request=peer_request, at=now, backup=backup).values_list("pk", flat=True)
    )
    ranked = prescore_peers(peer_request=peer_request, peer_ids=peer_ids, now=now)
    if not ranked:
        return []
    peers = Peer.objects.in_bulk([candidate.peer_id for candidate in ranked])
    alerts = Alert.objects.bulk_create(
        [
            Alert(
                request=peer_request,
                peer=peers[candidate.peer_id],
                created_at=now,
                wave=wave,
                prescore=candidate.score,
                prescore_breakdown=candidate.breakdown,
            )
            for candidate in ranked
        ]
    )
    _text_peers(
        alerts=alerts,
        body=messages.alert(peer_request=peer_request),
        kind=OutboundMessage.Kind.ALERT,
        peer_request=peer_request,
        valid_until=peer_request.expires_at,
        now=now,
    )
    return alerts


def _widen_locked(peer_request: PeerRequest, *, now: dt.datetime, actor: User | None = None) -> int:
    """The second wave: alert the peers of agencies that list the county as a backup; returns
    how many. Once per request; automatic only with PEERRX_WIDEN_TO_BACKUP (staff, the
    ``actor``, may always). If nobody at all has been alerted even then, the location is told
    at once and the request goes to Peer-RX staff, marked urgent."""
    if peer_request.widened_at is not None or peer_request.status not in ACTIVE_STATUSES:
        return 0
    if not (settings.PEERRX_WIDEN_TO_BACKUP or actor is not None):
        if not Alert.objects.filter(request=peer_request).exists():
            _nobody_available(peer_request, now=now)
        return 0
    if not _move(peer_request, from_statuses=ACTIVE_STATUSES, widened_at=now):
        return 0
    alerts = _alert(peer_request=peer_request, wave=Alert.Wave.WIDENED, now=now, backup=True)
    _event(
        peer_request=peer_request,
        kind=RequestEvent.Kind.WIDENED,
        at=now,
        actor=actor,
        detail=f"{len(alerts)} peers of backup agencies alerted"
        if alerts
        else "No backup agency's peer is available",
    )
    if not alerts and not Alert.objects.filter(request=peer_request).exists():
        _nobody_available(peer_request, now=now)
    return len(alerts)


def _nobody_available(peer_request: PeerRequest, *, now: dt.datetime) -> None:
    if not _move(peer_request, from_statuses=ACTIVE_STATUSES, urgent_since=now):
        return
    _event(
        peer_request=peer_request,
        kind=RequestEvent.Kind.NOBODY_AVAILABLE,
        at=now,
        detail="No peer could be alerted; Peer-RX staff are following up",
    )
    _text_location(
        peer_request=peer_request,
        kind=OutboundMessage.Kind.LOCATION_NOBODY,
        body=messages.location_nobody(peer_request=peer_request),
        now=now,
    )


@transaction.atomic
def widen(*, peer_request: PeerRequest, actor: User | None, now: dt.datetime | None = None) -> int:
    """Peer-RX staff widen a live request to the backup agencies at once; returns how many
    peers were alerted. Raises DispatchError when the request is no longer live or was widened."""
    now = _now(now)
    locked = _locked(peer_request.pk)
    if locked is None or locked.status not in ACTIVE_STATUSES:
        raise DispatchError("Only a request still looking for a peer can be widened.")
    if locked.widened_at is not None:
        raise DispatchError("This request has already been widened to the backup agencies.")
    count = _widen_locked(locked, now=now, actor=actor)
    record_audit(actor=actor, action="request.widened", target=locked, detail=f"{count} alerted", at=now)
    return count


# --- submit ---------------------------------------------------------------------------------


def _create_with_code(**fields) -> PeerRequest:
    """Insert the request with a code no live request uses.

    Codes in use are skipped up front; two submits racing for the same code are settled
    by the partial unique constraint, and the loser tries another code.
    """
    for _attempt in range(CODE_ATTEMPTS):
        taken = set(PeerRequest.objects.filter(status__in=ACTIVE_STATUSES).values_list("code", flat=True))
        try:
            with transaction.atomic():
                return PeerRequest.objects.create(code=_free_code(taken), **fields)
        except IntegrityError as exc:
            if "code" not in str(exc):
                raise
            logger.info("Request code collision; trying another code")
    raise DispatchError("Could not find a free request code; please try again.")


def _check_limits(*, location: Location, actor: User | None, now: dt.datetime) -> None:
    """A location cannot flood the peers or the code space: at most
    PEERRX_MAX_LIVE_REQUESTS_PER_LOCATION looking for a peer at once, and at most
    PEERRX_MAX_SUBMITS_PER_MINUTE submitted a minute by the location or by one user. Peer-RX
    staff are told when a location reaches a limit. Raises DispatchError with what to do."""
    live = PeerRequest.objects.filter(location=location, status__in=ACTIVE_STATUSES).count()
    if live >= settings.PEERRX_MAX_LIVE_REQUESTS_PER_LOCATION:
        _limit_reached(location=location, actor=actor, what=f"{live} requests looking for a peer", now=now)
        raise DispatchError(
            f"This location already has {live} requests looking for a peer. Cancel one you no longer "
            "need, or wait for one to be filled."
        )
    recent = PeerRequest.objects.filter(created_at__gt=now - dt.timedelta(minutes=1))
    by_location = recent.filter(location=location).count()
    by_user = recent.filter(created_by=actor).count() if actor is not None and actor.is_authenticated else 0
    if max(by_location, by_user) >= settings.PEERRX_MAX_SUBMITS_PER_MINUTE:
        _limit_reached(location=location, actor=actor, what="too many requests in a minute", now=now)
        raise DispatchError("Too many requests in the last minute: please wait a minute and try again.")


def _limit_reached(*, location: Location, actor: User | None, what: str, now: dt.datetime) -> None:
    logger.warning("Location %s reached a request limit: %s", location.pk, what)
    record_audit(actor=actor, action="request.limit_reached", target=location, detail=what, at=now)
    notify_staff(
        subject=f"Peer-RX: {location.name} reached a request limit",
        body=f"{location.name} reached a request limit ({what}) at {now:%Y-%m-%d %H:%M} UTC.",
    )


def submit_request(
    *,
    location: Location,
    need: str,
    callback_contact: str,
    age_range: str = "",
    gender: str = "",
    languages: Iterable[Language] = (),
    actor: User | None = None,
    resubmitted_from: PeerRequest | None = None,
    now: dt.datetime | None = None,
) -> PeerRequest:
    """Create a request and alert every eligible peer, in one transaction, once the location is
    within its request limits (``_check_limits``).

    The countdown tasks are enqueued only after commit; if the broker is down then, the
    request still stands and the sweeper completes it from the deadlines stored here.
    """
    now = _now(now)
    if not location.is_verified:
        raise DispatchError("Only a verified location can request a peer.")
    found = patient_details.problem(callback_contact)
    if found:
        raise DispatchError(f"Whom the peer asks for must be a staff name or extension: {found}.")
    # Outside the request's transaction, so the record of a refusal is kept.
    _check_limits(location=location, actor=actor, now=now)
    with transaction.atomic():
        return _submit(
            location=location,
            need=need,
            callback_contact=callback_contact,
            age_range=age_range,
            gender=gender,
            languages=languages,
            actor=actor,
            resubmitted_from=resubmitted_from,
            now=now,
        )


def _submit(
    *,
    location: Location,
    need: str,
    callback_contact: str,
    age_range: str,
    gender: str,
    languages: Iterable[Language],
    actor: User | None,
    resubmitted_from: PeerRequest | None,
    now: dt.datetime,
) -> PeerRequest:
    peer_request = _create_with_code(
        location=location,
        need=need,
        age_range=age_range,
        gender=gender,
        callback_contact=callback_contact.strip(),
        status=RequestStatus.COLLECTING,
        created_at=now,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        selection_due_at=now + dt.timedelta(seconds=settings.PEERRX_SELECTION_SECONDS),
        expires_at=now + dt.timedelta(seconds=settings.PEERRX_EXPIRY_SECONDS),
        resubmitted_from=resubmitted_from,
    )
    peer_request.languages.set(list(languages))
    on_behalf = actor is not None and actor.is_staff
    _event(
        peer_request=peer_request,
        kind=RequestEvent.Kind.SUBMITTED,
        at=now,
        actor=actor,
        detail=f"Submitted by Peer-RX staff for {location.name}" if on_behalf else "",
    )

    alerts = _alert(peer_request=peer_request, wave=Alert.Wave.FIRST, now=now)
    _event(
        peer_request=peer_request,
        kind=RequestEvent.Kind.ALERTS_SENT,
        at=now,
        detail=f"{len(alerts)} peers alerted" if alerts else "No peer is available right now",
    )
    if not alerts:
        _widen_locked(peer_request, now=now)
    transaction.on_commit(
        lambda: _schedule_deadlines(
            request_id=peer_request.pk,
            selection_due_at=peer_request.selection_due_at,
            expires_at=peer_request.expires_at,
        )
    )
    return peer_request


# --- assignment -------------------------------------------------------------------------------


def _store_ranking(*, peer_request: PeerRequest, now: dt.datetime) -> list:
    """Rank the standing YES responders and store score, rank and breakdown on their alerts."""
    ranked = rank_responders(peer_request=peer_request, now=now)
    alerts = {alert.pk: alert for alert in Alert.objects.filter(pk__in=[c.alert_id for c in ranked])}
    for position, candidate in enumerate(ranked, start=1):
        alert = alerts[candidate.alert_id]
        alert.score = candidate.score
        alert.rank = position
        alert.score_breakdown = candidate.breakdown
    Alert.objects.bulk_update(list(alerts.values()), ["score", "rank", "score_breakdown"])
    return ranked


def _assign(
    *,
    peer_request: PeerRequest,
    alert: Alert,
    reason: str,
    from_statuses: Iterable[str],
    now: dt.datetime,
    previous_peer: Peer | None = None,
) -> bool:
    """Make ``alert``'s peer the request's peer and tell everyone concerned."""
    peer = Peer.objects.select_related("agency").get(pk=alert.peer_id)
    moved = _move(
        peer_request,
        from_statuses=from_statuses,
        status=RequestStatus.ASSIGNED,
        assigned_peer=peer,
        assigned_at=now,
        assignment_reason=reason[:300],
        **ENCOUNTER_RESET,
    )
    if not moved:
        return False
    Alert.objects.filter(pk=alert.pk).update(is_assigned=True)
    alert.is_assigned = True
    _event(
        peer_request=peer_request,
        kind=RequestEvent.Kind.ASSIGNED,
        at=now,
        peer=peer,
        detail=f"{peer.agency.name}; {reason}",
    )
    record_audit(
        actor=None,
        action="request.assigned",
        target=peer_request,
        detail=f"{peer.full_name} ({peer.agency.name}); {reason}",
        at=now,
    )
    _text_peer(
        peer=peer,
        body=messages.confirmation(peer_request=peer_request),
        kind=OutboundMessage.Kind.CONFIRMATION,
        peer_request=peer_request,
        alert=alert,
        now=now,
    )
    if previous_peer is None:
        # The other YES responders hear once that it is filled; a reassignment after a
        # withdrawal does not text them again.
        others = (
            Alert.objects.filter(request=peer_request, response=Alert.Response.YES, withdrawn_at__isnull=True)
            .exclude(pk=alert.pk)
            .select_related("peer")
        )
        _text_peers(
            alerts=others,
            body=messages.filled(peer_request=peer_request),
            kind=OutboundMessage.Kind.FILLED,
            peer_request=peer_request,
            now=now,
        )
        location_body = messages.location_assigned(peer_request=peer_request, peer=peer)
    else:
        location_body = messages.location_reassigned(
            peer_request=peer_request, peer=peer, previous_peer=previous_peer
        )
    _text_location(
        peer_request=peer_request, kind=OutboundMessage.Kind.LOCATION_ASSIGNED, body=location_body, now=now
    )
    return True


def _handle_earlier_replies(peer_request: PeerRequest, *, before: dt.datetime, now: dt.datetime) -> None:
    """Replies the request's peers sent before ``before`` that no worker has handled yet (queue
    lag, a lost task) are handled now, oldest first: a reply counts by when it arrived."""
    phones = Alert.objects.filter(request=peer_request).values_list("peer__phone", flat=True)
    handle_earlier_texts(from_numbers=[str(phone) for phone in phones], received_before=before, now=now)


def _assign_best(
    peer_request: PeerRequest,
    *,
    ranked: list,
    from_statuses: Iterable[str],
    now: dt.datetime,
    reason_prefix: str = "",
    previous_peer: Peer | None = None,
) -> bool:
    """Assign the best-ranked responder who is free; a peer assigned elsewhere at this very
    moment (``one_live_assignment_per_peer``) is passed over for the next."""
    for candidate in ranked:
        reason = candidate.reason or "Best match among the YES replies"
        try:
            with transaction.atomic():
                assigned = _assign(
                    peer_request=peer_request,
                    alert=Alert.objects.get(pk=candidate.alert_id),
                    reason=f"{reason_prefix}{reason}",
                    from_statuses=from_statuses,
                    now=now,
                    previous_peer=previous_peer,
                )
        except IntegrityError as exc:
            if "one_live_assignment_per_peer" not in str(exc):
                raise
            logger.info("Peer %s became busy before the choice of %s", candidate.peer_id, peer_request.pk)
            peer_request.refresh_from_db()
            continue
        return assigned
    return False


def _complete_selection_locked(peer_request: PeerRequest, *, now: dt.datetime) -> bool:
    if peer_request.status != RequestStatus.COLLECTING or now < peer_request.selection_due_at:
        return False
    token = _choosing.set(_choosing.get() | {peer_request.pk})
    try:
        _handle_earlier_replies(peer_request, before=peer_request.selection_due_at, now=now)
    finally:
        _choosing.reset(token)
    peer_request.refresh_from_db()
    if peer_request.status != RequestStatus.COLLECTING:
        return False
    ranked = _store_ranking(peer_request=peer_request, now=now)
    if ranked and _assign_best(
        peer_request, ranked=ranked, from_statuses=[RequestStatus.COLLECTING], now=now
    ):
        return True
    if not _move(peer_request, from_statuses=[RequestStatus.COLLECTING], status=RequestStatus.OPEN):
        return False
    _event(peer_request=peer_request, kind=RequestEvent.Kind.OPENED, at=now)
    _widen_locked(peer_request, now=now)
    return True


@transaction.atomic
def complete_selection(*, request_id: int, now: dt.datetime | None = None) -> bool:
    """At the choice: the best-ranked YES is assigned, or the request opens to the first YES.

    Returns whether anything changed; early, late or repeated calls change nothing.
    """
    now = _now(now)
    peer_request = _locked(request_id)
    if peer_request is None:
        return False
    return _complete_selection_locked(peer_request, now=now)


def _expire_locked(peer_request: PeerRequest, *, now: dt.datetime) -> bool:
    if peer_request.status not in ACTIVE_STATUSES or now < peer_request.expires_at:
        return False
    # A request whose choice never ran gets it first: a YES from the collecting window wins.
    _complete_selection_locked(peer_request, now=now)
    if not _move(
        peer_request, from_statuses=[RequestStatus.OPEN], status=RequestStatus.EXPIRED, closed_at=now
    ):
        return False
    _event(peer_request=peer_request, kind=RequestEvent.Kind.EXPIRED, at=now, detail="No peer found in time")
    _text_location(
        peer_request=peer_request,
        kind=OutboundMessage.Kind.LOCATION_EXPIRED,
        body=messages.location_expired(peer_request=peer_request),
        now=now,
    )
    return True


@transaction.atomic
def expire(*, request_id: int, now: dt.datetime | None = None) -> bool:
    """An unfilled request past its expiry turns expired (and enters the follow-up queue)."""
    now = _now(now)
    peer_request = _locked(request_id)
    if peer_request is None:
        return False
    return _expire_locked(peer_request, now=now)


def _catch_up(peer_request: PeerRequest, *, now: dt.datetime) -> None:
    """Run a deadline that has passed but whose task has not run yet, before handling a reply:
    a YES after the choice time is an open-window YES, a YES after expiry finds it closed."""
    if peer_request.status == RequestStatus.COLLECTING and now >= peer_request.selection_due_at:
        _complete_selection_locked(peer_request, now=now)
    if peer_request.status == RequestStatus.OPEN and now >= peer_request.expires_at:
        _expire_locked(peer_request, now=now)


@dataclass(frozen=True)
class SweepResult:
    selected: int = 0
    expired: int = 0


def complete_due_requests(*, now: dt.datetime | None = None) -> SweepResult:
    """The sweeper: finish every request whose deadline passed, whatever happened to its tasks.

    Each request runs in its own transaction, and one failing request does not stop the others.
    """
    now = _now(now)
    selected = expired_count = 0
    due_choice = PeerRequest.objects.filter(
        status=RequestStatus.COLLECTING, selection_due_at__lte=now
    ).values_list("pk", flat=True)
    for request_id in list(due_choice.order_by("selection_due_at")[:DUE_BATCH]):
        try:
            selected += complete_selection(request_id=request_id, now=now)
        except Exception:
            logger.exception("Sweeper could not complete the choice of request %s", request_id)
    due_expiry = PeerRequest.objects.filter(status__in=ACTIVE_STATUSES, expires_at__lte=now).values_list(
        "pk", flat=True
    )
    for request_id in list(due_expiry.order_by("expires_at")[:DUE_BATCH]):
        try:
            expired_count += expire(request_id=request_id, now=now)
        except Exception:
            logger.exception("Sweeper could not expire request %s", request_id)
    return SweepResult(selected=selected, expired=expired_count)


def alert_late_joiners(*, now: dt.datetime | None = None) -> int:
    """The sweeper: while a request is collecting or open, peers who have become eligible since
    (ON, weekly hours starting, an override, a credential validated, an agency verified, an
    opt-in, an assignment ended) get its alert; returns how many peers were alerted.

    A widened request alerts its backup agencies' newly eligible peers too. Who could be alerted
    is read for all live requests at once (one eligibility query per need and county, one for
    the alerts they have); only a request with someone new is locked and alerted, in its own
    transaction, so a sweep over many live requests stays cheap. An alert per peer per
    request, ever. Off with PEERRX_ALERT_LATE_JOINERS=false.
    """
    now = _now(now)
    if not settings.PEERRX_ALERT_LATE_JOINERS:
        return 0
    live = list(
        PeerRequest.objects.filter(status__in=ACTIVE_STATUSES, expires_at__gt=now)
        .order_by("created_at")
        .values_list("pk", "need", "location__county_id", "widened_at")[:DUE_BATCH]
    )
    if not live:
        return 0
    eligible: dict[tuple, set[int]] = {}
    free = Peer.objects.exclude(pk__in=busy_peer_ids())
    for _pk, need, county_id, widened_at in live:
        for backup in (False, True) if widened_at is not None else (False,):
            if (need, county_id, backup) not in eligible:
                found = eligible_peers(need=need, county=county_id, at=now, backup=backup, queryset=free)
                eligible[(need, county_id, backup)] = set(found.values_list("pk", flat=True))
    alerted: dict[int, set[int]] = {}
    for request_id, peer_id in Alert.objects.filter(request_id__in=[row[0] for row in live]).values_list(
        "request_id", "peer_id"
    ):
        alerted.setdefault(request_id, set()).add(peer_id)
    count = 0
    for request_id, need, county_id, widened_at in live:
        backups = (False, True) if widened_at is not None else (False,)
        if not any(
            eligible[(need, county_id, backup)] - alerted.get(request_id, set()) for backup in backups
        ):
            continue
        try:
            count += _alert_late_joiners_of(request_id, now=now)
        except Exception:
            logger.exception("Sweeper could not alert late joiners for request %s", request_id)
    return count


@transaction.atomic
def _alert_late_joiners_of(request_id: int, *, now: dt.datetime) -> int:
    peer_request = _locked(request_id)
    if peer_request is None or peer_request.status not in ACTIVE_STATUSES:
        return 0
    late = _alert(peer_request=peer_request, wave=Alert.Wave.LATE, now=now)
    if peer_request.widened_at is not None:
        late += _alert(peer_request=peer_request, wave=Alert.Wave.WIDENED, now=now, backup=True)
    if late:
        _event(
            peer_request=peer_request,
            kind=RequestEvent.Kind.LATE_ALERTS,
            at=now,
            detail=f"Alerted {len(late)} peers who became available",
        )
        if peer_request.urgent_since is not None:
            PeerRequest.objects.filter(pk=peer_request.pk).update(urgent_since=None)
    return len(late)


def send_reminders(*, now: dt.datetime | None = None) -> int:
    """The sweeper: one reminder to each peer who has not replied ``PEERRX_REMINDER_SECONDS``
    after their alert, while its request is collecting or open; returns how many were sent.

    Never after a reply, never twice (``reminded_at`` is set by a conditional update), never
    once the request has closed, and never to a peer who can no longer be alerted for it.
    """
    now = _now(now)
    if not settings.PEERRX_REMINDER_SECONDS:
        return 0
    due = now - dt.timedelta(seconds=settings.PEERRX_REMINDER_SECONDS)
    request_ids = (
        Alert.objects.filter(
            response=Alert.Response.NONE,
            reminded_at__isnull=True,
            created_at__lte=due,
            request__status__in=ACTIVE_STATUSES,
            request__expires_at__gt=now,
        )
        .order_by()
        .values_list("request_id", flat=True)
        .distinct()
    )
    sent = 0
    for request_id in list(request_ids[:DUE_BATCH]):
        try:
            with transaction.atomic():
                peer_request = _locked(request_id)
                if peer_request is None or peer_request.status not in ACTIVE_STATUSES:
                    continue
                silent = list(
                    Alert.objects.filter(
                        request=peer_request,
                        response=Alert.Response.NONE,
                        reminded_at__isnull=True,
                        created_at__lte=due,
                        peer__is_active=True,
                        peer__opted_out_at__isnull=True,
                        peer__phone_flagged_at__isnull=True,
                    )
                    .exclude(peer_id__in=busy_peer_ids())
                    .select_related("peer")
                    .order_by("-prescore", "pk")
                )
                if not silent:
                    continue
                Alert.objects.filter(pk__in=[alert.pk for alert in silent], reminded_at__isnull=True).update(
                    reminded_at=now
                )
                _text_peers(
                    alerts=silent,
                    body=messages.reminder(peer_request=peer_request),
                    kind=OutboundMessage.Kind.REMINDER,
                    peer_request=peer_request,
                    valid_until=peer_request.expires_at,
                    now=now,
                )
                _event(
                    peer_request=peer_request,
                    kind=RequestEvent.Kind.REMINDED,
                    at=now,
                    detail=f"Reminded {len(silent)} peers who had not replied",
                )
                sent += len(silent)
        except Exception:
            logger.exception("Sweeper could not send the reminders of request %s", request_id)
    return sent


def end_assignments(*, now: dt.datetime | None = None) -> int:
    """The sweeper: an encounter still open ``PEERRX_ASSIGNMENT_HOURS`` after assignment is closed
    automatically (recorded as such, so reports tell it apart), and its peer can be alerted
    again; returns how many."""
    now = _now(now)
    cutoff = now - dt.timedelta(hours=settings.PEERRX_ASSIGNMENT_HOURS)
    ended = 0
    for request_id in list(
        live_assignments()
        .filter(assigned_at__lte=cutoff)
        .order_by("assigned_at")
        .values_list("pk", flat=True)[:DUE_BATCH]
    ):
        peer_request = PeerRequest.objects.get(pk=request_id)
        ended += (
            record_finished(peer_request=peer_request, how=PeerRequest.FinishedHow.AUTOMATIC, now=now)
            == EncounterOutcomeRecorded.FINISHED
        )
    return ended


# --- replies ------------------------------------------------------------------------------------


class YesOutcome(StrEnum):
    RECORDED = "yes_recorded"  # collecting: in the running for the choice
    RANKED = "yes_ranked"  # received before the choice but handled after it: ranked at the choice
    ALREADY_RECORDED = "yes_already_recorded"
    ASSIGNED = "assigned"  # open: the first YES wins
    ALREADY_ASSIGNED = "already_assigned_to_you"
    FILLED = "filled"  # someone else has it; the YES still counts for the record
    CLOSED = "closed"  # expired, cancelled, or this peer withdrew
    BUSY = "busy"  # the peer is on another live assignment


class NoOutcome(StrEnum):
    RECORDED = "no_recorded"
    ASSIGNED_TO_YOU = "no_but_assigned"  # the assigned peer must CANCEL <code> instead
    CLOSED = "closed"


class WithdrawOutcome(StrEnum):
    REASSIGNED = "withdrawn_reassigned"
    REOPENED = "withdrawn_reopened"
    EXPIRED = "withdrawn_expired"
    NOT_ASSIGNED = "not_assigned"


@transaction.atomic
def record_yes(
    *, alert: Alert, now: dt.datetime | None = None, received_at: dt.datetime | None = None
) -> YesOutcome:
    """A peer's YES to their alert, received at ``received_at`` (default ``now``), handled ``now``.

    The request row is locked first, so the YES and the choice never interleave: a YES is
    either seen by the choice or arrives after it (and then wins an open request, or is
    told it is filled). A YES counts by when Peer-RX received it: one received before the
    choice time is ranked at the choice even if a worker gets to it later, and in an open
    request the first YES received wins (earlier replies still waiting for a worker are
    handled first). Twenty simultaneous YES in the open window queue on that lock and
    exactly one is assigned. A peer busy on another live assignment is not assigned.
    """
    now = _now(now)
    received_at = received_at or now
    peer_request = _locked(alert.request_id)
    alert = Alert.objects.select_related("peer__agency").get(pk=alert.pk)
    in_time_for_choice = (
        peer_request.status == RequestStatus.COLLECTING and received_at < peer_request.selection_due_at
    )
    if not in_time_for_choice:
        _catch_up(peer_request, now=now)
        alert.refresh_from_db()
    if alert.withdrawn_at is not None or peer_request.status in CLOSED_STATUSES:
        return YesOutcome.CLOSED
    if alert.is_assigned:
        return YesOutcome.ALREADY_ASSIGNED
    if peer_request.status in ACTIVE_STATUSES and busy_elsewhere(peer=alert.peer, peer_request=peer_request):
        return YesOutcome.BUSY
    first_yes = alert.response != Alert.Response.YES
    if first_yes:
        Alert.objects.filter(pk=alert.pk).update(
            response=Alert.Response.YES, responded_at=received_at, decline_reason=""
        )
        alert.response, alert.responded_at, alert.decline_reason = Alert.Response.YES, received_at, ""
        _event(peer_request=peer_request, kind=RequestEvent.Kind.REPLY_YES, at=received_at, peer=alert.peer)
    if in_time_for_choice and now >= peer_request.selection_due_at and peer_request.pk not in _choosing.get():
        # Handled after the choice time: the choice runs now, with this YES among the ranked.
        _catch_up(peer_request, now=now)
        return YesOutcome.RANKED
    if peer_request.status == RequestStatus.COLLECTING:
        return YesOutcome.RECORDED if first_yes else YesOutcome.ALREADY_RECORDED
    if peer_request.status == RequestStatus.OPEN:
        _handle_earlier_replies(peer_request, before=received_at, now=now)
        peer_request.refresh_from_db()
        if peer_request.status != RequestStatus.OPEN:
            return YesOutcome.FILLED
        assigned = _assign(
            peer_request=peer_request,
            alert=alert,
            reason=OPEN_WINDOW_REASON,
            from_statuses=[RequestStatus.OPEN],
            now=now,
        )
        return YesOutcome.ASSIGNED if assigned else YesOutcome.FILLED
    return YesOutcome.FILLED


@transaction.atomic
def record_no(
    *, alert: Alert, reason: str = "", now: dt.datetime | None = None, received_at: dt.datetime | None = None
) -> NoOutcome:
    """A peer's NO (a YES before the choice can still become a NO), with an optional reason;
    it counts from ``received_at`` (default ``now``) as a YES does."""
    now = _now(now)
    received_at = received_at or now
    peer_request = _locked(alert.request_id)
    if not (peer_request.status == RequestStatus.COLLECTING and received_at < peer_request.selection_due_at):
        _catch_up(peer_request, now=now)
    alert = Alert.objects.select_related("peer").get(pk=alert.pk)
    if alert.is_assigned:
        return NoOutcome.ASSIGNED_TO_YOU
    if alert.withdrawn_at is not None or peer_request.status in CLOSED_STATUSES:
        return NoOutcome.CLOSED
    changed = alert.response != Alert.Response.NO or (reason and reason != alert.decline_reason)
    if changed:
        Alert.objects.filter(pk=alert.pk).update(
            response=Alert.Response.NO,
            responded_at=received_at,
            decline_reason=reason or alert.decline_reason,
        )
    if alert.response != Alert.Response.NO:
        _event(
            peer_request=peer_request,
            kind=RequestEvent.Kind.REPLY_NO,
            at=received_at,
            peer=alert.peer,
            detail=Alert.DeclineReason(reason).label if reason else "",
        )
    return NoOutcome.RECORDED


def record_decline_reason(*, alert: Alert, reason: str) -> bool:
    """The answer to the NO menu; only the first answer is kept."""
    return bool(
        Alert.objects.filter(pk=alert.pk, response=Alert.Response.NO, decline_reason="").update(
            decline_reason=reason
        )
    )


@transaction.atomic
def withdraw(*, alert: Alert, now: dt.datetime | None = None) -> WithdrawOutcome:
    """The assigned peer texts CANCEL <code> before arriving: the next-best YES is assigned, else
    the request reopens to the first YES until its expiry (or expires at once if that has passed)."""
    now = _now(now)
    peer_request = _locked(alert.request_id)
    alert = Alert.objects.select_related("peer__agency").get(pk=alert.pk)
    if (
        peer_request.status != RequestStatus.ASSIGNED
        or peer_request.assigned_peer_id != alert.peer_id
        or peer_request.arrived_at is not None
    ):
        return WithdrawOutcome.NOT_ASSIGNED
    return _replace_assigned(
        peer_request,
        alert=alert,
        now=now,
        actor=None,
        kind=RequestEvent.Kind.WITHDRAWN,
        audit=("request.withdrawn", f"{alert.peer.full_name} withdrew by SMS"),
        reason_prefix="Next best after a withdrawal: ",
    )


@transaction.atomic
def peer_has_not_come(
    *, peer_request: PeerRequest, actor: User | None, now: dt.datetime | None = None
) -> WithdrawOutcome:
    """Location staff say the assigned peer has not come: the next-best YES is assigned, else the
    request reopens (a person decided; nothing is reassigned without one). Raises DispatchError
    when no peer is on the way to this request."""
    now = _now(now)
    locked = _locked(peer_request.pk)
    if locked is None or locked.status != RequestStatus.ASSIGNED or locked.arrived_at is not None:
        raise DispatchError("No peer is on the way to this request.")
    alert = Alert.objects.select_related("peer__agency").get(request=locked, is_assigned=True)
    return _replace_assigned(
        locked,
        alert=alert,
        now=now,
        actor=actor,
        kind=RequestEvent.Kind.NOT_COME,
        audit=("request.peer_not_come", f"{alert.peer.full_name} had not come"),
        reason_prefix="Next best after the peer had not come: ",
    )


def _replace_assigned(
    peer_request: PeerRequest,
    *,
    alert: Alert,
    now: dt.datetime,
    actor: User | None,
    kind: str,
    audit: tuple[str, str],
    reason_prefix: str,
) -> WithdrawOutcome:
    """The assigned peer is no longer coming: take them off (their YES no longer counts) and assign
    the next best, or reopen. The caller holds the request's lock."""
    if not Alert.objects.filter(pk=alert.pk, is_assigned=True).update(is_assigned=False, withdrawn_at=now):
        return WithdrawOutcome.NOT_ASSIGNED
    previous_peer = alert.peer
    _event(peer_request=peer_request, kind=kind, at=now, peer=previous_peer, actor=actor)
    record_audit(actor=actor, action=audit[0], target=peer_request, detail=audit[1], at=now)
    ranked = _store_ranking(peer_request=peer_request, now=now)
    if ranked and _assign_best(
        peer_request,
        ranked=ranked,
        from_statuses=[RequestStatus.ASSIGNED],
        now=now,
        reason_prefix=reason_prefix,
        previous_peer=previous_peer,
    ):
        return WithdrawOutcome.REASSIGNED
    _move(
        peer_request,
        from_statuses=[RequestStatus.ASSIGNED],
        status=RequestStatus.OPEN,
        assigned_peer=None,
        assigned_at=None,
        assignment_reason="",
        **ENCOUNTER_RESET,
    )
    _event(peer_request=peer_request, kind=RequestEvent.Kind.REOPENED, at=now)
    if _expire_locked(peer_request, now=now):
        return WithdrawOutcome.EXPIRED
    _text_location(
        peer_request=peer_request,
        kind=OutboundMessage.Kind.LOCATION_REOPENED,
        body=messages.location_reopened(peer_request=peer_request, previous_peer=previous_peer),
        now=now,
    )
    return WithdrawOutcome.REOPENED


# --- the encounter: on the way, arrived, finished, its outcome -------------------------------------


class EncounterOutcomeRecorded(StrEnum):
    ON_THE_WAY = "on_the_way"
    ETA_UPDATED = "eta_updated"
    ARRIVED = "arrived"
    FINISHED = "finished"
    ALREADY = "already"  # this stage was recorded before (by the peer or the location)
    NOT_ASSIGNED = "not_assigned"  # not this peer's live assignment, or it is over


def _live_encounter(peer_request: PeerRequest | None, *, peer: Peer | None) -> bool:
    return (
        peer_request is not None
        and peer_request.status == RequestStatus.ASSIGNED
        and peer_request.finished_at is None
        and (peer is None or peer_request.assigned_peer_id == peer.pk)
    )


@transaction.atomic
def record_on_the_way(
    *, peer_request: PeerRequest, peer: Peer, minutes: int | None = None, now: dt.datetime | None = None
) -> EncounterOutcomeRecorded:
    """OMW [minutes]: the assigned peer is on the way, arriving in about ``minutes``; the location
    is told ("Linda Reyes is on the way, about 20 min"). A second OMW only updates the ETA."""
    now = _now(now)
    locked = _locked(peer_request.pk)
    if not _live_encounter(locked, peer=peer):
        return EncounterOutcomeRecorded.NOT_ASSIGNED
    if locked.arrived_at is not None:
        return EncounterOutcomeRecorded.ALREADY
    eta = now + dt.timedelta(minutes=minutes) if minutes else None
    first = locked.on_way_at is None
    if not first and eta is None:
        return EncounterOutcomeRecorded.ALREADY
    changes = {"eta_at": eta} if not first else {"on_way_at": now, "eta_at": eta}
    PeerRequest.objects.filter(pk=locked.pk).update(**changes)
    for field, value in changes.items():
        setattr(locked, field, value)
    _event(
        peer_request=locked,
        kind=RequestEvent.Kind.ON_THE_WAY,
        at=now,
        peer=peer,
        detail=f"about {minutes} min" if minutes else "",
    )
    _text_location(
        peer_request=locked,
        kind=OutboundMessage.Kind.LOCATION_ON_THE_WAY,
        body=messages.location_on_the_way(peer_request=locked, peer=peer, minutes=minutes),
        now=now,
    )
    return EncounterOutcomeRecorded.ON_THE_WAY if first else EncounterOutcomeRecorded.ETA_UPDATED


@transaction.atomic
def record_arrival(
    *,
    peer_request: PeerRequest,
    actor: User | None = None,
    peer: Peer | None = None,
    now: dt.datetime | None = None,
) -> EncounterOutcomeRecorded:
    """The peer is at the patient's side: HERE from the peer, or "Peer arrived" from location staff
    (``actor``). Recorded once, whoever is first (a conditional update)."""
    now = _now(now)
    locked = _locked(peer_request.pk)
    if not _live_encounter(locked, peer=peer):
        return EncounterOutcomeRecorded.NOT_ASSIGNED
    by = actor if actor is not None and actor.is_authenticated else None
    if not PeerRequest.objects.filter(pk=locked.pk, arrived_at__isnull=True).update(
        arrived_at=now, arrived_by=by
    ):
        return EncounterOutcomeRecorded.ALREADY
    locked.arrived_at, locked.arrived_by = now, by
    _event(
        peer_request=locked,
        kind=RequestEvent.Kind.ARRIVED,
        at=now,
        actor=by,
        peer=locked.assigned_peer,
        detail="marked by the location" if by else "texted HERE",
    )
    return EncounterOutcomeRecorded.ARRIVED


@transaction.atomic
def record_finished(
    *,
    peer_request: PeerRequest,
    actor: User | None = None,
    peer: Peer | None = None,
    how: str = PeerRequest.FinishedHow.PEER,
    now: dt.datetime | None = None,
) -> EncounterOutcomeRecorded:
    """The encounter is over: DONE from the peer, "Encounter finished" from location staff, or the
    sweeper's automatic close. The peer is free again, and gets the outcome menu (not after an
    automatic close: nobody said it took place)."""
    now = _now(now)
    locked = _locked(peer_request.pk)
    if not _live_encounter(locked, peer=peer):
        return EncounterOutcomeRecorded.NOT_ASSIGNED
    by = actor if actor is not None and actor.is_authenticated else None
    finished = PeerRequest.objects.filter(pk=locked.pk, finished_at__isnull=True).update(
        finished_at=now, finished_by=by, finished_how=how, assignment_ended_at=now
    )
    if not finished:
        return EncounterOutcomeRecorded.ALREADY
    locked.finished_at, locked.finished_how, locked.assignment_ended_at = now, how, now
    assigned = Peer.objects.get(pk=locked.assigned_peer_id)
    detail = PeerRequest.FinishedHow(how).label
    if how == PeerRequest.FinishedHow.AUTOMATIC:
        detail = f"Closed automatically {settings.PEERRX_ASSIGNMENT_HOURS:g} h after assignment"
    _event(
        peer_request=locked, kind=RequestEvent.Kind.FINISHED, at=now, actor=by, peer=assigned, detail=detail
    )
    if how != PeerRequest.FinishedHow.AUTOMATIC:
        _text_peer(
            peer=assigned,
            body=messages.outcome_menu(peer_request=locked),
            kind=OutboundMessage.Kind.OUTCOME_MENU,
            peer_request=locked,
            alert=None,
            now=now,
        )
    return EncounterOutcomeRecorded.FINISHED


@transaction.atomic
def record_outcome(
    *,
    peer_request: PeerRequest,
    outcome: str,
    naloxone_kit_given: bool | None,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> PeerRequest:
    """How a finished encounter ended (codes only), texted by the peer or set or corrected by a
    supervisor (``actor``). Raises DispatchError for an unfinished encounter or an unknown code."""
    now = _now(now)
    if outcome not in EncounterOutcome.values:
        raise DispatchError("Choose how the encounter ended.")
    locked = _locked(peer_request.pk)
    if (
        locked is None
        or locked.finished_at is None
        or (locked.finished_how == PeerRequest.FinishedHow.AUTOMATIC and actor is None)
    ):
        raise DispatchError("This encounter has not finished.")
    by = actor if actor is not None and actor.is_authenticated else None
    PeerRequest.objects.filter(pk=locked.pk).update(
        encounter_outcome=outcome,
        naloxone_kit_given=naloxone_kit_given,
        outcome_recorded_at=now,
        outcome_recorded_by=by,
    )
    kit = {True: "naloxone kit given", False: "no naloxone kit", None: "naloxone kit not said"}[
        naloxone_kit_given
    ]
    _event(
        peer_request=locked,
        kind=RequestEvent.Kind.OUTCOME,
        at=now,
        actor=by,
        detail=f"{EncounterOutcome(outcome).label}; {kit}",
    )
    if by is not None:
        record_audit(
            actor=by, action="request.outcome", target=locked, detail=EncounterOutcome(outcome).label, at=now
        )
    locked.refresh_from_db()
    return locked


def watch_encounters(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The sweeper's watch over assigned peers: one reminder to text OMW after PEERRX_ACK_SECONDS;
    after twice that, the location and the agency's supervisors are told; and if the peer has
    not arrived by the ETA plus PEERRX_ARRIVAL_GRACE_SECONDS (an hour after assignment without
    an ETA) they are told too. Nothing is reassigned without a person deciding. Each step once
    (conditional updates); returns how many of each."""
    now = _now(now)
    ack = dt.timedelta(seconds=settings.PEERRX_ACK_SECONDS)
    grace = dt.timedelta(seconds=settings.PEERRX_ARRIVAL_GRACE_SECONDS)
    watched = (
        live_assignments()
        .filter(finished_at__isnull=True, arrived_at__isnull=True)
        .select_related("assigned_peer__agency", "location")
    )
    silent = watched.filter(on_way_at__isnull=True)
    late = watched.filter(late_told_at__isnull=True).filter(
        Q(eta_at__isnull=False, eta_at__lte=now - grace)
        | Q(eta_at__isnull=True, assigned_at__lte=now - ARRIVAL_WITHOUT_ETA)
    )

    def remind(peer_request: PeerRequest) -> None:
        _event(
            peer_request=peer_request,
            kind=RequestEvent.Kind.ACK_REMINDED,
            at=now,
            peer=peer_request.assigned_peer,
        )
        _text_peer(
            peer=peer_request.assigned_peer,
            body=messages.ack_reminder(peer_request=peer_request),
            kind=OutboundMessage.Kind.ACK_REMINDER,
            peer_request=peer_request,
            alert=None,
            now=now,
        )

    def tell(kind: str, sms_kind: str, render) -> Callable[[PeerRequest], None]:
        def act(peer_request: PeerRequest) -> None:
            body = render(peer_request=peer_request, peer=peer_request.assigned_peer)
            _tell_about(peer_request, kind=kind, sms_kind=sms_kind, body=body, now=now)

        return act

    tell_no_ack = tell(
        RequestEvent.Kind.ACK_MISSING, OutboundMessage.Kind.LOCATION_ACK_MISSING, messages.location_no_ack
    )
    tell_late = tell(
        RequestEvent.Kind.LATE_ARRIVAL, OutboundMessage.Kind.LOCATION_LATE, messages.location_late
    )

    steps = (
        (
            "reminded",
            "ack_reminded_at",
            silent.filter(ack_reminded_at__isnull=True, assigned_at__lte=now - ack),
            remind,
        ),
        (
            "told_no_ack",
            "ack_escalated_at",
            silent.filter(ack_escalated_at__isnull=True, assigned_at__lte=now - 2 * ack),
            tell_no_ack,
        ),
        ("told_late", "late_told_at", late, tell_late),
    )
    done = {}
    for name, mark, due, act in steps:
        done[name] = sum(
            _once(peer_request, mark=mark, now=now, act=act) for peer_request in list(due[:DUE_BATCH])
        )
    return done


def _once(peer_request: PeerRequest, *, mark: str, now: dt.datetime, act) -> bool:
    """Set the ``mark`` timestamp if it is still empty and then ``act``, in one transaction: a
    sweep racing another does it once, and a failure leaves the mark unset for the next sweep."""
    with transaction.atomic():
        if not PeerRequest.objects.filter(pk=peer_request.pk, **{f"{mark}__isnull": True}).update(
            **{mark: now}
        ):
            return False
        act(peer_request)
    return True


def _tell_about(peer_request: PeerRequest, *, kind: str, sms_kind: str, body: str, now: dt.datetime) -> None:
    """A timeline event, a text to the location, and a mail to the assigned peer's agency supervisors."""
    _event(peer_request=peer_request, kind=kind, at=now, peer=peer_request.assigned_peer)
    _text_location(peer_request=peer_request, kind=sms_kind, body=body, now=now)
    notify_supervisors(
        agency=peer_request.assigned_peer.agency,
        subject=f"Peer-RX request {peer_request.code}: {RequestEvent.Kind(kind).label}",
        body=messages.supervisor_notice(
            peer_request=peer_request, peer=peer_request.assigned_peer, what=RequestEvent.Kind(kind).label
        ),
    )


def set_availability_by_sms(*, peer: Peer, is_available: bool, hours: int, now: dt.datetime | None = None):
    """ON / OFF [hours]: an override from now for ``hours``."""
    now = _now(now)
    return set_availability_override(
        peer=peer,
        is_available=is_available,
        starts_at=now,
        ends_at=now + dt.timedelta(hours=hours),
        reason=f"{'ON' if is_available else 'OFF'} by SMS for {hours} h",
        source=AvailabilityOverride.Source.SMS,
    )


# --- the location's and staff's actions ------------------------------------------------------


@transaction.atomic
def cancel_request(
    *, peer_request: PeerRequest, actor: User | None, now: dt.datetime | None = None
) -> PeerRequest:
    """The location (or Peer-RX staff) no longer needs a peer; YES responders are told."""
    now = _now(now)
    locked = _locked(peer_request.pk)
    if locked is None or not _move(
        locked, from_statuses=ACTIVE_STATUSES, status=RequestStatus.CANCELLED, closed_at=now
    ):
        raise DispatchError("This request can no longer be cancelled.")
    _event(peer_request=locked, kind=RequestEvent.Kind.CANCELLED, at=now, actor=actor)
    record_audit(actor=actor, action="request.cancelled", target=locked, at=now)
    responders = Alert.objects.filter(
        request=locked, response=Alert.Response.YES, withdrawn_at__isnull=True
    ).select_related("peer")
    _text_peers(
        alerts=responders,
        body=messages.cancelled_by_location(peer_request=locked),
        kind=OutboundMessage.Kind.CANCELLED,
        peer_request=locked,
        now=now,
    )
    return locked


@transaction.atomic
def resubmit(*, peer_request: PeerRequest, actor: User | None, now: dt.datetime | None = None) -> PeerRequest:
    """A new request with the expired one's answers, linked to it; resubmitting twice gives
    back the same new request."""
    now = _now(now)
    old = _locked(peer_request.pk)
    if old is None or old.status != RequestStatus.EXPIRED:
        raise DispatchError("Only an expired request can be resubmitted.")
    existing = PeerRequest.objects.filter(resubmitted_from=old).first()
    if existing is not None:
        return existing
    new = submit_request(
        location=old.location,
        need=old.need,
        callback_contact=old.callback_contact,
        age_range=old.age_range,
        gender=old.gender,
        languages=list(old.languages.all()),
        actor=actor,
        resubmitted_from=old,
        now=now,
    )
    _event(
        peer_request=old,
        kind=RequestEvent.Kind.RESUBMITTED,
        at=now,
        actor=actor,
        detail=f"New request {new.code}",
    )
    return new


@transaction.atomic
def record_follow_up(
    *,
    peer_request: PeerRequest,
    actor: User,
    outcome: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> PeerRequest:
    """Peer-RX staff followed up an expired request, or a live one nobody could be alerted for:
    outcome, note, who and when."""
    now = _now(now)
    if outcome not in PeerRequest.FollowUpOutcome.values:
        raise DispatchError("Choose an outcome.")
    waiting = Q(status=RequestStatus.EXPIRED) | Q(status__in=ACTIVE_STATUSES, urgent_since__isnull=False)
    updated = PeerRequest.objects.filter(waiting, pk=peer_request.pk, followed_up_at__isnull=True).update(
        followed_up_at=now, followed_up_by=actor, follow_up_outcome=outcome, follow_up_note=note.strip()
    )
    if not updated:
        raise DispatchError("This request is not waiting for a follow-up.")
    peer_request.refresh_from_db()
    label = PeerRequest.FollowUpOutcome(outcome).label
    _event(
        peer_request=peer_request,
        kind=RequestEvent.Kind.FOLLOWED_UP,
        at=now,
        actor=actor,
        detail=f"{label}: {note.strip()}" if note.strip() else label,
    )
    record_audit(actor=actor, action="request.followed_up", target=peer_request, detail=label, at=now)
    return peer_request
