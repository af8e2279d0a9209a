"""Properties of the ranking, checked on generated requests and candidates (hypothesis)."""

import dataclasses
import datetime as dt
import itertools

from django.conf import settings
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.choices import AgeRange, Gender, Need
from matching.scoring import Candidate, CredentialInfo, RequestProfile, rank, score
from tests.world import T0

WEIGHTS = settings.PEERRX_MATCH_WEIGHTS
# No per-example deadline: a busy CI machine must not turn a slow example into a failure.
relaxed = hypothesis_settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

CREDENTIALS = [
    CredentialInfo("CRPA", mental_health=False, substance_use=True),
    CredentialInfo("CRPA-P", mental_health=False, substance_use=True, provisional=True),
    CredentialInfo("NYCPS", mental_health=True, substance_use=False),
    CredentialInfo("NYCPS-P", mental_health=True, substance_use=False, provisional=True),
    CredentialInfo("CPRS", mental_health=True, substance_use=True),
]
FULL_BOTH = (CREDENTIALS[0], CREDENTIALS[2])
LANGUAGES = {"en": "English", "es": "Spanish", "ht": "Haitian Creole", "zh": "Chinese", "ru": "Russian"}
AGENCIES = range(1, 7)

needs = st.sampled_from(list(Need.values))
genders = st.sampled_from(list(Gender.values))
age_ranges = st.sampled_from(list(AgeRange.values))
language_sets = st.frozensets(st.sampled_from(list(LANGUAGES)))


@st.composite
def profiles(draw, *, blank: bool = False) -> RequestProfile:
    if blank:
        languages, gender, age_range, preferred = {}, "", "", {}
    else:
        languages = {code: LANGUAGES[code] for code in sorted(draw(language_sets))}
        gender = draw(st.one_of(st.just(""), genders))
        age_range = draw(st.one_of(st.just(""), age_ranges))
        agencies = draw(st.lists(st.sampled_from(list(AGENCIES)), unique=True, max_size=4))
        preferred = {agency: position for position, agency in enumerate(agencies, start=1)}
    return RequestProfile(
        need=draw(needs),
        alerted_at=T0,
        selection_due_at=T0 + dt.timedelta(minutes=10),
        languages=languages,
        gender=gender,
        age_range=age_range,
        preferred_agencies=preferred,
    )


@st.composite
def candidates(draw, peer_id: int | None = None) -> Candidate:
    peer_id = draw(st.integers(1, 10_000)) if peer_id is None else peer_id
    return Candidate(
        alert_id=peer_id + 50_000,
        peer_id=peer_id,
        agency_id=draw(st.sampled_from(list(AGENCIES))),
        responded_at=T0 + dt.timedelta(seconds=draw(st.integers(0, 1800))),
        credentials=tuple(draw(st.lists(st.sampled_from(CREDENTIALS), max_size=3, unique=True))),
        languages=draw(language_sets),
        gender=draw(genders),
        age_range=draw(age_ranges),
        recent_assignments=draw(st.integers(0, 8)),
    )


@st.composite
def candidate_lists(draw, min_size: int = 1, max_size: int = 12) -> list[Candidate]:
    peer_ids = draw(st.lists(st.integers(1, 10_000), unique=True, min_size=min_size, max_size=max_size))
    return [draw(candidates(peer_id=peer_id)) for peer_id in peer_ids]


def total(profile: RequestProfile, candidate: Candidate) -> float:
    return score(profile, candidate, weights=WEIGHTS)[0]


class TestAddingARequestedAttribute:
    @relaxed
    @given(profile=profiles(), candidate=candidates(), data=st.data())
    def test_it_never_lowers_the_score(self, profile, candidate, data):
        before = total(profile, candidate)
        changes = []
        if profile.languages:
            language = data.draw(st.sampled_from(list(profile.languages)))
            changes.append({"languages": candidate.languages | {language}})
        if profile.gender:
            changes.append({"gender": profile.gender})
        if profile.age_range:
            changes.append({"age_range": profile.age_range})
        if profile.preferred_agencies:
            changes.append({"agency_id": min(profile.preferred_agencies, key=profile.preferred_agencies.get)})
        credential = data.draw(st.sampled_from(CREDENTIALS))
        changes.append({"credentials": (*candidate.credentials, credential)})
        for change in changes:
            assert total(profile, dataclasses.replace(candidate, **change)) >= before, change


