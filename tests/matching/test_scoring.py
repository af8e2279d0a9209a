import datetime as dt
import itertools
import json

import pytest

from core.choices import Need
from matching.scoring import (
    COMPONENTS,
    Candidate,
    CredentialInfo,
    RequestProfile,
    age_range_match,
    credential_fit,
    fairness,
    gender_match,
    language_match,
    preferred_agency,
    rank,
    reason,
    reply_speed,
    score,
    validate_weights,
)
from tests.world import T0

WEIGHTS = {
    "credential_fit": 40.0,
    "language": 30.0,
    "gender": 20.0,
    "age_range": 15.0,
    "preferred_agency": 25.0,
    "reply_speed": 5.0,
    "fairness": 10.0,
}

CRPA = CredentialInfo("CRPA", mental_health=False, substance_use=True)
CRPA_P = CredentialInfo("CRPA-P", mental_health=False, substance_use=True, provisional=True)
NYCPS = CredentialInfo("NYCPS", mental_health=True, substance_use=False)
NYCPS_P = CredentialInfo("NYCPS-P", mental_health=True, substance_use=False, provisional=True)
CPRS = CredentialInfo("CPRS", mental_health=True, substance_use=True)


def profile(**kwargs) -> RequestProfile:
    defaults = {
        "need": Need.SUBSTANCE_USE,
        "alerted_at": T0,
        "selection_due_at": T0 + dt.timedelta(minutes=10),
    }
    return RequestProfile(**(defaults | kwargs))


def candidate(peer_id: int = 1, **kwargs) -> Candidate:
    defaults = {
        "alert_id": 100 + peer_id,
        "peer_id": peer_id,
        "agency_id": 1,
        "responded_at": T0 + dt.timedelta(minutes=2),
        "credentials": (CRPA,),
    }
    return Candidate(**(defaults | kwargs))


class TestCredentialFit:
    @pytest.mark.parametrize(
        ("need", "credentials", "fraction"),
        [
            (Need.SUBSTANCE_USE, (CRPA,), 1.0),
            (Need.SUBSTANCE_USE, (CRPA_P,), 0.5),
            (Need.SUBSTANCE_USE, (CRPA_P, CRPA), 1.0),
            (Need.SUBSTANCE_USE, (NYCPS,), 0.0),
            (Need.MENTAL_HEALTH, (NYCPS,), 1.0),
            (Need.MENTAL_HEALTH, (NYCPS_P,), 0.5),
            (Need.MENTAL_HEALTH, (CPRS,), 1.0),
            (Need.CO_OCCURRING, (CRPA, NYCPS), 1.0),
            (Need.CO_OCCURRING, (CPRS,), 1.0),
            (Need.CO_OCCURRING, (CRPA, NYCPS_P), 0.875),
            (Need.CO_OCCURRING, (CRPA_P, NYCPS_P), 0.75),
            (Need.CO_OCCURRING, (CRPA,), 0.5),
            (Need.CO_OCCURRING, (NYCPS_P,), 0.25),
            (Need.CO_OCCURRING, (), 0.0),
        ],
    )
    def test_it_scores_the_credentials_for_the_need(self, need, credentials, fraction):
        assert credential_fit(need, credentials).fraction == fraction

    def test_it_ranks_both_needs_above_one_for_co_occurring(self):
        both_provisional = credential_fit(Need.CO_OCCURRING, (CRPA_P, NYCPS_P)).fraction
        one_full = credential_fit(Need.CO_OCCURRING, (CRPA,)).fraction
        assert both_provisional > one_full

    def test_it_names_only_the_credentials_that_serve_the_need(self):
        part = credential_fit(Need.SUBSTANCE_USE, (NYCPS, CRPA))
        assert part.reason == "CRPA"
        assert credential_fit(Need.CO_OCCURRING, (NYCPS, CRPA)).reason == "CRPA + NYCPS"

    def test_it_says_when_a_credential_is_provisional(self):
        assert "provisional" in credential_fit(Need.MENTAL_HEALTH, (NYCPS_P,)).note

    def test_it_says_when_nothing_qualifies(self):
        part = credential_fit(Need.MENTAL_HEALTH, (CRPA,))
        assert part.fraction == 0
        assert part.reason == ""
        assert part.note == "no validated credential for this need"


