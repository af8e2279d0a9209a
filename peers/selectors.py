"""Reads about peers, above all the one answer to "who is available at this moment?".

Weekly hours are wall-clock times in the agency's time zone, so the same instant is a
different weekday and time for agencies in different zones. The queryset builds one
condition per supported zone (a fixed, small list), so it stays one query whatever the
number of peers or agencies. Overrides sit on top: the newest override covering the
instant decides; without one, the weekly hours do.

On a spring-forward day the skipped wall-clock hour never happens, so a window inside it
covers no instant; on a fall-back day the repeated hour happens twice and a window
covering it covers both.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import County
from agencies.models import Agency, AgencyMembership
from agencies.selectors import counties_served
from core import phones
from core.choices import TIME_ZONES, Need, OrganisationStatus
from peers.models import AvailabilityOverride, AvailabilityWindow, ConsentRecord, Credential, Peer

SECONDS_PER_DAY = 24 * 3600


def _require_aware(at: dt.datetime) -> None:
    # A naive instant would silently be read in the server's zone: refuse it instead.
    if timezone.is_naive(at):
        raise ValueError("Availability is asked for an aware datetime (an instant), not a naive one.")


def local_weekday_and_time(at: dt.datetime, tz_name: str) -> tuple[int, dt.time]:
    local = at.astimezone(ZoneInfo(tz_name))
    return local.weekday(), local.time()


def window_covers(
    *, weekday: int, start: dt.time, end: dt.time, local_weekday: int, local_time: dt.time
) -> bool:
    """Whether one weekly window covers a local weekday and time (windows may cross midnight)."""
    crosses_midnight = end <= start
    if weekday == local_weekday and start <= local_time and (crosses_midnight or local_time < end):
        return True
    previous_day = (local_weekday - 1) % 7
    return crosses_midnight and weekday == previous_day and local_time < end


def _window_q(local_weekday: int, local_time: dt.time) -> Q:
    """A condition on AvailabilityWindow mirroring ``window_covers``."""
    crosses_midnight = Q(end__lte=F("start"))
    same_day = Q(weekday=local_weekday, start__lte=local_time) & (Q(end__gt=local_time) | crosses_midnight)
    spill_over = Q(weekday=(local_weekday - 1) % 7, end__gt=local_time) & crosses_midnight
    return same_day | spill_over


def _covering_window_exists(at: dt.datetime) -> Exists:
    """Some weekly window of the (outer) peer covers ``at`` in its agency's zone.

    One subquery for all zones; zones that read ``at`` as the same weekday and time (Phoenix
    and Denver in winter, say) share one condition.
    """
    zones_by_local_time: dict[tuple[int, dt.time], list[str]] = {}
    for tz_name, _label in TIME_ZONES:
        zones_by_local_time.setdefault(local_weekday_and_time(at, tz_name), []).append(tz_name)
    condition = Q()
    for (local_weekday, local_time), zones in zones_by_local_time.items():
        condition |= Q(peer__agency__timezone__in=zones) & _window_q(local_weekday, local_time)
    return Exists(AvailabilityWindow.objects.filter(peer=OuterRef("pk")).filter(condition))


def _override_decision(at: dt.datetime) -> Subquery:
    """The ``is_available`` of the newest override covering ``at``, or NULL without one."""
    covering = AvailabilityOverride.objects.filter(
        peer=OuterRef("pk"), starts_at__lte=at, ends_at__gt=at
    ).order_by("-created_at", "-id")
    return Subquery(covering.values("is_available")[:1], output_field=BooleanField())


def availability_at(at: dt.datetime) -> Coalesce:
    """An expression on Peer: the newest covering override's answer, else the weekly hours'.

    The override subquery appears once in the SQL, whether it is filtered on or selected.
    """
    _require_aware(at)
    return Coalesce(_override_decision(at), _covering_window_exists(at), output_field=BooleanField())


def available_peers(*, at: dt.datetime, queryset: QuerySet[Peer] | None = None) -> QuerySet[Peer]:
    """Peers available at ``at`` by weekly hours and overrides, in one query.

    This is availability only; ``eligible_peers`` adds the other hard filters (active,
    verified agency, qualifying credential, not opted out).
    """
    peers = queryset if queryset is not None else Peer.objects.all()
    return peers.alias(availability_at=availability_at(at)).filter(availability_at=True)


def with_availability(*, at: dt.datetime, queryset: QuerySet[Peer]) -> QuerySet[Peer]:
    """Annotate ``available_now`` (the answer of ``available_peers``) on every peer, for lists."""
    return queryset.annotate(available_now=availability_at(at))


def is_available(*, peer: Peer, at: dt.datetime) -> bool:
    """The same answer as ``available_peers`` for one peer, computed in Python.

    Prefetch ``overrides`` and ``windows`` (and select ``agency``) to call it in a loop.
    """
    _require_aware(at)
    covering = [o for o in peer.overrides.all() if o.starts_at <= at < o.ends_at]
    if covering:
        newest = max(covering, key=lambda o: (o.created_at, o.id))
        return newest.is_available
    local_weekday, local_time = local_weekday_and_time(at, peer.agency.timezone)
    return any(
        window_covers(
            weekday=w.weekday, start=w.start, end=w.end, local_weekday=local_weekday, local_time=local_time
        )
        for w in peer.windows.all()
    )


# --- credentials ------------------------------------------------------------------------


def qualifying_credentials(
    *, today: dt.date, queryset: QuerySet[Credential] | None = None
) -> QuerySet[Credential]:
    """Credentials that count on ``today``: validated and not expired.

    Nobody has to act when a credential expires: from the day after ``expires_on`` it
    simply stops matching this filter.
    """
    credentials = queryset if queryset is not None else Credential.objects.all()
    return credentials.filter(status=Credential.Status.VALIDATED).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )


def credential_counts(*, credential: Credential, today: dt.date) -> bool:
    """The Python twin of ``qualifying_credentials`` for one credential."""
    return credential.status == Credential.Status.VALIDATED and (
        credential.expires_on is None or credential.expires_on >= today
    )


def credentials_expiring(
    *, today: dt.date, within_days: int = 30, queryset: QuerySet[Credential] | None = None
) -> QuerySet[Credential]:
    """Validated credentials that still count today but expire within ``within_days`` days."""
    credentials = queryset if queryset is not None else Credential.objects.all()
    return (
        credentials.filter(
            status=Credential.Status.VALIDATED,
            expires_on__gte=today,
            expires_on__lte=today + dt.timedelta(days=within_days),
        )
        .select_related("peer__agency", "type")
        .order_by("expires_on", "id")
    )


def need_condition(need: str, *, prefix: str = "type__") -> Q:
    """Which credential types qualify for a need: CRPA-like for substance use, NYCPS-like for
    mental health, either for co-occurring."""
    mental_health = Q(**{f"{prefix}qualifies_mental_health": True})
    substance_use = Q(**{f"{prefix}qualifies_substance_use": True})
    if need == Need.MENTAL_HEALTH:
        return mental_health
    if need == Need.SUBSTANCE_USE:
        return substance_use
    if need == Need.CO_OCCURRING:
        return mental_health | substance_use
    raise ValueError(f"Unknown need {need!r}")


def eligible_peers(
    *,
    need: str,
    county: County | int,
    at: dt.datetime,
    backup: bool = False,
    queryset: QuerySet[Peer] | None = None,
) -> QuerySet[Peer]:
    """Who gets the alert for a request: the hard filters of matching, in one query.

    Active, consented (texted JOIN) and not opted out, a number that can receive texts, a
    verified agency serving the county (with ``backup``: listing it as a backup county
    instead), a validated unexpired credential qualifying for the need, and available at ``at``.
    Credential expiry is judged on the date of ``at`` in the project's time zone. Whether a
    peer is busy on another request is the request workflow's to add
    (``peer_requests.selectors.alertable_peers``).
    """
    _require_aware(at)
    today = timezone.localdate(at)
    county_id = county.pk if isinstance(county, County) else county
    peers = queryset if queryset is not None else Peer.objects.all()
    area = Agency.backup_counties if backup else Agency.counties
    serves_county = area.through.objects.filter(agency_id=OuterRef("agency_id"), county_id=county_id)
    qualifying = qualifying_credentials(today=today).filter(peer=OuterRef("pk")).filter(need_condition(need))
    peers = peers.filter(
        Exists(serves_county),
        Exists(qualifying),
        is_active=True,
        consented_at__isnull=False,
        opted_out_at__isnull=True,
        phone_flagged_at__isnull=True,
        agency__status=OrganisationStatus.VERIFIED,
    )
    return available_peers(at=at, queryset=peers)


# --- the agency portal ------------------------------------------------------------------


def peer_for_number(number: str) -> Peer | None:
    """The peer whose mobile number this is (any spelling of it), or None; with their agency."""
    key = phones.lookup_key(number)
    if key is None:
        return None
    return Peer.objects.select_related("agency").filter(phone=key).first()


def consent_records(*, agency: Agency) -> QuerySet[ConsentRecord]:
    """Every opt-in and opt-out of the agency's peers, newest first."""
    return (
        ConsentRecord.objects.filter(peer__agency=agency)
        .select_related("peer", "actor")
        .order_by("-at", "-pk")
    )


