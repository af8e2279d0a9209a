"""Reads about peers, above all the one answer to "who is available at this moment?".

Weekly hours are wall-clock times in the agency's time zone, so the same instant is a
different weekday and time for agencies in different zones. The queryset builds one
condition per supported zone (a fixed, small list), so it stays one query whatever the
number of peers or agencies. Overrides sit on top: the newest override covering the
instant decides; without one, the weekly hours do.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery

from peerrx.choices import TIME_ZONES
from peers.models import AvailabilityOverride, AvailabilityWindow, Peer


def local_weekday_and_time(at: dt.datetime, tz_name: str) -> tuple[int, dt.time]:
    local = at.astimezone(ZoneInfo(tz_name))
    return local.weekday(), local.time().replace(tzinfo=None)


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


def _covering_window_exists(at: dt.datetime) -> Q:
    """A condition on Peer: some weekly window covers ``at`` in the peer's agency's zone."""
    condition = Q()
    for tz_name, _label in TIME_ZONES:
        local_weekday, local_time = local_weekday_and_time(at, tz_name)
        windows = AvailabilityWindow.objects.filter(peer=OuterRef("pk")).filter(
            _window_q(local_weekday, local_time)
        )
        condition |= Q(agency__timezone=tz_name) & Q(Exists(windows))
    return condition


def _override_decision(at: dt.datetime) -> Subquery:
    """The ``is_available`` of the newest override covering ``at``, or NULL without one."""
    covering = AvailabilityOverride.objects.filter(
        peer=OuterRef("pk"), starts_at__lte=at, ends_at__gt=at
    ).order_by("-created_at", "-id")
    return Subquery(covering.values("is_available")[:1])


def available_peers(*, at: dt.datetime, queryset: QuerySet[Peer] | None = None) -> QuerySet[Peer]:
    """Peers available at ``at`` by weekly hours and overrides, in one query.

    This is availability only; dispatch adds the other hard filters (active, verified
    agency, qualifying credential, not opted out).
    """
    peers = queryset if queryset is not None else Peer.objects.all()
    return peers.annotate(override_available=_override_decision(at)).filter(
        Q(override_available=True) | (Q(override_available__isnull=True) & _covering_window_exists(at))
    )


def is_available(*, peer: Peer, at: dt.datetime) -> bool:
    """The same answer as ``available_peers`` for one peer, computed in Python."""
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
