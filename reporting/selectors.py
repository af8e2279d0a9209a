"""Every report, computed by the database.

Each selector takes a ``Criteria``: a date range in the viewer's time zone plus optional
location / agency / need filters. Scoping is expressed with the same two fields:

- Peer-RX staff see everything; the agency filter shows exactly what that agency sees.
- An agency (``agency_id``) sees the requests its peers were alerted for, and only its own
  peers' alerts, replies and assignments: a request filled by another agency's peer counts
  as placed, never as filled, and no figure describes another agency's peers.
- A location (``location_id``) sees its own requests.

Days, weeks, weekdays and hours are those of ``Criteria.tz_name`` (the organisation's
zone), so a request at 23:59 local is on that day and daylight-saving days have 23 or 25
hours: the database counts per UTC hour and the hourly buckets are summed into local ones.
Python only ever loops over aggregated buckets, never over rows; the exception is the
percentile fallback on SQLite, which has no percentile aggregate.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Cast,
    Extract,
    ExtractHour,
    ExtractMinute,
    Floor,
    Mod,
    TruncHour,
    TruncMonth,
    TruncWeek,
)

from agencies.models import Agency
from core.choices import TIME_ZONES, AgeRange, Gender, Need
from peer_requests.models import Alert, PeerRequest, RequestStatus
from peers.models import AvailabilityWindow, Peer
from reporting import rollups
from reporting.models import (
    DECLINE_FIELDS,
    REPLY_STEPS,
    RESPONSE_FIELDS,
    AgencyHour,
    RollupState,
    declined_field,
    replied_within_field,
)

MAX_RANGE_DAYS = 400
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MINUTES_PER_WEEK = 7 * 24 * 60


@dataclass(frozen=True)
class Criteria:
    """What a report covers: ``start`` to ``end`` inclusive, as local dates in ``tz_name``."""

    tz_name: str
    start: dt.date
    end: dt.date
    location_id: int | None = None
    agency_id: int | None = None
    need: str = ""

    def __post_init__(self) -> None:
        # Hourly buckets are summed into local hours and days: that needs whole-hour offsets,
        # which every zone an organisation can choose has (core.choices.TIME_ZONES).
        for instant in (self.start_at, self.end_at):
            if instant.utcoffset() % dt.timedelta(hours=1):
                raise ValueError(f"{self.tz_name} is not a whole number of hours from UTC")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=self.tz)

    @property
    def end_at(self) -> dt.datetime:
        """The first instant after the range: local midnight after ``end``."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=self.tz)


# --- Building blocks ----------------------------------------------------------------------


def percentile_cont(counts: list[tuple[dt.timedelta, int]], fraction: float) -> dt.timedelta | None:
    """PostgreSQL's percentile_cont over ascending (value, how many times) pairs."""
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    total = sum(n for _value, n in counts)
    if not total:
        return None
    position = fraction * (total - 1)
    lower = math.floor(position)
    lower_value = upper_value = None
    seen = 0
    for value, n in counts:
        seen += n
        if lower_value is None and seen > lower:
            lower_value = value
        if seen > min(lower + 1, total - 1):
            upper_value = value
            break
    return lower_value + (upper_value - lower_value) * (position - lower)


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _request_q(c: Criteria, prefix: str = "") -> Q:
    """The requests a report covers; ``prefix`` reaches them from a related model."""
    q = Q(**{f"{prefix}created_at__gte": c.start_at, f"{prefix}created_at__lt": c.end_at})
    if c.location_id:
        q &= Q(**{f"{prefix}location_id": c.location_id})
    if c.need:
        q &= Q(**{f"{prefix}need": c.need})
    if c.agency_id:
        request_ref = f"{prefix[:-2]}_id" if prefix else "pk"
        alerted = Alert.objects.filter(request_id=OuterRef(request_ref), peer__agency_id=c.agency_id)
        q &= Q(Exists(alerted))
    return q


def _filled_q(c: Criteria, prefix: str = "") -> Q:
    """Filled requests; for an agency, only those its own peers filled."""
    q = Q(**{f"{prefix}status": RequestStatus.ASSIGNED})
    if c.agency_id:
        q &= Q(**{f"{prefix}assigned_peer__agency_id": c.agency_id})
    return q