class TestLanguageMatch:
    def test_it_contributes_nothing_when_no_language_was_requested(self):
        part = language_match({}, {"es"})
        assert part.fraction is None
        assert part.reason == ""

    def test_it_gives_full_credit_for_the_one_requested_language(self):
        part = language_match({"es": "Spanish"}, {"en", "es"})
        assert part.fraction == 1.0
        assert part.reason == "speaks Spanish"

    def test_it_gives_most_credit_for_any_and_the_rest_for_all(self):
        requested = {"es": "Spanish", "ht": "Haitian Creole"}
        assert language_match(requested, {"es"}).fraction == 0.875
        assert language_match(requested, {"es", "ht"}).fraction == 1.0
        assert language_match(requested, {"ht", "es"}).reason == "speaks Spanish and Haitian Creole"

    def test_it_gives_nothing_to_a_peer_who_speaks_none(self):
        part = language_match({"es": "Spanish"}, {"en"})
        assert part.fraction == 0.0
        assert part.note == "speaks none of Spanish"


class TestGenderMatch:
    def test_it_contributes_nothing_when_not_requested(self):
        assert gender_match("", "female").fraction is None

    def test_it_scores_the_requested_gender(self):
        assert gender_match("male", "male").fraction == 1.0
        assert gender_match("male", "male").reason == "male, as requested"
        assert gender_match("male", "female").fraction == 0.0


class TestAgeRangeMatch:
    def test_it_contributes_nothing_when_not_requested(self):
        assert age_range_match("", "18_35").fraction is None

    def test_it_scores_the_requested_age_range(self):
        assert age_range_match("36_plus", "36_plus").fraction == 1.0
        assert age_range_match("36_plus", "36_plus").reason == "age 36+, as requested"
        assert age_range_match("36_plus", "18_35").fraction == 0.0


class TestPreferredAgency:
    def test_it_contributes_nothing_without_preferences(self):
        assert preferred_agency({}, 7).fraction is None

    def test_it_decreases_with_the_rank(self):
        preferences = {10: 1, 20: 2, 30: 3, 40: 4}
        fractions = [preferred_agency(preferences, agency).fraction for agency in (10, 20, 30, 40)]
        assert fractions == [1.0, 0.75, 0.5, 0.25]
        assert preferred_agency(preferences, 99).fraction == 0.0

    def test_it_uses_the_position_whatever_gaps_the_stored_ranks_have(self):
        preferences = {10: 2, 20: 7}
        assert preferred_agency(preferences, 10).fraction == 1.0
        assert preferred_agency(preferences, 20).reason == "preferred agency #2"


class TestReplySpeed:
    DUE = T0 + dt.timedelta(minutes=10)

    @pytest.mark.parametrize(
        ("after", "fraction"),
        [
            (dt.timedelta(0), 1.0),
            (dt.timedelta(minutes=5), 0.5),
            (dt.timedelta(minutes=10), 0.0),
            (dt.timedelta(minutes=25), 0.0),
            (dt.timedelta(seconds=-5), 1.0),
        ],
    )
    def test_it_is_bounded_and_falls_linearly_over_the_window(self, after, fraction):
        assert reply_speed(T0, self.DUE, T0 + after).fraction == fraction

    def test_it_survives_an_empty_window(self):
        assert reply_speed(T0, T0, T0 + dt.timedelta(seconds=3)).fraction == 0.0

    def test_it_notes_the_delay(self):
        assert (
            reply_speed(T0, self.DUE, T0 + dt.timedelta(seconds=125)).note == "replied YES after 2 min 05 s"
        )


class TestFairness:
    def test_it_prefers_fewer_recent_assignments_and_stays_positive(self):
        fractions = [fairness(count).fraction for count in range(6)]
        assert fractions[0] == 1.0
        assert fractions[1] == 0.5
        assert all(a > b > 0 for a, b in itertools.pairwise(fractions))

    def test_it_notes_the_count(self):
        assert fairness(1).note == "1 assignment in the last 7 days"


class TestValidateWeights:
    def test_it_accepts_the_settings(self, settings):
        assert set(validate_weights(settings.PEERRX_MATCH_WEIGHTS)) == set(COMPONENTS)

    @pytest.mark.parametrize(
        "weights",
        [
            {k: v for k, v in WEIGHTS.items() if k != "fairness"},
            WEIGHTS | {"seniority": 3.0},
            WEIGHTS | {"language": -1.0},
            WEIGHTS | {"language": float("nan")},
        ],
        ids=["missing", "unknown", "negative", "nan"],
    )
    def test_it_refuses_bad_weights(self, weights):
        with pytest.raises(ValueError, match="match weight"):
            validate_weights(weights)


