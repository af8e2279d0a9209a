"""Agency supervisors' decisions over stored choices, and a stored choice's breakdown read back."""

import datetime as dt

import pytest

from core.choices import Need
from matching.explain import breakdown_details
from peer_requests.candidates import rank_responders
from peer_requests.models import Alert, PeerRequest, RequestStatus
from reporting.decisions import agency_decisions, decision_requests
from tests.agencies.factories import AgencyFactory
from tests.peer_requests.factories import AlertFactory, PeerRequestFactory
from tests.peers.factories import CredentialFactory, PeerFactory, language
from tests.world import T0

CHOICE = T0 + dt.timedelta(minutes=10)


def yes(peer_request: PeerRequest, peer=None, *, after: float = 60, **kwargs) -> Alert:
    if peer is None:
        peer = PeerFactory()
        CredentialFactory(peer=peer)
    return AlertFactory(
        request=peer_request,
        peer=peer,
        response=Alert.Response.YES,
        responded_at=peer_request.created_at + dt.timedelta(seconds=after),
        **kwargs,
    )


def choose(peer_request: PeerRequest, *, now: dt.datetime = CHOICE) -> None:
    """What the dispatch stores at the choice: every YES ranked, the best one assigned."""
    ranked = rank_responders(peer_request=peer_request, now=now)
    for candidate in ranked:
        Alert.objects.filter(pk=candidate.alert_id).update(
            score=candidate.score,
            rank=candidate.rank,
            score_breakdown=candidate.breakdown,
            is_assigned=candidate.rank == 1,
        )
    best = ranked[0]
    PeerRequest.objects.filter(pk=peer_request.pk).update(
        status=RequestStatus.ASSIGNED,
        assigned_peer_id=best.peer_id,
        assigned_at=now,
        assignment_reason=best.reason,
    )


@pytest.mark.django_db
class TestStoredBreakdown:
    def test_it_gives_label_and_points_of_a_stored_choice(self):
        peer_request = PeerRequestFactory(languages=[language("es")])
        alert = yes(peer_request, after=120)
        choose(peer_request)
        alert.refresh_from_db()
        assert [(row.label, row.points) for row in breakdown_details(alert.score_breakdown)] == [
            ("Credential fit", 40.0),
            ("Requested language", 0.0),
            ("Requested gender", 0.0),
            ("Requested age range", 0.0),
            ("Preferred agency", 0.0),
            ("Reply speed", 4.0),
            ("Fairness (assignments in the last 7 days)", 10.0),
        ]

    def test_it_gives_nothing_for_an_unscored_alert(self):
        assert breakdown_details(AlertFactory().score_breakdown) == []


@pytest.mark.django_db
class TestDecisionRequests:
    def test_it_scopes_to_requests_the_agencys_peers_said_yes_to(self):
        agency, other = AgencyFactory(), AgencyFactory()
        ours = PeerRequestFactory(created_at=T0)
        newer = PeerRequestFactory(created_at=T0 + dt.timedelta(hours=1))
        theirs = PeerRequestFactory()
        said_no = PeerRequestFactory()
        yes(ours, PeerFactory(agency=agency))
        yes(ours, PeerFactory(agency=other))
        yes(newer, PeerFactory(agency=agency))
        yes(theirs, PeerFactory(agency=other))
        AlertFactory(request=said_no, peer=PeerFactory(agency=agency), response=Alert.Response.NO)
        found = list(decision_requests(agency=agency))
        assert found == [newer, ours]
        assert found[1].yes_count == 2


