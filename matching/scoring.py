"""Pure scoring: who, among the peers who replied YES, is the best-matched peer.

No database access here: plain dataclasses in, plain dataclasses out, so every rule is
unit-tested on data and the same inputs always give the same order. ``peer_requests.candidates``
loads the data; ``settings.PEERRX_MATCH_WEIGHTS`` gives the weights (docs/dispatch.md, "How a peer is
chosen", explains them with a worked example).

Each component turns into a fraction between 0 and 1 which is multiplied by its weight.
A preference the location left blank contributes nothing to anybody. Hard eligibility
(who gets the alert at all) is decided elsewhere; this only orders the YES responders.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.choices import AgeRange, Gender, Need

COMPONENTS: tuple[str, ...] = (
    "credential_fit",
    "language",
    "gender",
    "age_range",
    "preferred_agency",
    "reply_speed",
    "fairness",
)

LABELS: dict[str, str] = {
    "credential_fit": "Credential fit",
    "language": "Requested language",
    "gender": "Requested gender",
    "age_range": "Requested age range",
    "preferred_agency": "Preferred agency",
    "reply_speed": "Reply speed",
    "fairness": "Fairness (assignments in the last 7 days)",
}

# Credential levels: a full credential counts twice a provisional one.
FULL = 1.0
PROVISIONAL = 0.5


@dataclass(frozen=True)
class CredentialInfo:
    """One validated, unexpired credential of a candidate."""

    code: str
    mental_health: bool
    substance_use: bool
    provisional: bool = False


@dataclass(frozen=True)
class RequestProfile:
    """What the location asked for, and the clock of the request."""

    need: str
    alerted_at: dt.datetime
    selection_due_at: dt.datetime
    age_range: str = ""
    gender: str = ""
    # Requested languages, code -> display name, in display order.
    languages: Mapping[str, str] = field(default_factory=dict)
    # The location's preferred agencies: agency id -> rank (1 is the most preferred).
    preferred_agencies: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """One YES responder, as plain data."""

    alert_id: int
    peer_id: int
    agency_id: int
    responded_at: dt.datetime
    credentials: tuple[CredentialInfo, ...] = ()
    languages: frozenset[str] = frozenset()
    gender: str = ""
    age_range: str = ""
    recent_assignments: int = 0


@dataclass(frozen=True)
class RankedCandidate:
    alert_id: int
    peer_id: int
    rank: int
    score: float
    breakdown: dict
    reason: str


@dataclass(frozen=True)
class Part:
    """One component for one candidate: a fraction of the weight, or None when not asked for."""

    fraction: float | None
    note: str
    # A short phrase for the location's one-line reason, when this part is worth saying.
    reason: str = ""


# --- weights ------------------------------------------------------------------------------


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights as floats; every component must have a finite, non-negative weight."""
    missing = set(COMPONENTS) - set(weights)
    unknown = set(weights) - set(COMPONENTS)
    if missing or unknown:
        raise ValueError(f"match weights: missing {sorted(missing)}, unknown {sorted(unknown)}")
    checked = {}
    for name in COMPONENTS:
        value = float(weights[name])
        # Negative weights would let a better match lower a score.
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"match weight {name} must be a finite number >= 0, not {weights[name]!r}")
        checked[name] = value
    return checked


# --- components ---------------------------------------------------------------------------


def _level(credentials: Iterable[CredentialInfo], area: str) -> float:
    level = 0.0
    for credential in credentials:
        if getattr(credential, area):
            level = max(level, PROVISIONAL if credential.provisional else FULL)
    return level


def _codes(credentials: Iterable[CredentialInfo], areas: tuple[str, ...]) -> str:
    codes = sorted({c.code for c in credentials if any(getattr(c, area) for area in areas)})
    return " + ".join(codes)


def credential_fit(need: str, credentials: Iterable[CredentialInfo]) -> Part:
    """Single need: full 1, provisional 0.5. Co-occurring: covering both areas beats one.

    Co-occurring: both areas 0.75 to 1 (0.125 more per full credential), a single area 0.25
    (provisional) or 0.5 (full). So two provisional credentials covering both needs still rank
    above one full credential covering one.
    """
    credentials = tuple(credentials)
    mental_health = _level(credentials, "mental_health")
    substance_use = _level(credentials, "substance_use")
    if need == Need.MENTAL_HEALTH:
        fraction, areas = mental_health, ("mental_health",)
    elif need == Need.SUBSTANCE_USE:
        fraction, areas = substance_use, ("substance_use",)
    else:
        areas = ("mental_health", "substance_use")
        if mental_health and substance_use:
            fraction = 0.5 + (mental_health + substance_use) / 4
        else:
            fraction = max(mental_health, substance_use) / 2
    codes = _codes(credentials, areas)
    if not codes:
        return Part(0.0, "no validated credential for this need")
    detail = codes
    if need == Need.CO_OCCURRING:
        detail += " (covers both needs)" if mental_health and substance_use else " (covers one need)"
    if fraction < 1 and need != Need.CO_OCCURRING:
        detail += " (provisional)"
    return Part(fraction, detail, reason=codes)