def agency_peers(*, agency: Agency) -> QuerySet[Peer]:
    """Every peer of one agency: the scope of every supervisor page (others' peers are 404)."""
    return Peer.objects.filter(agency=agency).select_related("agency")


def agency_credentials(*, agency: Agency) -> QuerySet[Credential]:
    return Credential.objects.filter(peer__agency=agency).select_related("peer__agency", "type")


def agency_overrides(*, agency: Agency) -> QuerySet[AvailabilityOverride]:
    return AvailabilityOverride.objects.filter(peer__agency=agency).select_related("peer__agency")


def _credentials_prefetch(*, today: dt.date) -> Prefetch:
    """Credentials with their type and whether they count today (computed by the database)."""
    counts = Q(status=Credential.Status.VALIDATED) & (Q(expires_on__isnull=True) | Q(expires_on__gte=today))
    return Prefetch(
        "credentials",
        queryset=Credential.objects.select_related("type")
        .annotate(
            counts_today=Case(
                When(counts, then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )
        .order_by("type__code", "id"),
    )


def roster(*, agency: Agency, at: dt.datetime) -> QuerySet[Peer]:
    """The agency's peers with availability at ``at``, credentials and languages: three queries."""
    peers = agency_peers(agency=agency).prefetch_related(
        _credentials_prefetch(today=timezone.localdate(at)), "languages"
    )
    return with_availability(at=at, queryset=peers).order_by("-is_active", "last_name", "first_name", "id")


def with_qualifying_credential(*, today: dt.date, queryset: QuerySet[Peer]) -> QuerySet[Peer]:
    """Peers holding a credential that counts on ``today`` for some need: validated, unexpired
    and of a type that qualifies for mental health or substance use (as ``eligible_peers``
    asks for one need). A credential awaiting validation does not count."""
    any_need = need_condition(Need.CO_OCCURRING)
    counting = qualifying_credentials(today=today).filter(peer=OuterRef("pk")).filter(any_need)
    return queryset.filter(Exists(counting))


def available_now(*, agency: Agency, at: dt.datetime) -> QuerySet[Peer]:
    """The agency's active peers available at ``at`` who could be alerted by their credentials
    (``with_qualifying_credential``), with what a supervisor needs to see."""
    current_overrides = Prefetch(
        "overrides",
        queryset=AvailabilityOverride.objects.filter(starts_at__lte=at, ends_at__gt=at).order_by(
            "-created_at", "-id"
        ),
        to_attr="current_overrides",
    )
    today = timezone.localdate(at)
    peers = with_qualifying_credential(
        today=today, queryset=agency_peers(agency=agency).filter(is_active=True)
    )
    return available_peers(at=at, queryset=peers).prefetch_related(
        _credentials_prefetch(today=timezone.localdate(at)), "languages", current_overrides
    )


def peer_with_schedule(*, agency: Agency, pk: int) -> QuerySet[Peer]:
    """One peer of the agency with everything its page shows (filter by pk, then get)."""
    return (
        agency_peers(agency=agency)
        .filter(pk=pk)
        .prefetch_related(
            "languages", "windows", "overrides", Prefetch("credentials", queryset=_plain_credentials())
        )
    )


def _plain_credentials() -> QuerySet[Credential]:
    return Credential.objects.select_related("type").order_by("type__code", "id")


def overrides_in_force(*, peer: Peer, now: dt.datetime) -> list[AvailabilityOverride]:
    """The peer's current and upcoming overrides, newest first (uses prefetched overrides)."""
    return sorted(
        (o for o in peer.overrides.all() if o.ends_at > now),
        key=lambda o: (o.created_at, o.id),
        reverse=True,
    )


def week_coverage(windows: Iterable[AvailabilityWindow]) -> list[list[bool]]:
    """24 rows (hours) × 7 columns (Monday first): does any window touch that hour?

    For the week grid on the peer page; a window crossing midnight spills into the next
    day (Sunday night into Monday morning).
    """
    grid = [[False] * 7 for _ in range(24)]
    for window in windows:
        start = window.weekday * SECONDS_PER_DAY + _seconds(window.start)
        length = (_seconds(window.end) - _seconds(window.start)) % SECONDS_PER_DAY or SECONDS_PER_DAY
        first_hour = start // 3600
        last_hour = (start + length - 1) // 3600
        for hour_of_week in range(first_hour, last_hour + 1):
            hour_of_week %= 7 * 24
            grid[hour_of_week % 24][hour_of_week // 24] = True
    return grid


def _seconds(value: dt.time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def credentials_awaiting_validation() -> QuerySet[Credential]:
    """Every credential the Peer-RX team has still to validate or reject (the staff home's count)."""
    return Credential.objects.filter(status=Credential.Status.PENDING)


# --- the agency's dashboard ---------------------------------------------------------------

# Credentials expiring within this many days are flagged on the dashboard.
EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class AgencyOverview:
    agency: Agency
    counties: list[County]
    active_peers: int
    available_now: int
    pending_credentials: int
    expiring_credentials: int
    supervisors: int


def agency_overview(*, agency: Agency, now: dt.datetime | None = None) -> AgencyOverview:
    """The dashboard numbers, in a constant number of queries whatever the roster's size."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    active = Peer.objects.filter(agency=agency, is_active=True)
    credentials = Credential.objects.filter(peer__agency=agency, peer__is_active=True).aggregate(
        pending=Count("pk", filter=Q(status=Credential.Status.PENDING)),
        expiring=Count(
            "pk",
            filter=Q(
                status=Credential.Status.VALIDATED,
                expires_on__gte=today,
                expires_on__lte=today + dt.timedelta(days=EXPIRY_WARNING_DAYS),
            ),
        ),
    )
    return AgencyOverview(
        agency=agency,
        counties=counties_served(agency=agency),
        active_peers=active.count(),
        available_now=available_peers(
            at=now,
            queryset=with_qualifying_credential(
                today=today, queryset=active.filter(opted_out_at__isnull=True)
            ),
        ).count(),
        pending_credentials=credentials["pending"],
        expiring_credentials=credentials["expiring"],
        supervisors=AgencyMembership.objects.filter(agency=agency, user__is_active=True).count(),
    )
