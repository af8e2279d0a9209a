import datetime as dt
import json

import pytest

from core.choices import Need
from peer_requests.candidates import rank_responders, request_profile, responder_candidates
from peer_requests.models import Alert, PeerRequest, RequestStatus
from peers.models import Credential, Peer
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import PreferredAgencyFactory
from tests.peer_requests.factories import AlertFactory, PeerRequestFactory
from tests.peers.factories import CredentialFactory, PeerFactory, credential_type, language
from tests.world import T0

pytestmark = pytest.mark.django_db


CHOICE = T0 + dt.timedelta(minutes=10)


def yes(peer_request: PeerRequest, peer: Peer | None = None, *, after: int = 60, **kwargs) -> Alert:
    """A YES from ``peer`` (a new peer with a CRPA if None), ``after`` seconds into the request."""
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


def bulk_responders(peer_request: PeerRequest, count: int) -> None:
    """``count`` YES responders with a credential and two languages, in a handful of queries."""
    agency = AgencyFactory()
    peers = Peer.objects.bulk_create(
        Peer(
            agency=agency,
            first_name=f"Peer{n}",
            last_name="Bulk",
            phone=f"+1917555{n:04d}",
            age_range="18_35" if n % 2 else "36_plus",
            gender="female" if n % 3 else "male",
        )
        for n in range(count)
    )
    spanish, english = language("es"), language("en")
    Peer.languages.through.objects.bulk_create(
        Peer.languages.through(peer_id=peer.pk, language_id=lang.pk)
        for peer in peers
        for lang in (english, spanish)
    )
    crpa, nycps = credential_type("CRPA"), credential_type("NYCPS")
    Credential.objects.bulk_create(
        Credential(
            peer=peer,
            type=kind,
            number=f"B-{peer.pk}-{kind.code}",
            issued_on=dt.date(2024, 1, 1),
            status=Credential.Status.VALIDATED,
        )
        for peer in peers
        for kind in (crpa, nycps)
    )
    Alert.objects.bulk_create(
        Alert(
            request=peer_request,
            peer=peer,
            created_at=peer_request.created_at,
            response=Alert.Response.YES,
            responded_at=peer_request.created_at + dt.timedelta(seconds=n % 600),
        )
        for n, peer in enumerate(peers)
    )
    # Some recent assignments, so the fairness subquery has rows to count.
    for n, peer in enumerate(peers[:3]):
        PeerRequestFactory(
            location=peer_request.location,
            status=RequestStatus.ASSIGNED,
            assigned_peer=peer,
            created_at=T0 - dt.timedelta(days=1, hours=n),
            assigned_at=T0 - dt.timedelta(days=1, hours=n),
            assignment_ended_at=T0 - dt.timedelta(days=1, hours=n - 1),
        )


