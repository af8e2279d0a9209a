"""Reads about requests: pages (scoped by who is looking), the live progress, and the
lookups the SMS reply handling needs. Every list is a constant number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from accounts.roles import location_membership
from agencies.models import Agency
from core.choices import Need, OrganisationStatus
from locations.models import Location
from peer_requests.models import ACTIVE_STATUSES, Alert, PeerRequest, RequestEvent, RequestStatus
from peers.models import Language, Peer
from peers.selectors import eligible_peers
from sms.models import OutboundMessage, OutboundStatus

# The list page's filters: a name in the query string → the statuses it shows.
STATUS_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "active": ("Active", tuple(ACTIVE_STATUSES)),
    "assigned": ("Assigned", (RequestStatus.ASSIGNED,)),
    "expired": ("Expired", (RequestStatus.EXPIRED,)),
    "cancelled": ("Cancelled", (RequestStatus.CANCELLED,)),
}

FAILED_STATUSES = (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)


# --- scope -----------------------------------------------------------------------------------


def visible_requests(*, user) -> QuerySet[PeerRequest]:
    """Peer-RX staff see every request; location staff their location's; anyone else none."""
    if user.is_authenticated and user.is_staff:
        return PeerRequest.objects.all()
    membership = location_membership(user)
    if membership is None:
        return PeerRequest.objects.none()
    return PeerRequest.objects.filter(location_id=membership.location_id)


# --- pages ---------------------------------------------------------------------------------


def request_list(*, queryset: QuerySet[PeerRequest], status: str = "") -> QuerySet[PeerRequest]:
    """Newest first, with reply counts: one query whatever the number of rows."""
    if status in STATUS_FILTERS:
        queryset = queryset.filter(status__in=STATUS_FILTERS[status][1])
    return (
        queryset.select_related("location", "assigned_peer__agency", "resubmission", "resubmitted_from")
        .annotate(
            alert_count=Count("alerts", distinct=True),
            yes_count=Count("alerts", filter=Q(alerts__response=Alert.Response.YES), distinct=True),
        )
        .order_by("-created_at", "-id")
    )


def request_detail(*, queryset: QuerySet[PeerRequest], pk: int) -> PeerRequest | None:
    return (
        queryset.select_related(
            "location__county",
            "assigned_peer__agency",
            "created_by",
            "followed_up_by",
            "resubmitted_from",
            "resubmission",
        )
        .prefetch_related("languages")
        .filter(pk=pk)
        .first()
    )


@dataclass(frozen=True)
class RequestProgress:
    alerts: int
    delivered: int
    failed: int
    yes: int
    no: int

    @property
    def no_reply(self) -> int:
        return self.alerts - self.yes - self.no


def request_progress(*, peer_request: PeerRequest) -> RequestProgress:
    """Counts for the live page (two queries)."""
    replies = Alert.objects.filter(request=peer_request).aggregate(
        alerts=Count("pk"),
        yes=Count("pk", filter=Q(response=Alert.Response.YES)),
        no=Count("pk", filter=Q(response=Alert.Response.NO)),
    )
    texts = OutboundMessage.objects.filter(request=peer_request, kind=OutboundMessage.Kind.ALERT).aggregate(
        delivered=Count("pk", filter=Q(status=OutboundStatus.DELIVERED)),
        failed=Count("pk", filter=Q(status__in=FAILED_STATUSES)),
    )
    return RequestProgress(
        alerts=replies["alerts"],
        delivered=texts["delivered"],
        failed=texts["failed"],
        yes=replies["yes"],
        no=replies["no"],
    )


def responders(*, peer_request: PeerRequest) -> QuerySet[Alert]:
    """The YES replies, best-ranked first once the choice has ranked them."""
    return (
        Alert.objects.filter(request=peer_request, response=Alert.Response.YES)
        .select_related("peer__agency")
        .order_by(
            Case(When(rank__isnull=True, then=Value(1)), default=Value(0)), "rank", "responded_at", "pk"
        )
    )


def timeline(*, peer_request: PeerRequest) -> QuerySet[RequestEvent]:
    return (
        RequestEvent.objects.filter(request=peer_request).select_related("actor", "peer").order_by("at", "id")
    )


def failed_messages(*, peer_request: PeerRequest) -> QuerySet[OutboundMessage]:
    """Texts about this request that could not be delivered, shown on the request page."""
    return (
        OutboundMessage.objects.filter(request=peer_request, status__in=FAILED_STATUSES)
        .select_related("peer")
        .order_by("created_at", "id")
    )