class TestScore:
    def test_it_adds_up_the_weighted_components(self):
        request = profile(
            need=Need.CO_OCCURRING,
            languages={"es": "Spanish"},
            gender="female",
            age_range="18_35",
            preferred_agencies={1: 1, 2: 2},
        )
        peer = candidate(
            credentials=(CRPA, NYCPS),
            languages=frozenset({"es"}),
            gender="female",
            age_range="18_35",
            responded_at=T0 + dt.timedelta(minutes=1),
            recent_assignments=1,
        )
        total, breakdown = score(request, peer, weights=WEIGHTS)
        assert {name: breakdown[name] for name in COMPONENTS} == {
            "credential_fit": 40.0,
            "language": 30.0,
            "gender": 20.0,
            "age_range": 15.0,
            "preferred_agency": 25.0,
            "reply_speed": 4.5,
            "fairness": 5.0,
        }
        assert total == breakdown["total"] == 139.5

    def test_it_gives_blank_preferences_nothing(self):
        total, breakdown = score(profile(), candidate(), weights=WEIGHTS)
        assert breakdown["language"] == breakdown["gender"] == breakdown["age_range"] == 0
        assert breakdown["preferred_agency"] == 0
        assert [row["asked"] for row in breakdown["rows"]] == [True, False, False, False, False, True, True]
        assert total == 40 + 4 + 10

    def test_it_stores_a_json_breakdown_that_explains_itself(self):
        _total, breakdown = score(profile(languages={"es": "Spanish"}), candidate(), weights=WEIGHTS)
        assert json.loads(json.dumps(breakdown)) == breakdown
        assert [row["component"] for row in breakdown["rows"]] == list(COMPONENTS)
        language = breakdown["rows"][1]
        assert language == {
            "component": "language",
            "label": "Requested language",
            "points": 0.0,
            "max": 30.0,
            "note": "speaks none of Spanish",
            "asked": True,
        }
        assert breakdown["weights"] == WEIGHTS


class TestReason:
    def test_it_joins_what_matched_for_the_location(self):
        request = profile(
            need=Need.CO_OCCURRING, languages={"es": "Spanish"}, gender="male", preferred_agencies={1: 1}
        )
        peer = candidate(credentials=(NYCPS, CRPA), languages=frozenset({"es"}), gender="female")
        assert reason(request, peer) == "speaks Spanish · preferred agency #1 · CRPA + NYCPS"

    def test_it_falls_back_when_nothing_stands_out(self):
        assert reason(profile(), candidate(credentials=())) == "replied YES"


class TestRank:
    def test_it_orders_best_first_with_ranks(self):
        request = profile(languages={"es": "Spanish"})
        ranked = rank(
            request,
            [candidate(1), candidate(2, languages=frozenset({"es"}))],
            weights=WEIGHTS,
        )
        assert [(r.peer_id, r.rank) for r in ranked] == [(2, 1), (1, 2)]
        assert ranked[0].alert_id == 102
        assert ranked[0].breakdown["rank"] == 1
        assert ranked[0].reason == "speaks Spanish · CRPA"
        assert ranked[0].score > ranked[1].score

    def test_it_breaks_a_tie_by_the_earlier_yes(self):
        # Both replies earn the same rounded reply-speed points; the earlier one still wins.
        first = candidate(5, responded_at=T0 + dt.timedelta(seconds=60))
        second = candidate(3, responded_at=T0 + dt.timedelta(seconds=60, microseconds=1))
        ranked = rank(profile(), [second, first], weights=WEIGHTS)
        assert ranked[0].score == ranked[1].score
        assert [r.peer_id for r in ranked] == [5, 3]

    def test_it_breaks_a_full_tie_by_the_lower_peer_id(self):
        ranked = rank(profile(), [candidate(9), candidate(4), candidate(6)], weights=WEIGHTS)
        assert [r.peer_id for r in ranked] == [4, 6, 9]

    def test_it_returns_nothing_for_nobody(self):
        assert rank(profile(), [], weights=WEIGHTS) == []

    def test_it_refuses_bad_weights(self):
        with pytest.raises(ValueError, match="match weights"):
            rank(profile(), [candidate()], weights={"language": 1})
