"""Load peers as plain data and rank them (``matching.scoring``).

``rank_responders``: the YES responders at the choice. ``prescore_peers``: the peers about to
be alerted, on the static match alone (no reply yet, so no reply speed), so that the alerts
leave best first. Five queries each whatever the number of peers: the requested languages,
the location's preferred agencies, the peers with their recent assignment counts, their
languages, and their validated unexpired credentials.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from locations.models import PreferredAgency
from matching.scoring import Candidate, CredentialInfo, RankedCandidate, RequestProfile, rank
from peer_requests.models import Alert, PeerRequest
from peer_requests.selectors import busy_peer_ids
from peers.models import Credential, Peer

# Assignments in this window before the choice count against a peer (fairness).
FAIRNESS_WINDOW = dt.timedelta(days=7)


def request_profile(*, peer_request: PeerRequest) -> RequestProfile:
    """What the location asked for (two queries)."""
    languages = dict(peer_request.languages.order_by("name", "code").values_list("code", "name"))
    preferences = dict(
        PreferredAgency.objects.filter(location_id=peer_request.location_id).values_list("agency_id", "rank")
    )
    return RequestProfile(
        need=peer_request.need,
        alerted_at=peer_request.created_at,
        selection_due_at=peer_request.selection_due_at,
        age_range=peer_request.age_range,
        gender=peer_request.gender,
        languages=languages,
        preferred_agencies=preferences,
    )


def yes_alerts(*, peer_request: PeerRequest) -> QuerySet[Alert]:
    """YES replies still standing: not withdrawn, from a peer who is active, not opted out and
    not busy on another live assignment.

    A peer who texted STOP or was deactivated after saying YES can't be assigned: the
    confirmation could not reach them, or they are no longer on the roster. A peer assigned
    elsewhere meanwhile is at another patient's side.
    """
    return Alert.objects.filter(
        request=peer_request,
        response=Alert.Response.YES,
        withdrawn_at__isnull=True,
        peer__is_active=True,
        peer__opted_out_at__isnull=True,
    ).exclude(peer_id__in=busy_peer_ids().exclude(pk=peer_request.pk))


def _recent_assignments(*, now: dt.datetime, exclude_request_id: int, peer_ref: str = "peer_id") -> Coalesce:
    """Per row: requests assigned to its peer (``peer_ref``) in the 7 days before ``now``."""
    recent = (
        PeerRequest.objects.filter(
            assigned_peer=OuterRef(peer_ref),
            assigned_at__gte=now - FAIRNESS_WINDOW,
            assigned_at__lt=now,
        )
        .exclude(pk=exclude_request_id)
        .order_by()
        .values("assigned_peer")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(recent, output_field=IntegerField()), Value(0))


def responder_candidates(*, peer_request: PeerRequest, now: dt.datetime) -> list[Candidate]:
    """The YES responders as ``scoring.Candidate`` (three queries)."""
    alerts = yes_alerts(peer_request=peer_request)
    rows = list(
        alerts.annotate(recent=_recent_assignments(now=now, exclude_request_id=peer_request.pk))
        .order_by("id")
        .values(
            "id",
            "peer_id",
            "peer__agency_id",
            "peer__gender",
            "peer__age_range",
            "responded_at",
            "recent",
        )
    )
    if not rows:
        return []
    # The responders' ids as a list: a subquery repeating the YES filter joins every peer
    # (measured: 45 ms of scans at 50,000 peers, against 5 ms for the list).
    languages, credentials = _peer_facts(peer_ids=[row["peer_id"] for row in rows], now=now)
    return [
        Candidate(
            alert_id=row["id"],
            peer_id=row["peer_id"],
            agency_id=row["peer__agency_id"],
            # A YES always has a reply time; if one is missing it counts as the latest possible.
            responded_at=row["responded_at"] or peer_request.expires_at,
            credentials=tuple(credentials[row["peer_id"]]),
            languages=frozenset(languages[row["peer_id"]]),
            gender=row["peer__gender"],
            age_range=row["peer__age_range"],
            recent_assignments=row["recent"],
        )
        for row in rows
    ]


def _peer_facts(
    *, peer_ids: list[int], now: dt.datetime
) -> tuple[dict[int, set[str]], dict[int, list[CredentialInfo]]]:
    """The peers' languages and validated unexpired credentials (two queries)."""
    languages: dict[int, set[str]] = defaultdict(set)
    for peer_id, code in Peer.languages.through.objects.filter(peer_id__in=peer_ids).values_list(
        "peer_id", "language__code"
    ):
        languages[peer_id].add(code)
    today = timezone.localdate(now)
    credentials: dict[int, list[CredentialInfo]] = defaultdict(list)
    valid = Credential.objects.filter(peer_id__in=peer_ids, status=Credential.Status.VALIDATED).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )
    for peer_id, code, mental_health, substance_use, provisional in valid.order_by("id").values_list(
        "peer_id",
        "type__code",
        "type__qualifies_mental_health",
        "type__qualifies_substance_use",
        "type__is_provisional",
    ):
        credentials[peer_id].append(CredentialInfo(code, mental_health, substance_use, provisional))
    return languages, credentials


def rank_responders(*, peer_request: PeerRequest, now: dt.datetime | None = None) -> list[RankedCandidate]:
    """The request's YES responders, best first, each with score, breakdown and reason."""
    now = now or timezone.now()
    candidates = responder_candidates(peer_request=peer_request, now=now)
    if not candidates:
        return []
    profile = request_profile(peer_request=peer_request)
    return rank(profile, candidates, weights=settings.PEERRX_MATCH_WEIGHTS)


def prescore_peers(
    *, peer_request: PeerRequest, peer_ids: list[int], now: dt.datetime
) -> list[RankedCandidate]:
    """The peers about to be alerted, best static match first (reply speed unknown yet, so it
    weighs nothing); ``alert_id`` is 0. Ties: the lower peer id first."""
    if not peer_ids:
        return []
    rows = list(
        Peer.objects.filter(pk__in=peer_ids)
        .annotate(recent=_recent_assignments(now=now, exclude_request_id=peer_request.pk, peer_ref="pk"))
        .order_by("pk")
        .values("pk", "agency_id", "gender", "age_range", "recent")
    )
    languages, credentials = _peer_facts(peer_ids=[row["pk"] for row in rows], now=now)
    profile = request_profile(peer_request=peer_request)
    candidates = [
        Candidate(
            alert_id=0,
            peer_id=row["pk"],
            agency_id=row["agency_id"],
            responded_at=profile.alerted_at,
            credentials=tuple(credentials[row["pk"]]),
            languages=frozenset(languages[row["pk"]]),
            gender=row["gender"],
            age_range=row["age_range"],
            recent_assignments=row["recent"],
        )
        for row in rows
    ]
    return rank(profile, candidates, weights={**settings.PEERRX_MATCH_WEIGHTS, "reply_speed": 0})