def language_match(requested: Mapping[str, str], spoken: Iterable[str]) -> Part:
    """Speaking any requested language earns 75%; the rest grows with the share spoken."""
    if not requested:
        return Part(None, "no language requested")
    spoken = set(spoken)
    matched = [name for code, name in requested.items() if code in spoken]
    if not matched:
        return Part(0.0, "speaks none of " + ", ".join(requested.values()))
    phrase = "speaks " + " and ".join(matched)
    return Part(0.75 + 0.25 * len(matched) / len(requested), phrase, reason=phrase)


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def gender_match(requested: str, gender: str) -> Part:
    if not requested:
        return Part(None, "no gender requested")
    if gender == requested:
        phrase = f"{_label(Gender, requested).lower()}, as requested"
        return Part(1.0, phrase, reason=phrase)
    return Part(0.0, f"not {_label(Gender, requested).lower()}")


def age_range_match(requested: str, age_range: str) -> Part:
    if not requested:
        return Part(None, "no age range requested")
    if age_range == requested:
        phrase = f"age {_label(AgeRange, requested)}, as requested"
        return Part(1.0, phrase, reason=phrase)
    return Part(0.0, f"not {_label(AgeRange, requested)}")


def preferred_agency(preferences: Mapping[int, int], agency_id: int) -> Part:
    """Position p of n preferences earns (n - p + 1) / n: #1 the full weight, the last 1/n."""
    if not preferences:
        return Part(None, "the location has no preferred agencies")
    rank = preferences.get(agency_id)
    if rank is None:
        return Part(0.0, "not one of the location's preferred agencies")
    # The position among the ranks, so gaps in stored ranks (1, 3) don't matter.
    position = 1 + sum(1 for other in preferences.values() if other < rank)
    phrase = f"preferred agency #{position}"
    return Part(
        (len(preferences) - position + 1) / len(preferences), f"{phrase} of {len(preferences)}", phrase
    )


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def reply_speed(alerted_at: dt.datetime, selection_due_at: dt.datetime, responded_at: dt.datetime) -> Part:
    """1 for an instant YES, falling linearly to 0 at the choice (and 0 after it)."""
    window = max((selection_due_at - alerted_at).total_seconds(), 1.0)
    elapsed = (responded_at - alerted_at).total_seconds()
    fraction = 1.0 - min(max(elapsed / window, 0.0), 1.0)
    return Part(fraction, f"replied YES after {_duration(elapsed)}")


def fairness(recent_assignments: int) -> Part:
    """1 / (1 + assignments in the last 7 days): 1, 1/2, 1/3 ... never below 0."""
    count = max(0, recent_assignments)
    noun = "assignment" if count == 1 else "assignments"
    return Part(1.0 / (1 + count), f"{count} {noun} in the last 7 days")


def parts(profile: RequestProfile, candidate: Candidate) -> dict[str, Part]:
    return {
        "credential_fit": credential_fit(profile.need, candidate.credentials),
        "language": language_match(profile.languages, candidate.languages),
        "gender": gender_match(profile.gender, candidate.gender),
        "age_range": age_range_match(profile.age_range, candidate.age_range),
        "preferred_agency": preferred_agency(profile.preferred_agencies, candidate.agency_id),
        "reply_speed": reply_speed(profile.alerted_at, profile.selection_due_at, candidate.responded_at),
        "fairness": fairness(candidate.recent_assignments),
    }


# --- scoring and ranking ------------------------------------------------------------------

# The order of phrases in the location's one-line reason.
REASON_ORDER = ("language", "gender", "age_range", "preferred_agency", "credential_fit")


def score(
    profile: RequestProfile, candidate: Candidate, *, weights: Mapping[str, float]
) -> tuple[float, dict]:
    """The candidate's score and its JSON-serialisable breakdown.

    The breakdown maps each component to its points, plus ``total``, ``weights`` and an
    ordered ``rows`` list (label, points, max, note) that explains the score as it was
    computed, even if the weights change later.
    """
    weights = validate_weights(weights)
    breakdown: dict = {}
    rows = []
    for name, part in parts(profile, candidate).items():
        # Rounded per component so the shown points add up exactly to the total.
        points = round(weights[name] * (part.fraction or 0.0), 2)
        breakdown[name] = points
        rows.append(
            {
                "component": name,
                "label": LABELS[name],
                "points": points,
                "max": weights[name],
                "note": part.note,
                "asked": part.fraction is not None,
            }
        )
    total = round(sum(breakdown[name] for name in COMPONENTS), 2)
    breakdown["total"] = total
    breakdown["weights"] = weights
    breakdown["rows"] = rows
    return total, breakdown


def reason(profile: RequestProfile, candidate: Candidate) -> str:
    """One line for the location, e.g. "speaks Spanish · preferred agency #1 · CRPA + NYCPS"."""
    found = parts(profile, candidate)
    phrases = [found[name].reason for name in REASON_ORDER if found[name].reason]
    return " · ".join(phrases) or "replied YES"


def rank(
    profile: RequestProfile, candidates: Iterable[Candidate], *, weights: Mapping[str, float]
) -> list[RankedCandidate]:
    """Best first. Ties: higher score, then earlier YES, then lower peer id (then alert id)."""
    weights = validate_weights(weights)
    scored = []
    for candidate in candidates:
        total, breakdown = score(profile, candidate, weights=weights)
        scored.append((total, breakdown, candidate))
    scored.sort(key=lambda item: (-item[0], item[2].responded_at, item[2].peer_id, item[2].alert_id))
    ranked = []
    for position, (total, breakdown, candidate) in enumerate(scored, start=1):
        breakdown["rank"] = position
        ranked.append(
            RankedCandidate(
                alert_id=candidate.alert_id,
                peer_id=candidate.peer_id,
                rank=position,
                score=total,
                breakdown=breakdown,
                reason=reason(profile, candidate),
            )
        )
    return ranked
