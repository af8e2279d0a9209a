"""Request pages: submit, list, the live request page, cancel and resubmit.

Location staff see their location's requests and Peer-RX staff see all; a request of
another location is simply not in the viewer's queryset (404).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.permissions import location_member_or_staff_required, location_member_required, staff_required
from core.choices import Need
from peer_requests import selectors, services
from peer_requests.forms import PRIVACY_NOTE, RequestForm, StaffRequestForm
from peer_requests.models import ACTIVE_STATUSES, PeerRequest, RequestEvent, RequestStatus
from peer_requests.services import DispatchError
from sms import selectors as sms_selectors

PAGE_SIZE = 50
POLL_SECONDS = 2
LIST_POLL_SECONDS = 5
# htmx stops polling on this status (and still swaps the content in): nothing there changes any more.
STOP_POLLING = 286


def request_viewer_required(view: Callable) -> Callable:
    """Location staff of a verified location (its requests) or Peer-RX staff (all); others get 403."""

    @location_member_or_staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        request.visible_requests = selectors.visible_requests(user=request.user)
        return view(request, *args, **kwargs)

    return wrapper


def _get_visible(request: HttpRequest, pk: int) -> PeerRequest:
    peer_request = selectors.request_detail(queryset=request.visible_requests, pk=pk)
    if peer_request is None:
        raise Http404("No such request.")
    return peer_request


def _submit(request: HttpRequest, form: RequestForm, location) -> HttpResponse | None:
    data = form.cleaned_data
    try:
        peer_request = services.submit_request(
            location=location,
            need=data["need"],
            age_range=data["age_range"],
            gender=data["gender"],
            languages=data["languages"],
            callback_contact=data["callback_contact"],
            actor=request.user,
        )
    except DispatchError as exc:
        form.add_error(None, str(exc))
        return None
    messages.success(request, f"Request {peer_request.code} sent. This page updates by itself.")
    return redirect("peer_requests:detail", pk=peer_request.pk)


@location_member_required(verified=True)
def request_create(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None, common_languages=selectors.most_requested_languages())
    if request.method == "POST" and form.is_valid():
        response = _submit(request, form, request.location)
        if response is not None:
            return response
    return render(
        request,
        "peer_requests/form.html",
        {
            "form": form,
            "privacy_note": PRIVACY_NOTE,
            "location": request.location,
            "available": _available(request.location),
        },
    )


def _available(location) -> list[tuple[str, int]]:
    """Peers who could be alerted now, per kind of support (counts only: no names)."""
    counts = selectors.available_counts(location=location, at=timezone.now())
    return [(label, counts[need]) for need, label in Need.choices]


@staff_required
def staff_request_create(request: HttpRequest) -> HttpResponse:
    form = StaffRequestForm(request.POST or None, common_languages=selectors.most_requested_languages())
    if request.method == "POST" and form.is_valid():
        response = _submit(request, form, form.cleaned_data["location"])
        if response is not None:
            return response
    return render(
        request, "peer_requests/form.html", {"form": form, "privacy_note": PRIVACY_NOTE, "on_behalf": True}
    )


@request_viewer_required
def request_list(request: HttpRequest) -> HttpResponse:
    """The requests, newest first; while any request on the page is still under way the table
    polls itself (an htmx request gets the table alone, and stops polling once none is)."""
    status = request.GET.get("status", "")
    if status not in selectors.STATUS_FILTERS:
        status = ""
    page = Paginator(
        selectors.request_list(queryset=request.visible_requests, status=status), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    polling = any(selectors.is_under_way(row) for row in page.object_list)
    context = {
        "page": page,
        "status": status,
        "filters": [(key, label) for key, (label, _statuses) in selectors.STATUS_FILTERS.items()],
        "show_location": request.user.is_staff,
        "polling": polling,
        "poll_seconds": LIST_POLL_SECONDS,
    }
    if request.htmx:
        return render(
            request, "peer_requests/_list_table.html", context, status=200 if polling else STOP_POLLING
        )
    return render(request, "peer_requests/list.html", context)


@location_member_required(verified=False)
def location_home(request: HttpRequest) -> HttpResponse:
    """The location's start page: one primary action, its live requests and its recent ones.

    Served here rather than by ``locations`` (a floor below) because it lists requests; the URL
    stays ``locations:home``. A pending or suspended location sees its status and the link to its
    details, nothing else."""
    location = request.location
    live, recent = selectors.start_page_requests(location=location) if location.is_verified else ([], [])
    context = {
        "location": location,
        "live": live,
        "recent": recent,
        "polling": bool(live),
        "poll_seconds": LIST_POLL_SECONDS,
    }
    if request.htmx:
        return render(
            request, "peer_requests/_start_requests.html", context, status=200 if live else STOP_POLLING
        )
    return render(request, "locations/home.html", context)


def _clock(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


# Timeline events whose peer location staff may see named: the assigned peer's own steps. Replies,
# failed texts and the like name peers of other agencies, so location staff see them unnamed.
NAMED_FOR_LOCATION = frozenset(
    {
        RequestEvent.Kind.ASSIGNED,
        RequestEvent.Kind.WITHDRAWN,
        RequestEvent.Kind.NOT_COME,
        RequestEvent.Kind.ON_THE_WAY,
        RequestEvent.Kind.ARRIVED,
        RequestEvent.Kind.FINISHED,
        RequestEvent.Kind.OUTCOME,
        RequestEvent.Kind.ACK_REMINDED,
        RequestEvent.Kind.ACK_MISSING,
        RequestEvent.Kind.LATE_ARRIVAL,
    }
)
# Events whose detail is for Peer-RX staff only: a failed text's detail has the number and the
# provider's error.
DETAIL_FOR_STAFF_ONLY = frozenset({RequestEvent.Kind.SMS_FAILED})


@dataclass(frozen=True)
class TimelineRow:
    at: object
    label: str
    peer: str
    detail: str
    actor: object


def _timeline_rows(events: list[RequestEvent], *, is_staff: bool) -> list[TimelineRow]:
    return [
        TimelineRow(
            at=event.at,
            label=event.get_kind_display(),
            peer=event.peer.full_name
            if event.peer is not None and (is_staff or event.kind in NAMED_FOR_LOCATION)
            else "",
            detail=event.detail if is_staff or event.kind not in DETAIL_FOR_STAFF_ONLY else "",
            actor=event.actor,
        )
        for event in events
    ]


def _headline(peer_request: PeerRequest, *, nobody_alerted: bool, replacement) -> str:
    """The one sentence the page's live region holds: it changes only when the state does."""
    status = peer_request.status
    if status in ACTIVE_STATUSES:
        if replacement is not None and not replacement.replaced:
            return f"{replacement.first_name} can no longer come — looking for another peer."
        if nobody_alerted:
            return "No peer is available right now."
        if status == RequestStatus.COLLECTING:
            return "Looking for a peer. Peers are replying to the alerts."
        return "No peer assigned yet: the first peer to say YES is assigned."
    if status == RequestStatus.ASSIGNED:
        peer = peer_request.assigned_peer
        before = (
            f"{replacement.first_name} can no longer come. "
            if replacement is not None and replacement.replaced
            else ""
        )
        stage = peer_request.stage
        if stage == "finished":
            return f"{before}{peer.full_name}: encounter finished."
        if stage == "arrived":
            return f"{before}{peer.full_name} has arrived."
        if stage == "on_the_way":
            return f"{before}{peer.full_name} is on the way."
        return f"{before}{peer.full_name} is assigned."
    if status == RequestStatus.EXPIRED:
        return "Expired: no peer was found in time."
    return "Cancelled."