class TestMatchingEverything:
    @relaxed
    @given(profile=profiles(), candidate=candidates(peer_id=2), data=st.data())
    def test_it_outranks_matching_a_strict_subset_other_things_equal(self, profile, candidate, data):
        everything = dataclasses.replace(
            candidate,
            credentials=FULL_BOTH,
            languages=frozenset(profile.languages),
            gender=profile.gender or candidate.gender,
            age_range=profile.age_range or candidate.age_range,
            agency_id=(
                min(profile.preferred_agencies, key=profile.preferred_agencies.get)
                if profile.preferred_agencies
                else candidate.agency_id
            ),
        )
        # Drop at least one of the things matched; everything else stays equal.
        drops = {
            "credentials": (CREDENTIALS[1],) if profile.need != Need.MENTAL_HEALTH else (CREDENTIALS[3],),
        }
        if profile.languages:
            kept = data.draw(st.frozensets(st.sampled_from(list(profile.languages))))
            assume(len(kept) < len(profile.languages))
            drops["languages"] = kept
        if profile.gender:
            drops["gender"] = next(g for g in Gender.values if g != profile.gender)
        if profile.age_range:
            drops["age_range"] = next(a for a in AgeRange.values if a != profile.age_range)
        if profile.preferred_agencies:
            drops["agency_id"] = next(a for a in AGENCIES if a not in profile.preferred_agencies)
        # One attribute dropped (the closest subset), sometimes more.
        chosen = {data.draw(st.sampled_from(sorted(drops)))} | data.draw(
            st.sets(st.sampled_from(sorted(drops)))
        )
        subset = dataclasses.replace(
            everything, peer_id=1, alert_id=1, **{name: drops[name] for name in chosen}
        )
        # The subset peer has the lower id: only the score can put the full match first.
        ranked = rank(profile, [subset, everything], weights=WEIGHTS)
        assert [r.peer_id for r in ranked] == [2, 1]
        assert ranked[0].score > ranked[1].score


class TestNoPreferences:
    @relaxed
    @given(profile=profiles(blank=True), people=candidate_lists(min_size=2), data=st.data())
    def test_otherwise_equal_candidates_tie_and_the_lower_id_wins(self, profile, people, data):
        credentials = data.draw(st.lists(st.sampled_from(CREDENTIALS), max_size=3, unique=True))
        equal = [
            dataclasses.replace(
                person,
                credentials=tuple(credentials),
                responded_at=T0 + dt.timedelta(minutes=3),
                recent_assignments=1,
            )
            for person in people
        ]
        ranked = rank(profile, equal, weights=WEIGHTS)
        assert len({r.score for r in ranked}) == 1
        assert [r.peer_id for r in ranked] == sorted(p.peer_id for p in people)

    @relaxed
    @given(profile=profiles(blank=True), people=candidate_lists(min_size=2))
    def test_otherwise_equal_candidates_are_ordered_by_the_earlier_yes_then_id(self, profile, people):
        equal = [dataclasses.replace(p, credentials=FULL_BOTH, recent_assignments=0) for p in people]
        ranked = rank(profile, equal, weights=WEIGHTS)
        by_id = {p.peer_id: p for p in equal}
        keys = [(-r.score, by_id[r.peer_id].responded_at, r.peer_id) for r in ranked]
        assert keys == sorted(keys)
        # Same credentials and fairness: the earlier YES is never below a later one.
        times = [by_id[r.peer_id].responded_at for r in ranked]
        assert times == sorted(times)


class TestOrder:
    @relaxed
    @given(profile=profiles(), people=candidate_lists(), data=st.data())
    def test_it_is_total_and_the_same_on_every_run(self, profile, people, data):
        shuffled = data.draw(st.permutations(people))
        first = rank(profile, people, weights=WEIGHTS)
        again = rank(profile, shuffled, weights=WEIGHTS)
        assert [(r.peer_id, r.score, r.reason, r.breakdown) for r in first] == [
            (r.peer_id, r.score, r.reason, r.breakdown) for r in again
        ]
        assert sorted(r.peer_id for r in first) == sorted(p.peer_id for p in people)
        by_id = {p.peer_id: p for p in people}
        keys = [(-r.score, by_id[r.peer_id].responded_at, r.peer_id) for r in first]
        # Strictly increasing: no two candidates are left unordered.
        assert all(a < b for a, b in itertools.pairwise(keys))