@pytest.mark.django_db
class TestAgencyDecisions:
    def setup_method(self):
        self.agency = AgencyFactory()
        self.other = AgencyFactory()

    def peer(self, agency, *, name: str, spanish: bool = False):
        peer = PeerFactory(agency=agency, first_name=name, last_name="Doe")
        CredentialFactory(peer=peer)
        if spanish:
            peer.languages.add(language("es"))
        return peer

    def decide(self, *requests):
        found = decision_requests(agency=self.agency).filter(pk__in=[r.pk for r in requests])
        return agency_decisions(agency=self.agency, requests=list(found))

    def test_it_explains_why_our_peer_lost_to_another_agencys(self):
        peer_request = PeerRequestFactory(languages=[language("es")])
        ours = yes(peer_request, self.peer(self.agency, name="Ours"), after=30)
        yes(peer_request, self.peer(self.other, name="Rival", spanish=True), after=300)
        yes(peer_request, after=500)
        choose(peer_request)
        (decision,) = self.decide(peer_request)
        assert decision.decided
        assert not decision.winner_is_ours
        assert decision.winner_name == ""
        assert decision.winner_reason == ""  # it names the other agency's peer's traits
        (outcome,) = decision.outcomes
        assert (outcome.winner_score, outcome.behind_by) == (82.5, 27.75)
        assert outcome.alert_id == ours.pk
        assert outcome.peer_name == "Ours Doe"
        assert not outcome.chosen
        assert outcome.rank == 2
        assert outcome.explanation == (
            "Ranked 2 of 3: 54.75 points; a peer of another agency was chosen with 82.5."
        )
        assert [(g.label, g.gap) for g in outcome.biggest_gaps] == [("Requested language", 30.0)]
        assert "Rival" not in repr(decision)
        assert "speaks Spanish" not in repr(decision)

    def test_it_says_when_our_peer_was_chosen(self):
        peer_request = PeerRequestFactory(need=Need.SUBSTANCE_USE)
        ours = yes(peer_request, self.peer(self.agency, name="Ours"), after=10)
        yes(peer_request, self.peer(self.agency, name="Second"), after=20)
        choose(peer_request)
        (decision,) = self.decide(peer_request)
        assert decision.winner_is_ours
        assert decision.winner_name == "Ours Doe"
        first, second = decision.outcomes
        assert first.alert_id == ours.pk
        assert first.chosen
        assert first.explanation == "Chosen: CRPA"
        assert {row.winner_points for row in first.comparison} == {None}
        assert second.explanation.startswith("Ranked 2 of 2: ")
        assert "another of your peers was chosen" in second.explanation

    def test_it_explains_a_tie_broken_by_the_earlier_yes(self):
        peer_request = PeerRequestFactory()
        # 60 and 60.5 seconds earn the same rounded reply-speed points (4.50).
        yes(peer_request, self.peer(self.other, name="Rival"), after=60)
        yes(peer_request, self.peer(self.agency, name="Ours"), after=60.5)
        choose(peer_request)
        (decision,) = self.decide(peer_request)
        (outcome,) = decision.outcomes
        assert outcome.score == decision.winner_score
        assert outcome.explanation.endswith("Equal score: the chosen peer replied YES first.")

    def test_it_explains_unscored_and_unfinished_requests(self):
        collecting = PeerRequestFactory(created_at=T0)
        yes(collecting, self.peer(self.agency, name="A"))
        cancelled = PeerRequestFactory(created_at=T0, status=RequestStatus.CANCELLED)
        yes(cancelled, self.peer(self.agency, name="B"))
        expired = PeerRequestFactory(created_at=T0, status=RequestStatus.EXPIRED)
        yes(expired, self.peer(self.agency, name="C"))
        late = PeerRequestFactory(created_at=T0)
        winner = yes(late, self.peer(self.other, name="Rival"), after=700, is_assigned=True)
        yes(late, self.peer(self.agency, name="D"), after=800)
        PeerRequest.objects.filter(pk=late.pk).update(
            status=RequestStatus.ASSIGNED,
            assigned_peer=winner.peer,
            assigned_at=T0 + dt.timedelta(seconds=700),
            assignment_reason="first YES after the choice",
        )
        withdrawn = PeerRequestFactory(created_at=T0, status=RequestStatus.OPEN)
        yes(withdrawn, self.peer(self.agency, name="E"), withdrawn_at=T0 + dt.timedelta(minutes=15))
        still_open = PeerRequestFactory(created_at=T0, status=RequestStatus.OPEN)
        yes(still_open, self.peer(self.agency, name="F"), after=900)
        # Our peer's YES is older than the assignment yet unscored: the first YES won while open.
        first_yes = PeerRequestFactory(created_at=T0)
        winner = yes(first_yes, self.peer(self.agency, name="G"), after=650, is_assigned=True)
        yes(first_yes, self.peer(self.agency, name="H"), after=655)
        PeerRequest.objects.filter(pk=first_yes.pk).update(
            status=RequestStatus.ASSIGNED,
            assigned_peer=winner.peer,
            assigned_at=T0 + dt.timedelta(seconds=660),
        )
        decisions = self.decide(collecting, cancelled, expired, late, withdrawn, still_open, first_yes)
        explanations = {d.request.pk: d.outcomes[-1].explanation for d in decisions}
        assert explanations == {
            collecting.pk: (
                "Waiting for the choice: the best-matched YES is chosen when the reply window closes."
            ),
            cancelled.pk: "The location cancelled the request before a peer was assigned.",
            expired.pk: "The request expired without an assignment.",
            late.pk: "Replied after the request was filled; a peer of another agency was assigned.",
            withdrawn.pk: "Was chosen, then withdrew (texted CANCEL).",
            still_open.pk: "Open: the first YES is assigned.",
            first_yes.pk: (
                "Not scored: no YES had arrived by the choice, "
                "so the first YES (another of your peers) was assigned."
            ),
        }
        (first_yes_decision,) = [d for d in decisions if d.request.pk == first_yes.pk]
        assert first_yes_decision.winner_is_ours
        assert first_yes_decision.winner_name == "G Doe"
        assert first_yes_decision.outcomes[0].explanation == "Chosen."

    def test_it_gives_nothing_for_no_requests(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert agency_decisions(agency=self.agency, requests=[]) == []

    @pytest.mark.parametrize("count", [2, 20])
    def test_it_uses_a_constant_number_of_queries(self, count, django_assert_num_queries):
        requests = []
        for n in range(count):
            peer_request = PeerRequestFactory(created_at=T0 + dt.timedelta(minutes=n))
            yes(peer_request, self.peer(self.agency, name=f"P{n}"))
            yes(peer_request, self.peer(self.other, name=f"R{n}"))
            if n % 2:
                choose(peer_request)
            requests.append(peer_request)
        with django_assert_num_queries(3):
            decisions = agency_decisions(
                agency=self.agency, requests=list(decision_requests(agency=self.agency))
            )
        assert len(decisions) == count
        assert sum(d.decided for d in decisions) == count // 2