def _live_context(peer_request: PeerRequest, *, user) -> dict:
    now = timezone.now()
    is_staff = user.is_staff
    active = peer_request.status in ACTIVE_STATUSES
    # An assignment keeps changing until its encounter is finished: on the way, arrived, done.
    under_way = peer_request.status == RequestStatus.ASSIGNED and peer_request.finished_at is None
    seconds_to_choice = max(0, int((peer_request.selection_due_at - now).total_seconds()))
    seconds_to_expiry = max(0, int((peer_request.expires_at - now).total_seconds()))
    progress = selectors.request_progress(peer_request=peer_request)
    events = list(selectors.timeline(peer_request=peer_request))
    responders = list(selectors.responders(peer_request=peer_request))
    assigned_alert = next((alert for alert in responders if alert.is_assigned), None)
    replacement = selectors.last_replacement(events=events)
    if replacement is not None and not (
        (active and not replacement.replaced)
        or (peer_request.status == RequestStatus.ASSIGNED and replacement.replaced)
    ):
        replacement = None
    nobody_alerted = active and progress.alerts == 0
    expired = peer_request.status == RequestStatus.EXPIRED
    # Staff see which texts failed and why; location staff a count (the rest names other agencies' peers).
    failed = list(selectors.failed_messages(peer_request=peer_request)) if is_staff else []
    failed_count = len(failed) if is_staff else selectors.failed_messages(peer_request=peer_request).count()
    return {
        "peer_request": peer_request,
        "headline": _headline(peer_request, nobody_alerted=nobody_alerted, replacement=replacement),
        "replacement": replacement,
        "progress": progress,
        "nobody_alerted": nobody_alerted,
        "on_call": selectors.on_call_agencies(location=peer_request.location)
        if nobody_alerted or expired
        else [],
        "unmet": selectors.unmet_preferences(peer_request=peer_request, alert=assigned_alert)
        if peer_request.status == RequestStatus.ASSIGNED
        else [],
        "responders": responders if is_staff else [],
        "timeline": _timeline_rows(events, is_staff=is_staff),
        "failed": failed,
        "failed_count": failed_count,
        "active": active,
        # While texts cannot reach the SMS provider the nurse is told, not left guessing.
        "provider_trouble_since": sms_selectors.provider_trouble(now=now) if active else None,
        "polling": active or under_way,
        "can_mark_arrived": under_way and peer_request.arrived_at is None,
        "can_mark_finished": under_way,
        "can_report_not_come": under_way and peer_request.arrived_at is None,
        "collecting": peer_request.status == RequestStatus.COLLECTING,
        "seconds_to_choice": seconds_to_choice,
        "seconds_to_expiry": seconds_to_expiry,
        "choice_countdown": _clock(seconds_to_choice),
        "expiry_countdown": _clock(seconds_to_expiry),
        "poll_seconds": POLL_SECONDS,
        "can_cancel": active,
        "can_widen": active and peer_request.widened_at is None and is_staff,
        "can_resubmit": expired and getattr(peer_request, "resubmission", None) is None,
    }