def requests_in_scope(*, criteria: Criteria) -> QuerySet[PeerRequest]:
    return PeerRequest.objects.filter(_request_q(criteria))


def _sent_q(c: Criteria) -> Q:
    """Alerts (or alert texts) sent in the range, by when they went out.

    Alerts go out while a request is live (most at submit, late joiners and the backup
    agencies' within its 30 minutes), so this is the requests' range to within minutes, and
    the whole-year reports need not join millions of alerts to requests.
    An agency only ever gets its own peers' alerts.
    """
    q = Q(created_at__gte=c.start_at, created_at__lt=c.end_at)
    if c.location_id:
        q &= Q(request__location_id=c.location_id)
    if c.need:
        q &= Q(request__need=c.need)
    if c.agency_id:
        q &= Q(peer__agency_id=c.agency_id)
    return q


def _outcome_counts(c: Criteria) -> dict[str, Count]:
    return {
        "placed": Count("id"),
        "filled": Count("id", filter=_filled_q(c)),
        "expired": Count("id", filter=Q(status=RequestStatus.EXPIRED)),
        "cancelled": Count("id", filter=Q(status=RequestStatus.CANCELLED)),
    }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Outcomes:
    placed: int
    filled: int
    expired: int
    cancelled: int

    @property
    def other(self) -> int:
        """Still active, or (for an agency) filled by another agency's peer."""
        return self.placed - self.filled - self.expired - self.cancelled

    @property
    def fill_rate(self) -> float | None:
        return _rate(self.filled, self.placed)

    @property
    def expiry_rate(self) -> float | None:
        return _rate(self.expired, self.placed)

    @property
    def cancellation_rate(self) -> float | None:
        return _rate(self.cancelled, self.placed)


def _outcomes(row: dict) -> Outcomes:
    return Outcomes(
        placed=row["placed"], filled=row["filled"], expired=row["expired"], cancelled=row["cancelled"]
    )


EMPTY = Outcomes(0, 0, 0, 0)


# --- 1. Requests placed, outcomes, time to assignment ---------------------------------------


@dataclass(frozen=True)
class RequestSummary:
    outcomes: Outcomes
    median_time_to_fill: dt.timedelta | None
    p90_time_to_fill: dt.timedelta | None


def request_summary(*, criteria: Criteria) -> RequestSummary:
    """Placed, filled, expired and cancelled, with the median and 90th percentile time to fill."""
    requests = requests_in_scope(criteria=criteria)
    totals = requests.aggregate(**_outcome_counts(criteria))
    filled = requests.filter(_filled_q(criteria), assigned_at__isnull=False)
    wait = _duration("assigned_at", "created_at")
    if connection.vendor == "postgresql":
        # Counted per whole second: a parallel hash aggregate of ~2,000 groups over a year,
        # where percentile_cont sorts 800,000 durations on one core (1 s measured).
        seconds = Cast(Extract(wait, "epoch"), IntegerField())
        counts = [
            (dt.timedelta(seconds=value), n)
            for value, n in filled.annotate(seconds=seconds)
            .values_list("seconds")
            .annotate(n=Count("*"))
            .order_by("seconds")
        ]
    else:
        counts = [
            (value, 1) for value in filled.annotate(wait=wait).order_by("wait").values_list("wait", flat=True)
        ]
    median, p90 = percentile_cont(counts, 0.5), percentile_cont(counts, 0.9)
    return RequestSummary(outcomes=_outcomes(totals), median_time_to_fill=median, p90_time_to_fill=p90)


# How the assigned peer was reached: each step of the dispatch that can bring the peer.
REACH = (
    ("first", "First wave, at submit"),
    ("late", "Became available later"),
    ("reminder", "Said YES after the reminder"),
    ("widened", "Backup agency (widened)"),
)


@dataclass(frozen=True)
class ReachRow:
    reach: str
    label: str
    filled: int
    fill_rate: float | None  # of the requests placed
    median_time_to_fill: dt.timedelta | None
    p90_time_to_fill: dt.timedelta | None


