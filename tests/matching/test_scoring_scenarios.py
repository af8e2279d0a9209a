"""Scenarios written as data: a request, its YES responders, and the expected order.

Each scenario runs with the configured weights (settings.PEERRX_MATCH_WEIGHTS), so they
also document how the components weigh against each other.
"""

import datetime as dt

import pytest
from django.conf import settings

from core.choices import Need
from matching.scoring import Candidate, CredentialInfo, RequestProfile, rank
from tests.world import T0

CREDENTIALS = {
    "CRPA": CredentialInfo("CRPA", mental_health=False, substance_use=True),
    "CRPA-P": CredentialInfo("CRPA-P", mental_health=False, substance_use=True, provisional=True),
    "NYCPS": CredentialInfo("NYCPS", mental_health=True, substance_use=False),
    "NYCPS-P": CredentialInfo("NYCPS-P", mental_health=True, substance_use=False, provisional=True),
    "CPRS": CredentialInfo("CPRS", mental_health=True, substance_use=True),
}
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "ht": "Haitian Creole", "zh": "Chinese"}

# Candidate fields left out take these values: a full CRPA, agency 1, a woman of 18–35
# speaking English, YES after 2 minutes, no assignment in the last week.
BASE = {
    "agency": 1,
    "credentials": ["CRPA"],
    "languages": ["en"],
    "gender": "female",
    "age_range": "18_35",
    "yes_after_s": 120,
    "recent": 0,
}

SCENARIOS = [
    {
        "id": "single-need-full-beats-provisional",
        "request": {"need": Need.SUBSTANCE_USE},
        "candidates": {"ana": {"credentials": ["CRPA-P"]}, "bo": {"credentials": ["CRPA"]}},
        "order": ["bo", "ana"],
    },
    {
        "id": "mental-health-counts-only-mental-health-credentials",
        "request": {"need": Need.MENTAL_HEALTH},
        "candidates": {
            "ana": {"credentials": ["NYCPS-P", "CRPA"]},
            "bo": {"credentials": ["CPRS"]},
            "cy": {"credentials": ["NYCPS"], "yes_after_s": 300},
        },
        "order": ["bo", "cy", "ana"],
    },
    {
        "id": "co-occurring-both-needs-beat-one",
        "request": {"need": Need.CO_OCCURRING},
        "candidates": {
            "ana": {"credentials": ["CRPA"]},
            "bo": {"credentials": ["CRPA-P", "NYCPS-P"]},
            "cy": {"credentials": ["CRPA", "NYCPS"]},
            "di": {"credentials": ["CRPA", "NYCPS-P"]},
        },
        "order": ["cy", "di", "bo", "ana"],
        "reason": "CRPA + NYCPS",
    },
    {
        "id": "requested-language-outweighs-a-provisional-credential",
        "request": {"need": Need.SUBSTANCE_USE, "languages": ["es"]},
        "candidates": {
            "ana": {"credentials": ["CRPA"]},
            "bo": {"credentials": ["CRPA-P"], "languages": ["es"]},
        },
        "order": ["bo", "ana"],
        "reason": "speaks Spanish · CRPA-P",
    },
    {
        "id": "several-languages-any-counts-all-counts-more",
        "request": {"need": Need.SUBSTANCE_USE, "languages": ["es", "ht"]},
        "candidates": {
            "ana": {"languages": ["en", "es"]},
            "bo": {"languages": ["es", "ht"]},
            "cy": {"languages": ["en"]},
            "di": {"languages": ["ht"], "yes_after_s": 10},
        },
        "order": ["bo", "di", "ana", "cy"],
        "reason": "speaks Spanish and Haitian Creole · CRPA",
    },
    {
        "id": "requested-gender",
        "request": {"need": Need.SUBSTANCE_USE, "gender": "male"},
        "candidates": {"ana": {"yes_after_s": 5}, "bo": {"gender": "male"}},
        "order": ["bo", "ana"],
        "reason": "male, as requested · CRPA",
    },
    {
        "id": "requested-age-range",
        "request": {"need": Need.SUBSTANCE_USE, "age_range": "36_plus"},
        "candidates": {"ana": {"yes_after_s": 5}, "bo": {"age_range": "36_plus"}},
        "order": ["bo", "ana"],
    },
    {
        "id": "preferred-agencies-by-rank",
        "request": {"need": Need.SUBSTANCE_USE, "preferred": {2: 1, 3: 2}},
        "candidates": {"ana": {"agency": 1}, "bo": {"agency": 3}, "cy": {"agency": 2}},
        "order": ["cy", "bo", "ana"],
        "reason": "preferred agency #1 · CRPA",
    },
    {
        "id": "language-outweighs-the-top-preferred-agency",
        "request": {"need": Need.SUBSTANCE_USE, "languages": ["es"], "preferred": {1: 1}},
        "candidates": {"ana": {"agency": 1}, "bo": {"agency": 2, "languages": ["es"]}},
        "order": ["bo", "ana"],
    },
    {
        "id": "gender-and-age-together-outweigh-the-top-preferred-agency",
        "request": {
            "need": Need.SUBSTANCE_USE,
            "gender": "male",
            "age_range": "36_plus",
            "preferred": {1: 1},
        },
        "candidates": {"ana": {"agency": 1}, "bo": {"agency": 2, "gender": "male", "age_range": "36_plus"}},
        "order": ["bo", "ana"],
    },
    {
        "id": "an-earlier-yes-wins-otherwise-equal",
        "request": {"need": Need.SUBSTANCE_USE},
        "candidates": {"ana": {"yes_after_s": 300}, "bo": {"yes_after_s": 60}, "cy": {"yes_after_s": 599}},
        "order": ["bo", "ana", "cy"],
    },
    {
        "id": "fewer-recent-assignments-outweigh-a-faster-yes",
        "request": {"need": Need.SUBSTANCE_USE},
        "candidates": {"ana": {"yes_after_s": 10, "recent": 2}, "bo": {"yes_after_s": 540, "recent": 0}},
        "order": ["bo", "ana"],
    },
    {
        "id": "credential-fit-outweighs-speed-and-fairness",
        "request": {"need": Need.SUBSTANCE_USE},
        "candidates": {
            "ana": {"credentials": ["CRPA-P"], "yes_after_s": 0, "recent": 0},
            "bo": {"credentials": ["CRPA"], "yes_after_s": 590, "recent": 3},
        },
        "order": ["bo", "ana"],
    },
    {
        "id": "blank-preferences-equal-peers-tie-and-the-lower-id-wins",
        "request": {"need": Need.SUBSTANCE_USE},
        "candidates": {"ana": {}, "bo": {}, "cy": {}},
        "ids": {"ana": 30, "bo": 10, "cy": 20},
        "order": ["bo", "cy", "ana"],
        "tie": True,
    },
    {
        "id": "preferred-agency-rank-2-beats-not-preferred-despite-a-slower-yes",
        "request": {"need": Need.SUBSTANCE_USE, "preferred": {5: 1, 6: 2, 7: 3}},
        "candidates": {"ana": {"agency": 9, "yes_after_s": 0}, "bo": {"agency": 6, "yes_after_s": 590}},
        "order": ["bo", "ana"],
        "reason": "preferred agency #2 · CRPA",
    },
    {
        "id": "everything-requested-together",
        "request": {
            "need": Need.CO_OCCURRING,
            "languages": ["es"],
            "gender": "female",
            "age_range": "36_plus",
            "preferred": {2: 1, 3: 2},
        },
        "candidates": {
            # Preferred #1, but covers one need only and speaks no Spanish.
            "ana": {"agency": 2, "credentials": ["CRPA"], "age_range": "36_plus"},
            # Covers both needs, speaks Spanish, preferred #2, but busy this week: with 3
            # assignments it would tie with cy (109 points) and win on the lower peer id.
            "bo": {"agency": 3, "credentials": ["CPRS"], "languages": ["es"], "recent": 5},
            # Covers both needs provisionally, speaks Spanish, female and 36+, not preferred.
            "cy": {
                "agency": 4,
                "credentials": ["CRPA-P", "NYCPS-P"],
                "languages": ["es"],
                "age_range": "36_plus",
            },
            # Matches everything, slowest reply.
            "di": {
                "agency": 2,
                "credentials": ["CRPA", "NYCPS"],
                "languages": ["en", "es"],
                "age_range": "36_plus",
                "yes_after_s": 590,
            },
        },
        "order": ["di", "cy", "bo", "ana"],
        "reason": (
            "speaks Spanish · female, as requested · age 36+, as requested · "
            "preferred agency #1 · CRPA + NYCPS"
        ),
    },
]