def follow_up_queue() -> QuerySet[PeerRequest]:
    """What Peer-RX staff follow up: live requests nobody could be alerted for (urgent, first),
    then expired requests nobody has followed up yet, oldest first."""
    urgent = Q(status__in=ACTIVE_STATUSES, urgent_since__isnull=False)
    return (
        PeerRequest.objects.filter(urgent | Q(status=RequestStatus.EXPIRED), followed_up_at__isnull=True)
        .select_related("location", "resubmission")
        .annotate(is_urgent=Case(When(urgent, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("-is_urgent", "expires_at", "id")
    )


@dataclass(frozen=True)
class StaffCounts:
    active_requests: int
    follow_ups_due: int
    pending_locations: int
    pending_agencies: int

    @property
    def pending_organisations(self) -> int:
        return self.pending_locations + self.pending_agencies


def staff_counts() -> StaffCounts:
    """The staff home's numbers (three queries)."""
    requests = PeerRequest.objects.aggregate(
        active=Count("pk", filter=Q(status__in=ACTIVE_STATUSES)),
        follow_ups=Count(
            "pk",
            filter=(
                Q(status=RequestStatus.EXPIRED) | Q(status__in=ACTIVE_STATUSES, urgent_since__isnull=False)
            )
            & Q(followed_up_at__isnull=True),
        ),
    )
    return StaffCounts(
        active_requests=requests["active"],
        follow_ups_due=requests["follow_ups"],
        pending_locations=Location.objects.filter(status=OrganisationStatus.PENDING).count(),
        pending_agencies=Agency.objects.filter(status=OrganisationStatus.PENDING).count(),
    )


# --- SMS replies -----------------------------------------------------------------------------


def alert_for_code(*, peer: Peer, code: str) -> Alert | None:
    """The peer's alert for the request with this code.

    Codes are unique among live requests only, so an old closed request may share one: the
    live request comes first, then the one the peer is assigned to, then the newest.
    """
    return (
        Alert.objects.filter(peer=peer, request__code=code)
        .select_related("request__location__county")
        .annotate(
            priority=Case(
                When(request__status__in=ACTIVE_STATUSES, then=Value(0)),
                When(is_assigned=True, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("priority", "-request__created_at", "-pk")
        .first()
    )


def open_alerts_for_peer(*, peer: Peer) -> list[Alert]:
    """The peer's alerts whose request is still collecting or open (for a bare YES or NO)."""
    return list(
        Alert.objects.filter(peer=peer, request__status__in=ACTIVE_STATUSES, withdrawn_at__isnull=True)
        .select_related("request__location__county")
        .order_by("request__created_at", "pk")
    )


def awaiting_decline_reason(*, peer: Peer, since: dt.datetime) -> Alert | None:
    """The peer's latest NO without a reason, answered since ``since`` (the NO menu's subject)."""
    return (
        Alert.objects.filter(
            peer=peer, response=Alert.Response.NO, decline_reason="", responded_at__gte=since
        )
        .order_by("-responded_at", "-pk")
        .first()
    )


def live_assignment_of(*, peer: Peer, code: str | None = None) -> PeerRequest | None:
    """The peer's assignment under way (at most one: ``one_live_assignment_per_peer``), if its
    code is ``code`` when one is given."""
    found = live_assignments().filter(assigned_peer=peer, finished_at__isnull=True).select_related("location")
    if code is not None:
        found = found.filter(code=code)
    return found.first()


def awaiting_outcome(*, peer: Peer, since: dt.datetime) -> PeerRequest | None:
    """The peer's latest encounter finished since ``since`` whose outcome the peer has not texted
    (the DONE menu's subject); not an automatic close."""
    return (
        PeerRequest.objects.filter(
            assigned_peer=peer, finished_at__gte=since, outcome_recorded_at__isnull=True
        )
        .exclude(finished_how=PeerRequest.FinishedHow.AUTOMATIC)
        .order_by("-finished_at", "-pk")
        .first()
    )


def agency_encounters(*, agency: Agency) -> QuerySet[PeerRequest]:
    """The agency's peers' finished encounters, newest first: the scope of its encounters pages."""
    return (
        PeerRequest.objects.filter(assigned_peer__agency=agency, finished_at__isnull=False)
        .select_related("location", "assigned_peer")
        .order_by("-finished_at", "-pk")
    )


# --- dispatch -------------------------------------------------------------------------------


def live_assignments() -> QuerySet[PeerRequest]:
    """Assignments not ended yet: their peers are busy (``one_live_assignment_per_peer``)."""
    return PeerRequest.objects.filter(status=RequestStatus.ASSIGNED, assignment_ended_at__isnull=True)


def busy_elsewhere(*, peer: Peer, peer_request: PeerRequest) -> PeerRequest | None:
    """The other request the peer is assigned to and has not finished, if any."""
    return live_assignments().filter(assigned_peer=peer).exclude(pk=peer_request.pk).first()


def busy_peer_ids() -> QuerySet:
    """The peers on a live assignment, as a subquery."""
    return live_assignments().values("assigned_peer_id")


def alertable_peers(*, peer_request: PeerRequest, at: dt.datetime, backup: bool = False) -> QuerySet[Peer]:
    """Eligible peers for the request who have no alert for it yet and are not busy, in one query.

    ``backup``: the peers of agencies listing the request's county as a backup county.
    """
    return (
        eligible_peers(need=peer_request.need, county=peer_request.location.county_id, at=at, backup=backup)
        .exclude(pk__in=busy_peer_ids())
        .exclude(pk__in=Alert.objects.filter(request=peer_request).values("peer_id"))
    )


def available_counts(*, location: Location, at: dt.datetime) -> dict[str, int]:
    """How many peers could be alerted now for each kind of support at the location (counts only)."""

    return {
        need: eligible_peers(need=need, county=location.county_id, at=at)
        .exclude(pk__in=busy_peer_ids())
        .count()
        for need in Need.values
    }


# --- the nurse's pages -------------------------------------------------------------------------

# How many languages the request form offers at once; the rest sit behind "Other languages".
COMMON_LANGUAGES = 5
# How many finished requests the location's start page lists under its live ones.
RECENT_ON_START_PAGE = 5


def most_requested_languages(*, limit: int = COMMON_LANGUAGES) -> list[int]:
    """The ids of the languages asked for most often across all requests (one query); ties and
    languages never asked for yet are broken by name, so a new installation offers the first ones
    alphabetically until requests say otherwise."""
    asked = (
        PeerRequest.languages.through.objects.filter(language_id=OuterRef("pk"))
        .values("language_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        Language.objects.annotate(asked=Coalesce(Subquery(asked), 0))
        .order_by("-asked", "name")
        .values_list("pk", flat=True)[:limit]
    )


def start_page_requests(*, location: Location, recent: int = RECENT_ON_START_PAGE) -> tuple[list, list]:
    """The location's live requests (looking for a peer, or with a peer on an encounter not yet
    finished), oldest first, and its most recent others: two queries."""
    base = PeerRequest.objects.filter(location=location).select_related("assigned_peer")
    under_way = Q(status__in=ACTIVE_STATUSES) | Q(status=RequestStatus.ASSIGNED, finished_at__isnull=True)
    live = list(base.filter(under_way).order_by("created_at", "id"))
    others = list(base.exclude(under_way).order_by("-created_at", "-id")[:recent])
    return live, others


def is_under_way(peer_request: PeerRequest) -> bool:
    """Still changing: looking for a peer, or an encounter not yet finished."""
    return peer_request.status in ACTIVE_STATUSES or (
        peer_request.status == RequestStatus.ASSIGNED and peer_request.finished_at is None
    )


@dataclass(frozen=True)
class OnCall:
    name: str
    phone: object  # a PhoneNumber


def on_call_agencies(*, location: Location) -> list[OnCall]:
    """The verified agencies serving the location's county and their phone numbers (one query):
    whom the nurse can call when no peer could be found."""
    return [
        OnCall(name=name, phone=phone)
        for name, phone in Agency.objects.filter(
            status=OrganisationStatus.VERIFIED, counties=location.county_id
        )
        .order_by("name")
        .values_list("name", "phone")
    ]


@dataclass(frozen=True)
class Unmet:
    """A preference the assigned peer does not meet, said plainly with what to do about it."""

    what: str
    advice: str = ""


def unmet_preferences(*, peer_request: PeerRequest, alert: Alert | None) -> list[Unmet]:
    """The preferences the assigned peer does not meet, read from the breakdown used for the choice
    (the ranked one, else the pre-score the alert left with). Requires the request's languages
    prefetched; no query."""
    if alert is None:
        return []
    breakdown = alert.score_breakdown or alert.prescore_breakdown or {}
    missed = {
        row.get("component")
        for row in breakdown.get("rows") or []
        if isinstance(row, dict) and row.get("asked") and not row.get("points")
    }
    unmet = []
    if "language" in missed:
        names = " or ".join(language.name for language in peer_request.languages.all())
        unmet.append(Unmet(what=names or "the language asked for", advice="arrange an interpreter"))
    if "gender" in missed:
        unmet.append(Unmet(what=f"a {peer_request.get_gender_display().lower()} peer"))
    if "age_range" in missed:
        unmet.append(Unmet(what=f"a peer aged {peer_request.get_age_range_display()}"))
    return unmet


@dataclass(frozen=True)
class Replacement:
    """The last assigned peer who can no longer come, and whether another has been assigned since."""

    first_name: str
    replaced: bool


def last_replacement(*, events: list[RequestEvent]) -> Replacement | None:
    """From the loaded timeline: the latest withdrawal (or "has not come") that is still news, i.e.
    the request is looking for another peer, or the peer assigned after it is the current one.
    Events are compared by id, the order they were written in, whatever times they carry."""
    left = assigned = None
    for event in events:
        if event.kind in (RequestEvent.Kind.WITHDRAWN, RequestEvent.Kind.NOT_COME):
            left = event if left is None or event.pk > left.pk else left
        elif event.kind == RequestEvent.Kind.ASSIGNED:
            assigned = event if assigned is None or event.pk > assigned.pk else assigned
    if left is None:
        return None
    return Replacement(
        first_name=left.peer.first_name if left.peer is not None else "The peer",
        replaced=assigned is not None and assigned.pk > left.pk,
    )