def filled_by_reach(*, criteria: Criteria) -> list[ReachRow]:
    """Filled requests by how their peer was reached (first wave, late joiner, reminder,
    widened), with fill rate and time to assignment for each: what each step buys (two queries)."""
    placed = requests_in_scope(criteria=criteria).count()
    reminded = Q(reminded_at__isnull=False, responded_at__gt=F("reminded_at"))
    reach = Case(When(reminded, then=Value("reminder")), default=F("wave"), output_field=CharField())
    assigned = Alert.objects.filter(
        _request_q(criteria, prefix="request__"), _filled_q(criteria, prefix="request__"), is_assigned=True
    ).annotate(reach=reach)
    wait = _duration("request__assigned_at", "request__created_at")
    counts: dict[str, list[tuple[dt.timedelta, int]]] = {name: [] for name, _label in REACH}
    if connection.vendor == "postgresql":
        seconds = Cast(Extract(wait, "epoch"), IntegerField())
        found = assigned.annotate(seconds=seconds).values_list("reach", "seconds").annotate(n=Count("*"))
        for name, value, n in found.order_by("reach", "seconds"):
            counts.setdefault(name, []).append((dt.timedelta(seconds=value), n))
    else:
        for name, value in (
            assigned.annotate(wait=wait).order_by("reach", "wait").values_list("reach", "wait")
        ):
            counts.setdefault(name, []).append((value, 1))
    rows = []
    for name, label in REACH:
        filled = sum(n for _value, n in counts[name])
        rows.append(
            ReachRow(
                reach=name,
                label=label,
                filled=filled,
                fill_rate=_rate(filled, placed),
                median_time_to_fill=percentile_cont(counts[name], 0.5),
                p90_time_to_fill=percentile_cont(counts[name], 0.9),
            )
        )
    return rows


# --- the loop closed: time to the patient's side, encounters, billing units ----------------------

BEDSIDE_TARGET = dt.timedelta(minutes=60)  # a peer at the bedside within the hour
BEDSIDE_GROUPS = ("location", "agency", "need", "week")
# Medicaid peer services (H0038) bill in 15-minute units; a unit counts from 8 minutes.
BILLING_UNIT_MINUTES = 15
BILLING_UNIT_FROM_MINUTES = 8


def _minutes(end: str, start: str):
    """Whole minutes between two fields (rounded down, as in Python), computed by PostgreSQL."""
    return Cast(Floor(Extract(_duration(end, start), "epoch") / 60), IntegerField())