def build(scenario: dict) -> tuple[RequestProfile, list[Candidate], dict[int, str]]:
    request = scenario["request"]
    profile = RequestProfile(
        need=request["need"],
        alerted_at=T0,
        selection_due_at=T0 + dt.timedelta(minutes=10),
        age_range=request.get("age_range", ""),
        gender=request.get("gender", ""),
        languages={code: LANGUAGE_NAMES[code] for code in request.get("languages", [])},
        preferred_agencies=request.get("preferred", {}),
    )
    ids = scenario.get("ids", {})
    candidates, names = [], {}
    for position, (name, fields) in enumerate(scenario["candidates"].items(), start=1):
        fields = BASE | fields
        peer_id = ids.get(name, position)
        names[peer_id] = name
        candidates.append(
            Candidate(
                alert_id=1000 + peer_id,
                peer_id=peer_id,
                agency_id=fields["agency"],
                responded_at=T0 + dt.timedelta(seconds=fields["yes_after_s"]),
                credentials=tuple(CREDENTIALS[code] for code in fields["credentials"]),
                languages=frozenset(fields["languages"]),
                gender=fields["gender"],
                age_range=fields["age_range"],
                recent_assignments=fields["recent"],
            )
        )
    return profile, candidates, names


def test_there_are_at_least_twelve_scenarios_covering_every_component():
    assert len(SCENARIOS) >= 12
    requested = {key for scenario in SCENARIOS for key in scenario["request"]}
    varied = {key for scenario in SCENARIOS for fields in scenario["candidates"].values() for key in fields}
    assert {"languages", "gender", "age_range", "preferred"} <= requested
    assert {"credentials", "languages", "gender", "age_range", "agency", "yes_after_s", "recent"} <= varied


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_rank_orders_the_scenario(scenario):
    profile, candidates, names = build(scenario)
    ranked = rank(profile, candidates, weights=settings.PEERRX_MATCH_WEIGHTS)
    assert [names[r.peer_id] for r in ranked] == scenario["order"]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    if scenario.get("tie"):
        assert len(set(scores)) == 1
    if "reason" in scenario:
        assert ranked[0].reason == scenario["reason"]
