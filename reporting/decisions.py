"""Agency supervisors' "Decisions": every request their peers said YES to, and why the choice fell as it did.

A supervisor sees their own peers' stored breakdowns against the chosen peer. A chosen peer of
another agency is only a total and, component by component, the gap to the agency's own peer:
never their name, nor the one-line reason (it names traits: language, gender, age range).
``matching.explain`` does the rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from agencies.models import Agency
from matching.explain import ComparisonRow, compare_breakdowns
from peer_requests.models import Alert, PeerRequest, RequestStatus


@dataclass(frozen=True)
class PeerOutcome:
    """One of the agency's peers who said YES to one request, and what came of it."""

    alert_id: int
    peer_name: str
    responded_at: dt.datetime | None
    chosen: bool
    withdrawn: bool
    score: float | None
    rank: int | None
    explanation: str
    comparison: list[ComparisonRow] = field(default_factory=list)
    winner_score: float | None = None  # the chosen peer's total, when this one was not chosen

    @property
    def behind_by(self) -> float | None:
        """Points the chosen peer had over this one in total (None when not compared)."""
        if self.chosen or self.score is None or self.winner_score is None:
            return None
        return round(self.winner_score - self.score, 2)

    @property
    def biggest_gaps(self) -> list[ComparisonRow]:
        gaps = [row for row in self.comparison if row.gap > 0]
        return sorted(gaps, key=lambda row: -row.gap)[:3]


@dataclass(frozen=True)
class Decision:
    request: PeerRequest
    yes_count: int
    winner_is_ours: bool
    winner_name: str  # only when the chosen peer is one of the agency's own
    winner_score: float | None
    winner_reason: str  # only when the chosen peer is one of the agency's own: it names traits
    outcomes: list[PeerOutcome]

    @property
    def decided(self) -> bool:
        return self.request.status == RequestStatus.ASSIGNED


def decision_requests(*, agency: Agency) -> QuerySet[PeerRequest]:
    """Requests at least one of the agency's peers said YES to, newest first.

    Views scope object lookups by this queryset, so another agency's request is a 404.
    """
    ours = Alert.objects.filter(request=OuterRef("pk"), peer__agency=agency, response=Alert.Response.YES)
    return (
        PeerRequest.objects.filter(Exists(ours))
        .select_related("location")
        .annotate(
            yes_count=Count("alerts", filter=Q(alerts__response=Alert.Response.YES)),
            ranked_count=Count("alerts", filter=Q(alerts__rank__isnull=False)),
        )
        .order_by("-created_at", "-id")
    )


def _explain(
    *,
    peer_request: PeerRequest,
    alert: Alert,
    winner: Mapping | None,
    winner_is_ours: bool,
    ranked_count: int,
) -> str:
    status = peer_request.status
    if alert.is_assigned:
        return "Chosen" + (f": {peer_request.assignment_reason}" if peer_request.assignment_reason else ".")
    if alert.withdrawn_at is not None:
        return "Was chosen, then withdrew (texted CANCEL)."
    if status == RequestStatus.COLLECTING:
        return "Waiting for the choice: the best-matched YES is chosen when the reply window closes."
    if status == RequestStatus.CANCELLED:
        return "The location cancelled the request before a peer was assigned."
    if status == RequestStatus.EXPIRED:
        return "The request expired without an assignment."
    if status == RequestStatus.OPEN:
        return "Open: the first YES is assigned."
    if winner is None:
        return "Another peer was assigned."
    who = "another of your peers" if winner_is_ours else "a peer of another agency"
    assigned_at = peer_request.assigned_at
    if alert.score is None:
        if alert.responded_at and assigned_at and alert.responded_at >= assigned_at:
            return f"Replied after the request was filled; {who} was assigned."
        return f"Not scored: no YES had arrived by the choice, so the first YES ({who}) was assigned."
    winner_score = winner.get("score")
    place = f"Ranked {alert.rank} of {ranked_count}" if alert.rank else "Not chosen"
    if winner_score is None:
        return f"{place}: {alert.score:g} points; {who} was assigned."
    text = f"{place}: {alert.score:g} points; {who} was chosen with {winner_score:g}."
    if alert.score == winner_score:
        responded = winner.get("responded_at")
        if responded and alert.responded_at and responded < alert.responded_at:
            text += " Equal score: the chosen peer replied YES first."
        else:
            text += " Equal score and reply time: the fixed tie-break (lower peer id) decided."
    return text


def agency_decisions(*, agency: Agency, requests: Sequence[PeerRequest]) -> list[Decision]:
    """For requests from ``decision_requests``: the agency's peers' outcomes (two queries)."""
    request_ids = [peer_request.pk for peer_request in requests]
    if not request_ids:
        return []
    ours: dict[int, list[Alert]] = defaultdict(list)
    for alert in (
        Alert.objects.filter(request_id__in=request_ids, peer__agency=agency, response=Alert.Response.YES)
        .select_related("peer")
        .order_by("request_id", F("rank").asc(nulls_last=True), "responded_at", "id")
    ):
        ours[alert.request_id].append(alert)
    # The chosen peers: their points, never their names unless they are ours.
    winners = {
        row["request_id"]: row
        for row in Alert.objects.filter(request_id__in=request_ids, is_assigned=True).values(
            "request_id", "peer_id", "peer__agency_id", "score", "score_breakdown", "responded_at"
        )
    }
    decisions = []
    for peer_request in requests:
        winner = winners.get(peer_request.pk)
        winner_is_ours = winner is not None and winner["peer__agency_id"] == agency.pk
        winner_name = ""
        if winner_is_ours:
            winner_name = next(
                (a.peer.full_name for a in ours[peer_request.pk] if a.peer_id == winner["peer_id"]), ""
            )
        yes_count = getattr(peer_request, "yes_count", 0)
        outcomes = [
            PeerOutcome(
                alert_id=alert.pk,
                peer_name=alert.peer.full_name,
                responded_at=alert.responded_at,
                chosen=alert.is_assigned,
                withdrawn=alert.withdrawn_at is not None,
                score=alert.score,
                rank=alert.rank,
                explanation=_explain(
                    peer_request=peer_request,
                    alert=alert,
                    winner=winner,
                    winner_is_ours=winner_is_ours,
                    ranked_count=getattr(peer_request, "ranked_count", 0),
                ),
                comparison=compare_breakdowns(
                    alert.score_breakdown,
                    None if alert.is_assigned or winner is None else winner["score_breakdown"],
                ),
                winner_score=None if alert.is_assigned or winner is None else winner["score"],
            )
            for alert in ours[peer_request.pk]
        ]
        decisions.append(
            Decision(
                request=peer_request,
                yes_count=yes_count,
                winner_is_ours=winner_is_ours,
                winner_name=winner_name,
                winner_score=winner["score"] if winner else None,
                winner_reason=peer_request.assignment_reason if winner_is_ours else "",
                outcomes=outcomes,
            )
        )
    return decisions
