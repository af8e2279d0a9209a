"""A small hand-built month of activity whose every figure is known (see ``World``).

March 2026 in New York; daylight saving starts on Sunday 2026-03-08 at 02:00 (EST → EDT).

| request | location | need | local time (New York) | outcome |
|---|---|---|---|---|
| r1 | Hudson ED | mental health | Sat 03-07 23:59 EST | filled by a1 (agency A) after 5 min |
| r2 | Hudson ED | substance use | Sun 03-08 00:01 EST | filled by b1 (agency B) after 15 min |
| r4 | Valley Clinic | substance use | Sun 03-08 01:59 EST | cancelled |
| r3 | Valley Clinic | co-occurring | Sun 03-08 03:01 EDT (62 min after r4) | expired |
| r6 | Valley Clinic | mental health | Tue 03-31 23:59 EDT | filled by a2 (agency A) after 35 min |
| r5, r7 | Hudson ED | | Sat 02-28 23:59 EST, Wed 04-01 00:01 EDT | outside the range |
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from agencies.models import Agency
from core.choices import AgeRange, Gender, Need
from locations.models import Location
from peer_requests.models import Alert, PeerRequest, RequestStatus
from peers.models import Peer
from reporting import rollups
from reporting.selectors import Criteria
from sms.models import OutboundMessage, OutboundStatus
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import CountyFactory, LocationFactory
from tests.peers.factories import AvailabilityWindowFactory, PeerFactory, language
from tests.reporting.factories import (
    AlertTextFactory,
    ReportAlertFactory,
    ReportRequestFactory,
    filled_request,
)

NEW_YORK = ZoneInfo("America/New_York")
MINUTE = dt.timedelta(minutes=1)


def local(*args: int) -> dt.datetime:
    """A New York wall-clock time; fold=0 picks the first of two ambiguous times."""
    return dt.datetime(*args, tzinfo=NEW_YORK)


@dataclass
class World:
    agency_a: Agency
    agency_b: Agency
    hudson: Location
    valley: Location
    a1: Peer
    a2: Peer
    b1: Peer
    r1: PeerRequest
    r2: PeerRequest
    r3: PeerRequest
    r4: PeerRequest
    r6: PeerRequest

    def criteria(self, **kwargs) -> Criteria:
        defaults = {"tz_name": "America/New_York", "start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 31)}
        return Criteria(**{**defaults, **kwargs})


def _alert(request, peer, response="", after=None, reason="", text=OutboundStatus.DELIVERED) -> Alert:
    alert = ReportAlertFactory(
        request=request,
        peer=peer,
        response=response,
        responded_at=request.created_at + after if after else None,
        decline_reason=reason,
    )
    if text:
        AlertTextFactory(alert=alert, status=text)
    return alert


@pytest.fixture
def world(db) -> World:
    orange = CountyFactory(name="Orange")
    ulster = CountyFactory(name="Ulster")
    agency_a = AgencyFactory(name="Alpha Peers", counties=[orange, ulster])
    agency_b = AgencyFactory(name="Beta Peers", counties=[orange])
    hudson = LocationFactory(name="Hudson ED", county=orange)
    valley = LocationFactory(name="Valley Clinic", county=ulster)
    spanish = language("es")

    a1 = PeerFactory(agency=agency_a, age_range=AgeRange.YOUNGER, gender=Gender.FEMALE)
    a1.languages.set([spanish])
    a2 = PeerFactory(agency=agency_a, age_range=AgeRange.OLDER, gender=Gender.MALE)
    b1 = PeerFactory(agency=agency_b, age_range=AgeRange.YOUNGER, gender=Gender.FEMALE)
    inactive = PeerFactory(agency=agency_a, is_active=False)

    # Weekly hours (agency zone, New York): a1 Monday 09–17 and Sunday 23:30–00:30 (into Monday);
    # a2 Saturday 22:00–02:00; b1 all of Sunday; an inactive peer never counts.
    AvailabilityWindowFactory(peer=a1, weekday=0, start=dt.time(9), end=dt.time(17))
    AvailabilityWindowFactory(peer=a1, weekday=6, start=dt.time(23, 30), end=dt.time(0, 30))
    AvailabilityWindowFactory(peer=a2, weekday=5, start=dt.time(22), end=dt.time(2))
    AvailabilityWindowFactory(peer=b1, weekday=6, start=dt.time(0), end=dt.time(0))
    AvailabilityWindowFactory(peer=inactive, weekday=0, start=dt.time(9), end=dt.time(17))

    r1 = filled_request(
        peer=a1,
        after=5 * MINUTE,
        location=hudson,
        need=Need.MENTAL_HEALTH,
        created_at=local(2026, 3, 7, 23, 59),
        age_range=AgeRange.YOUNGER,
        gender=Gender.FEMALE,
        languages=[spanish],
    )
    r2 = filled_request(
        peer=b1,
        after=15 * MINUTE,
        location=hudson,
        need=Need.SUBSTANCE_USE,
        created_at=local(2026, 3, 8, 0, 1),
        gender=Gender.MALE,
    )
    r3 = ReportRequestFactory(
        location=valley,
        need=Need.CO_OCCURRING,
        status=RequestStatus.EXPIRED,
        created_at=dt.datetime(2026, 3, 8, 7, 1, tzinfo=dt.UTC),  # 03:01 EDT
    )
    r4 = ReportRequestFactory(
        location=valley,
        need=Need.SUBSTANCE_USE,
        status=RequestStatus.CANCELLED,
        created_at=dt.datetime(2026, 3, 8, 6, 59, tzinfo=dt.UTC),  # 01:59 EST
    )
    r6 = filled_request(
        peer=a2,
        after=35 * MINUTE,
        location=valley,
        need=Need.MENTAL_HEALTH,
        created_at=local(2026, 3, 31, 23, 59),
        age_range=AgeRange.YOUNGER,
        languages=[spanish],
    )
    # Outside the range, one minute either side of it.
    r5 = filled_request(peer=a1, location=hudson, created_at=local(2026, 2, 28, 23, 59))
    r7 = ReportRequestFactory(location=hudson, created_at=local(2026, 4, 1, 0, 1))
    _alert(r5, a2, "no", 2 * MINUTE, Alert.DeclineReason.PERSONAL)
    _alert(r7, b1, "no", 2 * MINUTE, Alert.DeclineReason.OFF_SHIFT)

    # The assigned peers' YES alerts exist already (filled_request); give them their texts.
    for alert in Alert.objects.filter(is_assigned=True, request__in=[r1, r2, r6]):
        AlertTextFactory(alert=alert)
    _alert(r1, a2, "no", 3 * MINUTE, Alert.DeclineReason.IN_TRANSIT)
    _alert(r1, b1, text=OutboundStatus.UNDELIVERED)
    _alert(r2, a1, "no", 2 * MINUTE, Alert.DeclineReason.WITH_ANOTHER_PERSON)
    _alert(r2, a2)
    _alert(r3, a1)
    _alert(r3, b1, "no", 4 * MINUTE)
    r4_alert = _alert(r4, a2, text=OutboundStatus.FAILED)
    # A delivered confirmation is not a delivered alert.
    AlertTextFactory(alert=r4_alert, kind=OutboundMessage.Kind.CONFIRMATION, status=OutboundStatus.DELIVERED)
    # r1's assignment was quick: its YES came 1 minute in (filled_request); a2 replied YES to r6 at 2.
    Alert.objects.filter(request=r6, peer=a2).update(responded_at=r6.created_at + 2 * MINUTE)

    return World(agency_a, agency_b, hudson, valley, a1, a2, b1, r1, r2, r3, r4, r6)


@pytest.fixture(params=["alerts", "rollup"])
def figures_from(request, db):
    """Run a peer response test twice: counted from the alerts, and from the hourly rollup.

    Call it after changing the data and before reading the report.
    """

    def prepare() -> None:
        if request.param == "rollup":
            rollups.catch_up(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))

    return prepare