def _minute_counts(queryset: QuerySet, *, keys: dict, end: str, start: str) -> list[tuple[tuple, int, int]]:
    """(key values, whole minutes from ``start`` to ``end``, how many) over the queryset, counted
    in the database on PostgreSQL (a hash aggregate), in Python on SQLite."""
    names = tuple(keys)
    if connection.vendor == "postgresql":
        rows = (
            queryset.annotate(**keys, minutes=_minutes(end, start))
            .values_list(*names, "minutes")
            .annotate(n=Count("*"))
            .order_by(*names, "minutes")
        )
        return [(tuple(row[: len(names)]), row[-2], row[-1]) for row in rows]
    found: dict[tuple, int] = {}
    for row in queryset.annotate(**keys).values_list(*names, end, start):
        minutes = int((row[-2] - row[-1]).total_seconds() // 60)
        key = (tuple(row[: len(names)]), minutes)
        found[key] = found.get(key, 0) + 1
    return [
        (key, minutes, n)
        for (key, minutes), n in sorted(found.items(), key=lambda item: (str(item[0][0]), item[0][1]))
    ]


@dataclass(frozen=True)
class BedsideRow:
    label: str
    arrived: int
    median: dt.timedelta | None
    p90: dt.timedelta | None
    within_hour: float | None  # share of the arrivals within 60 minutes of the request


def _bedside_row(label: str, counts: list[tuple[int, int]]) -> BedsideRow:
    durations = [(dt.timedelta(minutes=minutes), n) for minutes, n in sorted(counts)]
    arrived = sum(n for _minutes, n in counts)
    within = sum(n for minutes, n in counts if dt.timedelta(minutes=minutes) < BEDSIDE_TARGET)
    return BedsideRow(
        label=label,
        arrived=arrived,
        median=percentile_cont(durations, 0.5),
        p90=percentile_cont(durations, 0.9),
        within_hour=_rate(within, arrived),
    )


def time_to_bedside(*, criteria: Criteria, by: str) -> list[BedsideRow]:
    """Time from the request to the peer at the patient's side (arrived), median and p90 and the
    share within 60 minutes, per location, agency, need or week (local), whole minutes; one query
    (two by agency: the names). The first row is every arrival together."""
    if by not in BEDSIDE_GROUPS:
        raise ValueError(f"time to bedside by {by!r}")
    arrived = requests_in_scope(criteria=criteria).filter(_filled_q(criteria), arrived_at__isnull=False)
    key = {
        "location": F("location__name"),
        # By id, not name: joining the agencies here made PostgreSQL pick a nested loop over an
        # agency's own requests (5.4 s for one agency's year, against 0.18 s by id).
        "agency": F("assigned_peer__agency_id"),
        "need": F("need"),
        "week": TruncWeek("created_at", tzinfo=criteria.tz),
    }[by]
    groups: dict = {}
    everything: list[tuple[int, int]] = []
    for (value,), minutes, n in _minute_counts(
        arrived, keys={"group": key}, end="arrived_at", start="created_at"
    ):
        groups.setdefault(value, []).append((minutes, n))
        everything.append((minutes, n))
    labels: dict = {}
    if by == "agency":
        labels = dict(Agency.objects.filter(pk__in=list(groups)).values_list("pk", "name"))
    rows = [_bedside_row("All", everything)]
    for value, counts in groups.items():
        if by == "need":
            label = Need(value).label
        elif by == "week":
            label = f"Week of {value.astimezone(criteria.tz):%b %-d, %Y}"
        else:
            label = labels.get(value, value)
        rows.append(_bedside_row(label, counts))
    rows[1:] = sorted(rows[1:], key=lambda row: row.label) if by != "week" else rows[1:]
    return rows


@dataclass(frozen=True)
class EncounterRow:
    label: str
    encounters: int
    naloxone_kits: int
    median_length: dt.timedelta | None


def encounters_by_outcome(*, criteria: Criteria) -> list[EncounterRow]:
    """Finished encounters by outcome (peer at the bedside, then done), naloxone kits given and
    the median length (arrival to finish); automatic closes are a row of their own; one query."""
    finished = requests_in_scope(criteria=criteria).filter(
        _filled_q(criteria), finished_at__isnull=False, arrived_at__isnull=False
    )
    outcome = Case(
        When(finished_how=PeerRequest.FinishedHow.AUTOMATIC, then=Value("automatic")),
        When(encounter_outcome="", then=Value("unknown")),
        default=F("encounter_outcome"),
        output_field=CharField(),
    )
    kit = Case(When(naloxone_kit_given=True, then=Value(1)), default=Value(0), output_field=IntegerField())
    rows: dict[str, dict] = {}
    for (name, given), minutes, n in _minute_counts(
        finished, keys={"outcome": outcome, "kit": kit}, end="finished_at", start="arrived_at"
    ):
        row = rows.setdefault(name, {"n": 0, "kits": 0, "lengths": []})
        row["n"] += n
        row["kits"] += n if given else 0
        row["lengths"].append((minutes, n))
    labels = [(value, label) for value, label in PeerRequest._meta.get_field("encounter_outcome").choices]
    labels += [("unknown", "Outcome not recorded"), ("automatic", "Closed automatically (never said done)")]
    result = []
    for value, label in labels:
        row = rows.get(value, {"n": 0, "kits": 0, "lengths": []})
        lengths = [(dt.timedelta(minutes=m), n) for m, n in sorted(row["lengths"])]
        result.append(EncounterRow(label, row["n"], row["kits"], percentile_cont(lengths, 0.5)))
    return result


@dataclass(frozen=True)
class BillingRow:
    agency: str
    peer: str
    month: dt.date
    encounters: int
    minutes: int
    units: int


def billing_units(*, criteria: Criteria) -> list[BillingRow]:
    """Encounters per agency, peer and month (local) with their minutes at the bedside (arrival to
    finish) and 15-minute units (a unit from 8 minutes on, per encounter), for H0038 billing.
    Automatic closes are left out: nobody said the encounter ended then. Two queries: the
    figures per peer and month (PostgreSQL adds up each encounter's minutes and units; on
    SQLite Python does), then the peers' names and agencies."""
    finished = (
        requests_in_scope(criteria=criteria)
        .filter(_filled_q(criteria), finished_at__isnull=False, arrived_at__isnull=False)
        .exclude(finished_how=PeerRequest.FinishedHow.AUTOMATIC)
    )
    keys = {"peer_id": F("assigned_peer_id"), "month": TruncMonth("created_at", tzinfo=criteria.tz)}
    found: dict[tuple, list[int]] = {}

    def add(peer_id: int, month: dt.datetime, encounters: int, minutes: int, units: int) -> None:
        row = found.setdefault((peer_id, month.astimezone(criteria.tz).date()), [0, 0, 0])
        row[0] += encounters
        row[1] += minutes
        row[2] += units

    if connection.vendor == "postgresql":
        minutes = _minutes("finished_at", "arrived_at")
        units = ExpressionWrapper(
            (minutes + BILLING_UNIT_MINUTES - BILLING_UNIT_FROM_MINUTES) / BILLING_UNIT_MINUTES,
            output_field=IntegerField(),
        )
        rows = (
            finished.annotate(**keys)
            .values_list(*keys)
            .annotate(encounters=Count("*"), minutes=Sum(minutes), units=Sum(units))
            .order_by(*keys)
        )
        for peer_id, month, encounters, total, unit_count in rows:
            add(peer_id, month, encounters, total, unit_count)
    else:
        for (peer_id, month), whole, n in _minute_counts(
            finished, keys=keys, end="finished_at", start="arrived_at"
        ):
            per = (whole + BILLING_UNIT_MINUTES - BILLING_UNIT_FROM_MINUTES) // BILLING_UNIT_MINUTES
            add(peer_id, month, n, whole * n, per * n)
    names = {
        pk: (agency, f"{first} {last}")
        for pk, first, last, agency in Peer.objects.filter(
            pk__in={peer_id for peer_id, _month in found}
        ).values_list("pk", "first_name", "last_name", "agency__name")
    }
    rows = [
        BillingRow(*names[peer_id], month, encounters, minutes, units)
        for (peer_id, month), (encounters, minutes, units) in found.items()
    ]
    return sorted(rows, key=lambda row: (row.agency, row.peer, row.month))


@dataclass(frozen=True)
class PeriodRow:
    start: dt.date
    outcomes: Outcomes


def _hourly_outcomes(c: Criteria) -> list[tuple[dt.datetime, Outcomes]]:
    """Outcomes per hour (in UTC), one row per hour with requests.

    Every supported zone is a whole number of hours from UTC, so each UTC hour falls into
    exactly one local hour, day and week, whatever the zone and the daylight-saving date:
    the local buckets are summed from these in Python. Truncating in UTC costs the
    database far less than converting every row to local time (measured: 0.3 s instead
    of 2.3 s for weekday and hour over a year of 1,000,000 requests).
    """
    rows = (
        requests_in_scope(criteria=c)
        .annotate(hour=TruncHour("created_at", tzinfo=dt.UTC))
        .values("hour")
        .annotate(**_outcome_counts(c))
        .order_by("hour")
    )
    return [(row["hour"].astimezone(c.tz), _outcomes(row)) for row in rows]


def _add(a: Outcomes, b: Outcomes) -> Outcomes:
    return Outcomes(
        a.placed + b.placed, a.filled + b.filled, a.expired + b.expired, a.cancelled + b.cancelled
    )


def requests_per_period(*, criteria: Criteria, period: str = "day") -> list[PeriodRow]:
    """One row per local day (or week, starting Monday) of the range, empty ones included."""
    if period == "day":
        step, first = dt.timedelta(days=1), criteria.start
    elif period == "week":
        step, first = dt.timedelta(weeks=1), criteria.start - dt.timedelta(days=criteria.start.weekday())
    else:
        raise ValueError(f"unknown period {period!r}")
    found: dict[dt.date, Outcomes] = {}
    for local_hour, outcomes in _hourly_outcomes(criteria):
        day = local_hour.date()
        key = day if period == "day" else day - dt.timedelta(days=day.weekday())
        found[key] = _add(found.get(key, EMPTY), outcomes)
    result, day = [], first
    while day <= criteria.end:
        result.append(PeriodRow(start=day, outcomes=found.get(day, EMPTY)))
        day += step
    return result


# --- 2. Requests per location -----------------------------------------------------------------


@dataclass(frozen=True)
class LocationRow:
    location_id: int
    name: str
    outcomes: Outcomes


def requests_per_location(*, criteria: Criteria) -> list[LocationRow]:
    rows = (
        requests_in_scope(criteria=criteria)
        .values("location_id", "location__name")
        .annotate(**_outcome_counts(criteria))
        .order_by("-placed", "location__name")
    )
    return [LocationRow(r["location_id"], r["location__name"], _outcomes(r)) for r in rows]


# --- 3. Requests by need ------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedRow:
    need: str
    label: str
    outcomes: Outcomes


def requests_by_need(*, criteria: Criteria) -> list[NeedRow]:
    """Every need, with zeros for needs nobody asked for."""
    rows = (
        requests_in_scope(criteria=criteria)
        .values("need")
        .annotate(**_outcome_counts(criteria))
        .order_by("need")
    )
    found = {r["need"]: _outcomes(r) for r in rows}
    return [NeedRow(need, label, found.get(need, EMPTY)) for need, label in Need.choices]


# --- 4. Characteristics requested, and met --------------------------------------------------------


@dataclass(frozen=True)
class CharacteristicRow:
    characteristic: str  # "Age range", "Gender", "Language"
    value: str
    requested: int
    filled: int
    met: int

    @property
    def met_rate(self) -> float | None:
        """Of the filled requests asking for this, how many got a peer who matched it."""
        return _rate(self.met, self.filled)


def characteristics(*, criteria: Criteria) -> list[CharacteristicRow]:
    """Age range, gender and languages requested, and how often the assigned peer matched them.

    A language is met when the assigned peer speaks it. Two queries: requests grouped by
    (age range, gender), and the requested languages grouped by language.
    """
    filled = _filled_q(criteria)
    combos = (
        requests_in_scope(criteria=criteria)
        .values("age_range", "gender")
        .annotate(
            requested=Count("id"),
            filled=Count("id", filter=filled),
            age_met=Count("id", filter=filled & Q(age_range=F("assigned_peer__age_range"))),
            gender_met=Count("id", filter=filled & Q(gender=F("assigned_peer__gender"))),
        )
        .order_by("age_range", "gender")
    )
    by_age: dict[str, list[int]] = {}
    by_gender: dict[str, list[int]] = {}
    for row in combos:
        for bucket, key, met in (
            (by_age, row["age_range"], "age_met"),
            (by_gender, row["gender"], "gender_met"),
        ):
            counts = bucket.setdefault(key, [0, 0, 0])
            counts[0] += row["requested"]
            counts[1] += row["filled"]
            counts[2] += row[met]

    filled_here = _filled_q(criteria, "peerrequest__")
    spoken = Peer.languages.through.objects.filter(
        peer_id=OuterRef("peerrequest__assigned_peer_id"), language_id=OuterRef("language_id")
    )
    languages = (
        PeerRequest.languages.through.objects.filter(_request_q(criteria, "peerrequest__"))
        .values("language_id", "language__name")
        .annotate(
            requested=Count("id"),
            filled=Count("id", filter=filled_here),
            met=Count("id", filter=filled_here & Q(Exists(spoken))),
        )
        .order_by("-requested", "language__name")
    )

    rows = []
    for characteristic, choices, bucket in (
        ("Age range", AgeRange.choices, by_age),
        ("Gender", Gender.choices, by_gender),
    ):
        for value, label in choices:
            requested, filled_count, met = bucket.get(value, [0, 0, 0])
            rows.append(CharacteristicRow(characteristic, label, requested, filled_count, met))
    rows.extend(
        CharacteristicRow("Language", r["language__name"], r["requested"], r["filled"], r["met"])
        for r in languages
    )
    return rows


# --- 5. Peer response per agency ------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseRow:
    agency_id: int
    agency: str
    sent: int
    delivered: int
    yes: int
    no: int
    no_reply: int
    median_time_to_reply: dt.timedelta | None

    @property
    def response_rate(self) -> float | None:
        return _rate(self.yes + self.no, self.sent)

    @property
    def delivery_rate(self) -> float | None:
        return _rate(self.delivered, self.sent)


def _agency_figures(c: Criteria, fields: tuple[str, ...]) -> list[dict]:
    """``AgencyHour`` figures (``fields``) per agency over the range, ordered by agency name.

    Hours already rolled up (``reporting.rollups``) are read from ``AgencyHour``, the rest
    from the alerts and their texts, counted the same way. A location or need filter is not
    in the rollup, so it reads the alerts for the whole range. Four queries (three without
    "delivered"), whatever the split.
    """
    rolled_through = RollupState.objects.filter(pk=1).values_list("rolled_through", flat=True).first()
    split = c.start_at
    if rolled_through and not c.location_id and not c.need:
        split = min(max(rolled_through, c.start_at), c.end_at)
    rolled = AgencyHour.objects.filter(hour__gte=c.start_at, hour__lt=split)
    if c.agency_id:
        rolled = rolled.filter(agency_id=c.agency_id)
    found: dict[int, dict] = {}
    sums = {field: Sum(field) for field in fields}
    for row in rolled.values("agency_id", name=F("agency__name")).annotate(**sums).order_by():
        found[row["agency_id"]] = row
    live = _sent_q(c) & Q(created_at__gte=split)
    counts = {name: count for name, count in rollups.alert_aggregates().items() if name in fields}
    for row in (
        Alert.objects.filter(live)
        .values(agency=F("peer__agency_id"), name=F("peer__agency__name"))
        .annotate(**counts)
        .order_by()
    ):
        _add_figures(found, row.pop("agency"), row, fields)
    if "delivered" in fields:
        delivered = (
            rollups.delivered_alert_texts()
            .filter(live)
            .values_list("peer__agency_id", "peer__agency__name")
            .annotate(count=Count("*"))  # not Count("id"): an index-only scan can answer COUNT(*)
            .order_by()
        )
        for agency_id, name, count in delivered:
            if agency_id is not None:
                _add_figures(found, agency_id, {"name": name, "delivered": count}, fields)
    return sorted(found.values(), key=lambda row: (row["name"], row["agency_id"]))


def _add_figures(found: dict[int, dict], agency_id: int, figures: dict, fields: tuple[str, ...]) -> None:
    row = found.setdefault(agency_id, {"agency_id": agency_id, "name": figures["name"]})
    for field in fields:
        row[field] = (row.get(field) or 0) + (figures.get(field) or 0)


def median_reply_step(figures: dict) -> dt.timedelta | None:
    """The median reply time rounded up to a ``REPLY_STEPS`` step: the first step within which
    half the replies came (the lower median, when there is an even number)."""
    half = (figures["replied"] + 1) // 2
    if not half:
        return None
    for step in REPLY_STEPS:
        if figures[replied_within_field(step)] >= half:
            return step
    return None


def peer_response(*, criteria: Criteria) -> list[ResponseRow]:
    """Alerts sent, delivered, YES, NO and no reply per agency, and the median time to reply."""
    return [
        ResponseRow(
            agency_id=row["agency_id"],
            agency=row["name"],
            sent=row["sent"],
            delivered=row["delivered"],
            yes=row["yes"],
            no=row["no"],
            no_reply=row["no_reply"],
            median_time_to_reply=median_reply_step(row),
        )
        for row in _agency_figures(criteria, RESPONSE_FIELDS)
        if row["sent"]
    ]


# --- 6. Competing priorities -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeclineRow:
    agency_id: int
    agency: str
    counts: dict[str, int]  # decline reason ("" when none was given) -> count

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DeclineReport:
    reasons: list[tuple[str, str]]  # (value, label), "" last: no reason given
    rows: list[DeclineRow]

    @property
    def totals(self) -> dict[str, int]:
        return {value: sum(row.counts[value] for row in self.rows) for value, _label in self.reasons}


DECLINE_REASONS = [*Alert.DeclineReason.choices, ("", "No reason given")]


def decline_reasons(*, criteria: Criteria) -> DeclineReport:
    """NO replies per agency, by the competing priority the peer gave ("other" for a reason
    the code does not know)."""
    return DeclineReport(
        reasons=DECLINE_REASONS,
        rows=[
            DeclineRow(
                row["agency_id"],
                row["name"],
                {value: row[declined_field(value)] for value, _label in DECLINE_REASONS},
            )
            for row in _agency_figures(criteria, DECLINE_FIELDS)
            if row["no"]
        ],
    )


# --- 7. Staffing against need --------------------------------------------------------------------


@dataclass(frozen=True)
class StaffingCell:
    weekday: int  # 0 = Monday
    hour: int
    placed: int
    filled: int
    peers: int

    @property
    def fill_rate(self) -> float | None:
        return _rate(self.filled, self.placed)


@dataclass(frozen=True)
class StaffingGrid:
    cells: list[StaffingCell]  # 168 cells, Monday 00:00 first
    includes_peers: bool

    def rows(self) -> list[list[StaffingCell]]:
        return [self.cells[day * 24 : day * 24 + 24] for day in range(7)]


def _int(expression) -> Cast:
    return Cast(expression, IntegerField())


def _utc_offset_minutes(tz_name: str, at: dt.datetime) -> int:
    return int(at.astimezone(ZoneInfo(tz_name)).utcoffset().total_seconds() // 60)


def staffing(*, criteria: Criteria, include_peers: bool = True) -> StaffingGrid:
    """Requests placed and filled per local weekday × hour, beside the peers whose weekly
    hours cover some of that hour.

    Weekly hours are wall-clock times in each agency's zone. For an agency they line up
    with its own grid exactly; for a viewer in another zone they are shifted by the
    difference between the two zones in the middle of the range.
    """
    demand: dict[tuple[int, int], Outcomes] = {}
    for local_hour, outcomes in _hourly_outcomes(criteria):
        key = (local_hour.weekday(), local_hour.hour)
        demand[key] = _add(demand.get(key, EMPTY), outcomes)
    peers = _peers_per_hour_of_week(criteria) if include_peers else {}
    cells = []
    for weekday in range(7):
        for hour in range(24):
            outcomes = demand.get((weekday, hour), EMPTY)
            peer_count = peers.get(weekday * 24 + hour, 0)
            cells.append(StaffingCell(weekday, hour, outcomes.placed, outcomes.filled, peer_count))
    return StaffingGrid(cells=cells, includes_peers=include_peers)


def _peers_per_hour_of_week(c: Criteria) -> dict[int, int]:
    """Distinct active peers per hour of the viewer's week (0 = Monday 00:00), in one query.

    Each weekly window becomes the span of hours of the viewer's week it touches
    (``first_hour`` to ``last_hour``, past 167 when it wraps into Monday), in integers,
    once per window; a recursive CTE expands each span into its hours (about ten rows a
    window, where joining every window to all 168 hours would test 168 pairs a window),
    and the distinct peers are counted per hour. Works on PostgreSQL and SQLite.
    """
    middle = c.start_at + (c.end_at - c.start_at) / 2
    viewer_offset = _utc_offset_minutes(c.tz_name, middle)
    shift = Case(
        *(
            When(peer__agency__timezone=name, then=Value(viewer_offset - _utc_offset_minutes(name, middle)))
            for name, _label in TIME_ZONES
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    start_minute = _int(ExtractHour("start")) * 60 + _int(ExtractMinute("start"))
    end_minute = _int(ExtractHour("end")) * 60 + _int(ExtractMinute("end"))
    windows = AvailabilityWindow.objects.filter(peer__is_active=True).order_by()
    if c.agency_id:
        windows = windows.filter(peer__agency_id=c.agency_id)
    if c.location_id:
        # Peers of the agencies serving the location's county.
        windows = windows.filter(peer__agency__in=Agency.objects.filter(counties__locations=c.location_id))
    windows = (
        windows.annotate(
            # Minute of the viewer's week the window starts at, and how many minutes it lasts.
            vs=_int(Mod(F("weekday") * 1440 + start_minute + shift + MINUTES_PER_WEEK, MINUTES_PER_WEEK)),
            dur=Case(
                When(end__gt=F("start"), then=end_minute - start_minute),
                default=end_minute - start_minute + 1440,
                output_field=IntegerField(),
            ),
        )
        .annotate(first_hour=_int(F("vs") / 60), last_hour=_int((F("vs") + F("dur") - 1) / 60))
        .values("peer_id", "first_hour", "last_hour")
    )
    inner_sql, params = windows.query.sql_with_params()
    sql = f"""
        WITH RECURSIVE covered(peer_id, hour, last_hour) AS (
            SELECT w.peer_id, w.first_hour, w.last_hour FROM ({inner_sql}) w
            UNION ALL
            SELECT peer_id, hour + 1, last_hour FROM covered WHERE hour < last_hour
        )
        SELECT hour %% 168, COUNT(DISTINCT peer_id) FROM covered GROUP BY hour %% 168
    """  # noqa: S608 - the inner query is Django's, its parameters passed separately (hence %%)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {int(n): int(count) for n, count in cursor.fetchall()}