class TestRankResponders:
    def test_it_ranks_only_standing_yes_replies(self):
        peer_request = PeerRequestFactory()
        standing = yes(peer_request)
        yes(peer_request, withdrawn_at=T0 + dt.timedelta(minutes=3))
        AlertFactory(request=peer_request, response=Alert.Response.NO, responded_at=T0)
        AlertFactory(request=peer_request)
        opted_out = PeerFactory(opted_out_at=T0)
        yes(peer_request, opted_out)
        inactive = PeerFactory(is_active=False)
        yes(peer_request, inactive)
        yes(PeerRequestFactory())  # another request
        ranked = rank_responders(peer_request=peer_request, now=CHOICE)
        assert [r.alert_id for r in ranked] == [standing.pk]
        assert ranked[0].peer_id == standing.peer_id

    def test_it_returns_nothing_without_a_yes_in_one_query(self, django_assert_num_queries):
        peer_request = PeerRequestFactory()
        AlertFactory(request=peer_request)
        with django_assert_num_queries(1):
            assert rank_responders(peer_request=peer_request, now=CHOICE) == []

    def test_it_chooses_the_best_matched_peer_and_explains_why(self):
        spanish = language("es")
        preferred = AgencyFactory()
        peer_request = PeerRequestFactory(need=Need.CO_OCCURRING, gender="male", languages=[spanish])
        PreferredAgencyFactory(location=peer_request.location, agency=preferred, rank=1)
        fast = yes(peer_request, after=5)
        best = PeerFactory(agency=preferred, gender="male")
        best.languages.add(spanish)
        CredentialFactory(peer=best, type=credential_type("CRPA"))
        CredentialFactory(peer=best, type=credential_type("NYCPS"))
        yes(peer_request, best, after=400)
        ranked = rank_responders(peer_request=peer_request, now=CHOICE)
        assert [r.peer_id for r in ranked] == [best.pk, fast.peer_id]
        assert [r.rank for r in ranked] == [1, 2]
        winner = ranked[0]
        assert winner.reason == "speaks Spanish · male, as requested · preferred agency #1 · CRPA + NYCPS"
        assert winner.breakdown["language"] == 30
        assert winner.breakdown["preferred_agency"] == 25
        assert winner.breakdown["credential_fit"] == 40
        assert ranked[1].breakdown["credential_fit"] == 20  # one need of two
        assert json.loads(json.dumps(winner.breakdown)) == winner.breakdown

    def test_it_counts_only_validated_credentials_unexpired_at_now(self):
        peer_request = PeerRequestFactory(need=Need.SUBSTANCE_USE)
        rows = {}
        for name, kwargs in {
            "pending": {"status": Credential.Status.PENDING},
            "rejected": {"status": Credential.Status.REJECTED},
            "expired": {"expires_on": dt.date(2026, 1, 4)},
            "expires_today": {"expires_on": dt.date(2026, 1, 5)},
            "no_expiry": {"expires_on": None},
        }.items():
            peer = PeerFactory()
            CredentialFactory(peer=peer, **kwargs)
            rows[name] = yes(peer_request, peer)
        fit = {
            r.alert_id: r.breakdown["credential_fit"]
            for r in rank_responders(peer_request=peer_request, now=CHOICE)
        }
        assert {name: fit[alert.pk] for name, alert in rows.items()} == {
            "pending": 0,
            "rejected": 0,
            "expired": 0,
            "expires_today": 40,
            "no_expiry": 40,
        }

    def test_it_counts_provisional_credentials_at_half(self):
        peer_request = PeerRequestFactory(need=Need.MENTAL_HEALTH)
        peer = PeerFactory()
        CredentialFactory(peer=peer, type=credential_type("NYCPS-P"))
        alert = yes(peer_request, peer)
        (ranked,) = rank_responders(peer_request=peer_request, now=CHOICE)
        assert ranked.alert_id == alert.pk
        assert ranked.breakdown["credential_fit"] == 20
        assert ranked.reason == "NYCPS-P"

    def test_it_counts_assignments_in_the_seven_days_before_now(self):
        peer_request = PeerRequestFactory()
        busy, other = yes(peer_request), yes(peer_request)
        for days in (1, 6.9, 7.1):  # two inside the window, one before it
            at = CHOICE - dt.timedelta(days=days)
            PeerRequestFactory(
                location=peer_request.location,
                status=RequestStatus.ASSIGNED,
                assigned_peer=busy.peer,
                created_at=at,
                assigned_at=at,
                assignment_ended_at=at + dt.timedelta(hours=1),
            )
        # The request itself never counts against its own peer.
        peer_request.assigned_peer, peer_request.assigned_at = other.peer, CHOICE - dt.timedelta(minutes=1)
        peer_request.save()
        candidates = {c.alert_id: c for c in responder_candidates(peer_request=peer_request, now=CHOICE)}
        assert candidates[busy.pk].recent_assignments == 2
        assert candidates[other.pk].recent_assignments == 0
        ranked = {r.alert_id: r for r in rank_responders(peer_request=peer_request, now=CHOICE)}
        assert ranked[busy.pk].breakdown["fairness"] == pytest.approx(10 / 3, abs=0.01)
        assert ranked[other.pk].breakdown["fairness"] == 10

    def test_it_prefers_the_earlier_yes_between_equal_peers(self):
        peer_request = PeerRequestFactory()
        late, early = yes(peer_request, after=300), yes(peer_request, after=30)
        ranked = rank_responders(peer_request=peer_request, now=CHOICE)
        assert [r.alert_id for r in ranked] == [early.pk, late.pk]
        assert ranked[0].breakdown["reply_speed"] == 4.75
        assert ranked[1].breakdown["reply_speed"] == 2.5

    def test_it_is_deterministic(self):
        peer_request = PeerRequestFactory()
        for _ in range(6):
            yes(peer_request, after=60)
        first = rank_responders(peer_request=peer_request, now=CHOICE)
        assert [r.peer_id for r in first] == sorted(r.peer_id for r in first)
        assert rank_responders(peer_request=peer_request, now=CHOICE) == first

    def test_it_defaults_now_to_the_current_time(self):
        peer_request = PeerRequestFactory()
        alert = yes(peer_request)
        assert [r.alert_id for r in rank_responders(peer_request=peer_request)] == [alert.pk]

    @pytest.mark.parametrize("count", [5, 500])
    def test_it_uses_a_constant_number_of_queries(self, count, django_assert_num_queries):
        peer_request = PeerRequestFactory(languages=[language("es")])
        PreferredAgencyFactory(location=peer_request.location, rank=1)
        bulk_responders(peer_request, count)
        peer_request = PeerRequest.objects.get(pk=peer_request.pk)
        with django_assert_num_queries(5):
            ranked = rank_responders(peer_request=peer_request, now=CHOICE)
        assert len(ranked) == count
        assert all(r.breakdown["language"] == 30 for r in ranked)
        assert sum(1 for r in ranked if r.breakdown["fairness"] < 10) == 3


class TestRequestProfile:
    def test_it_loads_the_request_and_the_locations_preferences(self):
        first, second = AgencyFactory(), AgencyFactory()
        peer_request = PeerRequestFactory(
            need=Need.MENTAL_HEALTH,
            age_range="36_plus",
            gender="female",
            languages=[language("es"), language("ht")],
        )
        PreferredAgencyFactory(location=peer_request.location, agency=second, rank=2)
        PreferredAgencyFactory(location=peer_request.location, agency=first, rank=1)
        PreferredAgencyFactory(agency=first, rank=1)  # another location's preference
        profile = request_profile(peer_request=peer_request)
        assert profile.need == Need.MENTAL_HEALTH
        assert profile.age_range == "36_plus"
        assert profile.gender == "female"
        assert list(profile.languages.items()) == [("ht", "Haitian Creole"), ("es", "Spanish")]
        assert profile.preferred_agencies == {first.pk: 1, second.pk: 2}
        assert profile.alerted_at == peer_request.created_at
        assert profile.selection_due_at == peer_request.selection_due_at


@pytest.mark.postgres
class TestRankRespondersOnPostgres:
    def test_it_uses_a_constant_number_of_queries_for_500(self, require_postgres, django_assert_num_queries):
        peer_request = PeerRequestFactory(languages=[language("es")])
        PreferredAgencyFactory(location=peer_request.location, rank=1)
        bulk_responders(peer_request, 500)
        with django_assert_num_queries(5):
            ranked = rank_responders(peer_request=peer_request, now=CHOICE)
        assert len(ranked) == 500
        assert ranked[0].breakdown["credential_fit"] == 40