@request_viewer_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    peer_request = _get_visible(request, pk)
    return render(request, "peer_requests/detail.html", _live_context(peer_request, user=request.user))


@request_viewer_required
def request_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the request page htmx polls every few seconds until the request is over.

    The page morphs the answer into place (idiomorph), so only what changed is touched and the
    focus stays where it was; the last answer to a poll stops the polling."""
    peer_request = _get_visible(request, pk)
    context = _live_context(peer_request, user=request.user)
    status = STOP_POLLING if request.htmx and not context["polling"] else 200
    return render(request, "peer_requests/_live.html", context, status=status)


@require_POST
@request_viewer_required
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    peer_request = _get_visible(request, pk)
    try:
        services.cancel_request(peer_request=peer_request, actor=request.user)
    except DispatchError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Request {peer_request.code} cancelled.")
    return redirect("peer_requests:detail", pk=peer_request.pk)


@require_POST
@request_viewer_required
def request_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    peer_request = _get_visible(request, pk)
    try:
        new = services.resubmit(peer_request=peer_request, actor=request.user)
    except DispatchError as exc:
        messages.error(request, str(exc))
        return redirect("peer_requests:detail", pk=peer_request.pk)
    messages.success(request, f"Resubmitted as request {new.code}.")
    return redirect("peer_requests:detail", pk=new.pk)


@require_POST
@staff_required
def request_widen(request: HttpRequest, pk: int) -> HttpResponse:
    """Peer-RX staff alert the backup agencies' peers of a live request at once."""
    peer_request = selectors.request_detail(queryset=selectors.visible_requests(user=request.user), pk=pk)
    if peer_request is None:
        raise Http404("No such request.")
    try:
        count = services.widen(peer_request=peer_request, actor=request.user)
    except DispatchError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Request {peer_request.code} widened: {count} peers of backup agencies alerted."
        )
    return redirect("peer_requests:detail", pk=peer_request.pk)


def _encounter_action(request: HttpRequest, pk: int, act: Callable[[PeerRequest], str]) -> HttpResponse:
    peer_request = _get_visible(request, pk)
    try:
        message = act(peer_request)
    except DispatchError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, message)
    return redirect("peer_requests:detail", pk=peer_request.pk)


@require_POST
@request_viewer_required
def request_arrived(request: HttpRequest, pk: int) -> HttpResponse:
    """Location staff: the peer is at the patient's side."""

    def act(peer_request: PeerRequest) -> str:
        recorded = services.record_arrival(peer_request=peer_request, actor=request.user)
        if recorded == services.EncounterOutcomeRecorded.NOT_ASSIGNED:
            raise DispatchError("No peer is assigned to this request.")
        return (
            "Arrival recorded."
            if recorded == services.EncounterOutcomeRecorded.ARRIVED
            else "The arrival was recorded already."
        )

    return _encounter_action(request, pk, act)


@require_POST
@request_viewer_required
def request_finished(request: HttpRequest, pk: int) -> HttpResponse:
    """Location staff: the encounter is over; the peer is free again."""

    def act(peer_request: PeerRequest) -> str:
        recorded = services.record_finished(
            peer_request=peer_request, actor=request.user, how=PeerRequest.FinishedHow.LOCATION
        )
        if recorded == services.EncounterOutcomeRecorded.NOT_ASSIGNED:
            raise DispatchError("No encounter is under way for this request.")
        return "Encounter finished. Thank you."

    return _encounter_action(request, pk, act)


@require_POST
@request_viewer_required
def request_not_come(request: HttpRequest, pk: int) -> HttpResponse:
    """Location staff: the assigned peer has not come; the next-best YES, or the request reopens."""

    def act(peer_request: PeerRequest) -> str:
        outcome = services.peer_has_not_come(peer_request=peer_request, actor=request.user)
        if outcome == services.WithdrawOutcome.REASSIGNED:
            return "Another peer who said YES has been assigned."
        if outcome == services.WithdrawOutcome.EXPIRED:
            return "The request has expired: resubmit it to alert peers again."
        return "The request is open again: the first peer to say YES is assigned."

    return _encounter_action(request, pk, act)
