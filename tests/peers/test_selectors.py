import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Prefetch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.choices import TIME_ZONES, Need, OrganisationStatus
from peers.models import AvailabilityOverride, AvailabilityWindow, Credential, Peer
from peers.selectors import (
    available_now,
    available_peers,
    credential_counts,
    credentials_expiring,
    eligible_peers,
    is_available,
    local_weekday_and_time,
    overrides_in_force,
    peer_for_number,
    qualifying_credentials,
    roster,
    week_coverage,
    window_covers,
    with_availability,
)
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import CountyFactory
from tests.peers.factories import (
    AvailabilityOverrideFactory,
    AvailabilityWindowFactory,
    CredentialFactory,
    PeerFactory,
    always_available,
    credential_type,
    language,
)

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def t(hour: int, minute: int = 0, second: int = 0) -> dt.time:
    return dt.time(hour, minute, second)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NEW_YORK)


def fresh(peer: Peer) -> Peer:
    """The peer as dispatch would load it: windows, overrides and agency ready."""
    return Peer.objects.select_related("agency").prefetch_related("windows", "overrides").get(pk=peer.pk)


def answers(peer: Peer, at: dt.datetime) -> tuple[bool, bool]:
    """(queryset answer, per-peer answer) for one peer and instant."""
    in_queryset = available_peers(at=at, queryset=Peer.objects.filter(pk=peer.pk)).exists()
    return in_queryset, is_available(peer=fresh(peer), at=at)


def assert_available(peer: Peer, at: dt.datetime, expected: bool) -> None:
    assert answers(peer, at) == (expected, expected), f"{peer} at {at.isoformat()}"


def peer_with_windows(*windows: tuple[int, dt.time, dt.time], tz: str = "America/New_York", **kwargs) -> Peer:
    peer = PeerFactory(agency=AgencyFactory(timezone=tz), **kwargs)
    for weekday, start, end in windows:
        AvailabilityWindowFactory(peer=peer, weekday=weekday, start=start, end=end)
    return peer


class TestWindowCovers:
    @pytest.mark.parametrize(
        ("window", "local", "expected"),
        [
            ((MON, t(9), t(17)), (MON, t(9)), True),
            ((MON, t(9), t(17)), (MON, t(16, 59, 59)), True),
            ((MON, t(9), t(17)), (MON, t(17)), False),
            ((MON, t(9), t(17)), (MON, t(8, 59, 59)), False),
            ((MON, t(9), t(17)), (TUE, t(10)), False),
            ((FRI, t(22), t(6)), (FRI, t(23)), True),
            ((FRI, t(22), t(6)), (SAT, t(5, 59)), True),
            ((FRI, t(22), t(6)), (SAT, t(6)), False),
            ((FRI, t(22), t(6)), (SAT, t(22, 30)), False),
            ((SUN, t(22), t(6)), (MON, t(3)), True),
            ((TUE, t(0), t(0)), (TUE, t(0)), True),
            ((TUE, t(0), t(0)), (TUE, t(23, 59, 59)), True),
            ((TUE, t(0), t(0)), (WED, t(0)), False),
            ((TUE, t(0), t(0)), (MON, t(23, 59)), False),
        ],
    )
    def test_it_reads_windows_including_midnight_crossings(self, window, local, expected):
        weekday, start, end = window
        local_weekday, local_time = local
        assert (
            window_covers(
                weekday=weekday, start=start, end=end, local_weekday=local_weekday, local_time=local_time
            )
            is expected
        )


class TestLocalWeekdayAndTime:
    def test_it_reads_the_instant_in_the_zone(self):
        at = utc(2026, 1, 5, 3, 30)  # Monday in UTC, Sunday evening in New York
        assert local_weekday_and_time(at, "America/New_York") == (SUN, t(22, 30))
        assert local_weekday_and_time(at, "Pacific/Honolulu") == (SUN, t(17, 30))


@pytest.mark.django_db
class TestAvailablePeers:
    def test_it_follows_weekly_hours(self):
        peer = peer_with_windows((MON, t(9), t(17)))
        assert_available(peer, ny(2026, 1, 5, 9), True)  # Monday 09:00
        assert_available(peer, ny(2026, 1, 5, 16, 59, 59), True)
        assert_available(peer, ny(2026, 1, 5, 17), False)
        assert_available(peer, ny(2026, 1, 5, 8, 59, 59), False)
        assert_available(peer, ny(2026, 1, 6, 10), False)  # Tuesday

    def test_it_handles_windows_across_midnight(self):
        peer = peer_with_windows((FRI, t(22), t(6)))
        assert_available(peer, ny(2026, 1, 9, 21, 59), False)  # Friday
        assert_available(peer, ny(2026, 1, 9, 22), True)
        assert_available(peer, ny(2026, 1, 10, 0, 0), True)  # Saturday midnight
        assert_available(peer, ny(2026, 1, 10, 5, 59, 59), True)
        assert_available(peer, ny(2026, 1, 10, 6), False)
        assert_available(peer, ny(2026, 1, 10, 23), False)  # Saturday night is not Friday night

    def test_it_carries_sunday_night_into_monday_morning(self):
        peer = peer_with_windows((SUN, t(20), t(4)))
        assert_available(peer, ny(2026, 1, 11, 23), True)  # Sunday
        assert_available(peer, ny(2026, 1, 12, 3, 59), True)  # Monday
        assert_available(peer, ny(2026, 1, 12, 4), False)

    def test_it_reads_midnight_to_midnight_as_the_whole_day(self):
        peer = peer_with_windows((TUE, t(0), t(0)))
        assert_available(peer, ny(2026, 1, 6, 0, 0), True)
        assert_available(peer, ny(2026, 1, 6, 12), True)
        assert_available(peer, ny(2026, 1, 6, 23, 59, 59), True)
        assert_available(peer, ny(2026, 1, 7, 0, 0), False)
        assert_available(peer, ny(2026, 1, 5, 23, 59), False)

    def test_it_handles_touching_windows_without_a_gap(self):
        peer = peer_with_windows((WED, t(8), t(12)), (WED, t(12), t(16)))
        assert_available(peer, ny(2026, 1, 7, 12), True)
        assert_available(peer, ny(2026, 1, 7, 15, 59), True)
        assert_available(peer, ny(2026, 1, 7, 16), False)

    def test_it_refuses_naive_datetimes(self):
        peer = peer_with_windows((MON, t(9), t(17)))
        with pytest.raises(ValueError, match="aware"):
            available_peers(at=dt.datetime(2026, 1, 5, 10))
        with pytest.raises(ValueError, match="aware"):
            is_available(peer=peer, at=dt.datetime(2026, 1, 5, 10))

    def test_a_peer_without_hours_or_overrides_is_never_available(self):
        peer = PeerFactory()
        assert_available(peer, ny(2026, 1, 5, 12), False)


@pytest.mark.django_db
class TestAvailablePeersAcrossDaylightSaving:
    """2026-03-08 02:00 EST jumps to 03:00 EDT; 2026-11-01 02:00 EDT falls back to 01:00 EST."""

    def test_it_skips_the_missing_hour_on_the_spring_forward_day(self):
        skipped = peer_with_windows((SUN, t(2), t(3)))
        around = peer_with_windows((SUN, t(1), t(3)))
        after = peer_with_windows((SUN, t(3), t(4)))
        assert_available(skipped, utc(2026, 3, 8, 6, 59, 59), False)  # 01:59:59 EST
        assert_available(skipped, utc(2026, 3, 8, 7), False)  # 03:00 EDT
        assert_available(around, utc(2026, 3, 8, 6), True)  # 01:00 EST
        assert_available(around, utc(2026, 3, 8, 6, 59, 59), True)
        assert_available(around, utc(2026, 3, 8, 7), False)  # 03:00 EDT: one real hour only
        assert_available(after, utc(2026, 3, 8, 7), True)
        assert_available(after, utc(2026, 3, 8, 7, 59, 59), True)
        assert_available(after, utc(2026, 3, 8, 8), False)  # 04:00 EDT

    def test_it_ends_a_night_shift_into_the_missing_hour_at_the_jump(self):
        peer = peer_with_windows((SAT, t(22), t(2, 30)))
        assert_available(peer, utc(2026, 3, 8, 3), True)  # Saturday 22:00 EST
        assert_available(peer, utc(2026, 3, 8, 6, 59, 59), True)  # 01:59:59 EST
        assert_available(peer, utc(2026, 3, 8, 7), False)  # 03:00 EDT

    def test_it_covers_the_repeated_hour_twice_on_the_fall_back_day(self):
        peer = peer_with_windows((SUN, t(1), t(2)))
        assert_available(peer, utc(2026, 11, 1, 4, 59, 59), False)  # 00:59:59 EDT
        assert_available(peer, utc(2026, 11, 1, 5), True)  # 01:00 EDT
        assert_available(peer, utc(2026, 11, 1, 5, 59, 59), True)
        assert_available(peer, utc(2026, 11, 1, 6), True)  # 01:00 EST, the second time round
        assert_available(peer, utc(2026, 11, 1, 6, 59, 59), True)
        assert_available(peer, utc(2026, 11, 1, 7), False)  # 02:00 EST

    def test_it_reopens_a_night_shift_in_the_repeated_hour(self):
        peer = peer_with_windows((SAT, t(22), t(1, 30)))
        assert_available(peer, utc(2026, 11, 1, 2), True)  # Saturday 22:00 EDT
        assert_available(peer, utc(2026, 11, 1, 5, 29), True)  # 01:29 EDT
        assert_available(peer, utc(2026, 11, 1, 5, 45), False)  # 01:45 EDT
        assert_available(peer, utc(2026, 11, 1, 6, 15), True)  # 01:15 EST
        assert_available(peer, utc(2026, 11, 1, 6, 30), False)  # 01:30 EST

    def test_it_keeps_wall_clock_hours_on_both_sides_of_the_change(self):
        peer = peer_with_windows((MON, t(9), t(17)), (SAT, t(9), t(17)))
        assert_available(peer, utc(2026, 3, 2, 14), True)  # Monday 09:00 EST
        assert_available(peer, utc(2026, 3, 9, 13), True)  # Monday 09:00 EDT
        assert_available(peer, utc(2026, 3, 9, 12, 59), False)  # 08:59 EDT
        assert_available(peer, utc(2026, 10, 31, 13), True)  # Saturday 09:00 EDT
        assert_available(peer, utc(2026, 11, 7, 14), True)  # Saturday 09:00 EST
        assert_available(peer, utc(2026, 11, 7, 13, 59), False)


@pytest.mark.django_db
class TestAvailablePeersInSeveralTimeZones:
    def test_it_reads_each_agency_in_its_own_zone(self):
        east = peer_with_windows((MON, t(9), t(17)), tz="America/New_York")
        west = peer_with_windows((MON, t(9), t(17)), tz="America/Los_Angeles")
        hawaii = peer_with_windows((SUN, t(18), t(20)), tz="Pacific/Honolulu")

        def available_at(at):
            return set(available_peers(at=at).values_list("pk", flat=True))

        assert available_at(utc(2026, 1, 5, 15)) == {east.pk}  # 10:00 ET, 07:00 PT
        assert available_at(utc(2026, 1, 5, 18)) == {east.pk, west.pk}  # 13:00 ET, 10:00 PT
        assert available_at(utc(2026, 1, 5, 23)) == {west.pk}  # 18:00 ET, 15:00 PT
        assert available_at(utc(2026, 1, 5, 5)) == {hawaii.pk}  # Monday in UTC, Sunday 19:00 HST
        for peer in (east, west, hawaii):
            for at in (utc(2026, 1, 5, 15), utc(2026, 1, 5, 23), utc(2026, 1, 5, 5)):
                queryset_answer, python_answer = answers(peer, at)
                assert queryset_answer == python_answer

    def test_it_ignores_daylight_saving_where_the_zone_has_none(self):
        phoenix = peer_with_windows((SUN, t(9), t(10)), tz="America/Phoenix")
        assert_available(phoenix, utc(2026, 3, 8, 16), True)  # 09:00 MST on both sides of March 8
        assert_available(phoenix, utc(2026, 11, 1, 16), True)
        assert_available(phoenix, utc(2026, 3, 8, 15), False)


@pytest.mark.django_db
class TestAvailablePeersWithOverrides:
    def test_it_makes_a_peer_available_outside_hours(self):
        peer = peer_with_windows((MON, t(9), t(17)))
        AvailabilityOverrideFactory(
            peer=peer, is_available=True, starts_at=ny(2026, 1, 5, 18), ends_at=ny(2026, 1, 5, 22)
        )
        assert_available(peer, ny(2026, 1, 5, 17, 59), False)
        assert_available(peer, ny(2026, 1, 5, 18), True)  # starts_at is inside
        assert_available(peer, ny(2026, 1, 5, 21, 59), True)
        assert_available(peer, ny(2026, 1, 5, 22), False)  # ends_at is outside

    def test_it_makes_a_peer_unavailable_inside_hours(self):
        peer = peer_with_windows((MON, t(9), t(17)))
        AvailabilityOverrideFactory(
            peer=peer, is_available=False, starts_at=ny(2026, 1, 5, 12), ends_at=ny(2026, 1, 5, 14)
        )
        assert_available(peer, ny(2026, 1, 5, 11, 59), True)
        assert_available(peer, ny(2026, 1, 5, 12), False)
        assert_available(peer, ny(2026, 1, 5, 14), True)

    def test_the_newest_covering_override_wins(self):
        peer = peer_with_windows((MON, t(9), t(17)))
        off = AvailabilityOverrideFactory(
            peer=peer, is_available=False, starts_at=ny(2026, 1, 5, 8), ends_at=ny(2026, 1, 6, 8)
        )
        on = AvailabilityOverrideFactory(
            peer=peer, is_available=True, starts_at=ny(2026, 1, 5, 12), ends_at=ny(2026, 1, 5, 13)
        )
        AvailabilityOverride.objects.filter(pk=off.pk).update(created_at=utc(2026, 1, 1))
        AvailabilityOverride.objects.filter(pk=on.pk).update(created_at=utc(2026, 1, 2))
        assert_available(peer, ny(2026, 1, 5, 10), False)
        assert_available(peer, ny(2026, 1, 5, 12, 30), True)
        assert_available(peer, ny(2026, 1, 5, 13, 30), False)  # back under the older "off"
        # Make the "off" the newer one: it now wins everywhere it covers.
        AvailabilityOverride.objects.filter(pk=off.pk).update(created_at=utc(2026, 1, 3))
        assert_available(peer, ny(2026, 1, 5, 12, 30), False)

    def test_it_breaks_a_tie_in_creation_time_by_id(self):
        peer = peer_with_windows()
        first = AvailabilityOverrideFactory(peer=peer, is_available=False)
        second = AvailabilityOverrideFactory(peer=peer, is_available=True)
        AvailabilityOverride.objects.filter(pk__in=[first.pk, second.pk]).update(created_at=utc(2026, 1, 1))
        assert_available(peer, first.starts_at + dt.timedelta(minutes=1), True)

    def test_an_override_of_another_peer_changes_nothing(self):
        peer = peer_with_windows((MON, t(9), t(17)))
        AvailabilityOverrideFactory(
            is_available=False, starts_at=ny(2026, 1, 5, 8), ends_at=ny(2026, 1, 5, 20)
        )
        assert_available(peer, ny(2026, 1, 5, 10), True)


@pytest.mark.django_db
class TestAvailablePeersQueryCount:
    @pytest.mark.parametrize("count", [1, 30])
    def test_it_answers_in_one_query(self, django_assert_num_queries, count):
        zones = ["America/New_York", "America/Chicago", "America/Los_Angeles"]
        for index in range(count):
            peer = PeerFactory(agency=AgencyFactory(timezone=zones[index % 3]))
            always_available(peer)
            AvailabilityOverrideFactory(peer=peer, is_available=index % 2 == 0)
        at = utc(2026, 1, 5, 13)
        with django_assert_num_queries(1):
            peers = list(available_peers(at=at))
        assert len(peers) == count - count // 2  # every other one is switched off by an override

    def test_it_keeps_the_callers_filters(self):
        kept = PeerFactory()
        always_available(kept)
        always_available(PeerFactory())
        result = available_peers(at=utc(2026, 1, 5, 13), queryset=Peer.objects.filter(pk=kept.pk))
        assert list(result) == [kept]


@pytest.mark.django_db
class TestWithAvailability:
    def test_it_annotates_the_same_answer_on_every_peer(self, django_assert_num_queries):
        on = peer_with_windows((MON, t(9), t(17)))
        off = peer_with_windows((MON, t(18), t(20)))
        overridden = peer_with_windows((MON, t(9), t(17)))
        AvailabilityOverrideFactory(
            peer=overridden, is_available=False, starts_at=ny(2026, 1, 5, 8), ends_at=ny(2026, 1, 5, 20)
        )
        with django_assert_num_queries(1):
            flags = {
                p.pk: p.available_now
                for p in with_availability(at=ny(2026, 1, 5, 10), queryset=Peer.objects.all())
            }
        assert flags == {on.pk: True, off.pk: False, overridden.pk: False}


@pytest.mark.django_db
class TestQualifyingCredentials:
    def test_it_counts_validated_unexpired_credentials_only(self):
        today = dt.date(2026, 6, 1)
        good = CredentialFactory(expires_on=dt.date(2026, 6, 1))  # last valid day
        never_expires = CredentialFactory(expires_on=None)
        CredentialFactory(expires_on=dt.date(2026, 5, 31))  # expired yesterday
        CredentialFactory(status=Credential.Status.PENDING)
        CredentialFactory(status=Credential.Status.REJECTED)
        counted = set(qualifying_credentials(today=today))
        assert counted == {good, never_expires}
        for credential in Credential.objects.all():
            assert credential_counts(credential=credential, today=today) is (credential in counted)

    def test_an_expired_credential_stops_counting_without_anyone_acting(self):
        credential = CredentialFactory(expires_on=dt.date(2026, 6, 1))
        assert qualifying_credentials(today=dt.date(2026, 6, 1)).filter(pk=credential.pk).exists()
        assert not qualifying_credentials(today=dt.date(2026, 6, 2)).filter(pk=credential.pk).exists()


@pytest.mark.django_db
class TestCredentialsExpiring:
    def test_it_lists_validated_credentials_expiring_soon_soonest_first(self):
        today = dt.date(2026, 6, 1)
        later = CredentialFactory(expires_on=dt.date(2026, 7, 1))  # day 30
        sooner = CredentialFactory(expires_on=dt.date(2026, 6, 1))  # today
        CredentialFactory(expires_on=dt.date(2026, 7, 2))  # day 31
        CredentialFactory(expires_on=dt.date(2026, 5, 31))  # already expired
        CredentialFactory(expires_on=None)
        CredentialFactory(expires_on=dt.date(2026, 6, 10), status=Credential.Status.PENDING)
        assert list(credentials_expiring(today=today)) == [sooner, later]
        assert list(credentials_expiring(today=today, within_days=7)) == [sooner]

    def test_it_narrows_a_given_queryset_without_a_query_per_row(self, django_assert_num_queries):
        today = dt.date(2026, 6, 1)
        mine = CredentialFactory(expires_on=dt.date(2026, 6, 15))
        CredentialFactory(peer=PeerFactory(agency=mine.peer.agency), expires_on=dt.date(2026, 6, 16))
        CredentialFactory(expires_on=dt.date(2026, 6, 15))
        with django_assert_num_queries(1):
            rows = [
                (c.peer.agency.name, c.type.code)
                for c in credentials_expiring(
                    today=today, queryset=Credential.objects.filter(peer__agency=mine.peer.agency)
                )
            ]
        assert len(rows) == 2


@pytest.mark.django_db
class TestEligiblePeers:
    AT = utc(2026, 1, 5, 15)  # Monday 10:00 in New York

    @pytest.fixture
    def county(self):
        return CountyFactory(name="Orange", state="NY")

    def make(self, county, *, code="CRPA", **peer_kwargs) -> Peer:
        agency = peer_kwargs.pop("agency", None) or AgencyFactory(counties=[county])
        peer = PeerFactory(agency=agency, **peer_kwargs)
        always_available(peer)
        CredentialFactory(peer=peer, type=credential_type(code))
        return peer

    def eligible(self, county, need=Need.SUBSTANCE_USE, at=None) -> set[int]:
        return set(eligible_peers(need=need, county=county, at=at or self.AT).values_list("pk", flat=True))

    def test_it_keeps_a_peer_who_meets_every_condition(self, county):
        peer = self.make(county)
        assert self.eligible(county) == {peer.pk}
        assert self.eligible(county.pk) == {peer.pk}

    def test_it_drops_inactive_opted_out_and_flagged_peers(self, county):
        self.make(county, is_active=False)
        self.make(county, opted_out_at=utc(2026, 1, 1))
        self.make(county, phone_flagged_at=utc(2026, 1, 1))
        assert self.eligible(county) == set()

    @pytest.mark.parametrize("status", [OrganisationStatus.PENDING, OrganisationStatus.SUSPENDED])
    def test_it_drops_peers_of_agencies_not_verified(self, county, status):
        self.make(county, agency=AgencyFactory(counties=[county], status=status))
        assert self.eligible(county) == set()

    def test_it_drops_peers_of_agencies_not_serving_the_county(self, county):
        elsewhere = CountyFactory(name="Ulster", state="NY")
        self.make(county, agency=AgencyFactory(counties=[elsewhere]))
        both = self.make(county, agency=AgencyFactory(counties=[elsewhere, county]))
        assert self.eligible(county) == {both.pk}

    @pytest.mark.parametrize(
        ("need", "expected"),
        [
            (Need.SUBSTANCE_USE, {"CRPA", "CRPA-P", "CPRS"}),
            (Need.MENTAL_HEALTH, {"NYCPS", "NYCPS-P", "CPRS"}),
            (Need.CO_OCCURRING, {"CRPA", "CRPA-P", "NYCPS", "NYCPS-P", "CPRS"}),
        ],
    )
    def test_it_matches_credential_types_to_the_need(self, county, need, expected):
        peers = {
            code: self.make(county, code=code) for code in ["CRPA", "CRPA-P", "NYCPS", "NYCPS-P", "CPRS"]
        }
        by_pk = {peer.pk: code for code, peer in peers.items()}
        assert {by_pk[pk] for pk in self.eligible(county, need=need)} == expected

    def test_it_drops_peers_whose_only_credential_does_not_count(self, county):
        pending = self.make(county)
        pending.credentials.update(status=Credential.Status.PENDING)
        expired = self.make(county)
        expired.credentials.update(issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2026, 1, 4))
        assert self.eligible(county) == set()
        expired.credentials.update(expires_on=dt.date(2026, 1, 5))  # expires today: still counts
        assert self.eligible(county) == {expired.pk}

    def test_it_drops_peers_who_are_not_available(self, county):
        peer = self.make(county)
        AvailabilityOverrideFactory(
            peer=peer, is_available=False, starts_at=self.AT, ends_at=self.AT + dt.timedelta(hours=1)
        )
        assert self.eligible(county) == set()

    def test_it_rejects_an_unknown_need(self, county):
        with pytest.raises(ValueError, match="Unknown need"):
            eligible_peers(need="other", county=county, at=self.AT)

    def test_it_lists_each_peer_once_in_one_query(self, county, django_assert_num_queries):
        for _ in range(5):
            peer = self.make(county)
            CredentialFactory(peer=peer, type=credential_type("CPRS"))  # two qualifying credentials
        with django_assert_num_queries(1):
            result = list(eligible_peers(need=Need.CO_OCCURRING, county=county, at=self.AT))
        assert len(result) == len({p.pk for p in result}) == 5


@pytest.mark.django_db
class TestRoster:
    def test_it_lists_only_the_agencys_peers_with_everything_prefetched(self, django_assert_num_queries):
        agency = AgencyFactory()
        for index in range(4):
            peer = PeerFactory(agency=agency)
            peer.languages.add(language("en"), language("es"))
            CredentialFactory(peer=peer)
            CredentialFactory(peer=peer, type=credential_type("NYCPS"), status=Credential.Status.PENDING)
            if index % 2:
                always_available(peer)
        PeerFactory()  # another agency's
        with django_assert_num_queries(3):
            rows = [
                (
                    p.full_name,
                    p.available_now,
                    [(c.type.code, c.counts_today) for c in p.credentials.all()],
                    [lang.code for lang in p.languages.all()],
                )
                for p in roster(agency=agency, at=utc(2026, 1, 5, 15))
            ]
        assert len(rows) == 4
        assert sorted(r[1] for r in rows) == [False, False, True, True]
        assert all(r[2] == [("CRPA", True), ("NYCPS", False)] for r in rows)
        assert all(sorted(r[3]) == ["en", "es"] for r in rows)

    def test_it_marks_an_expired_credential_as_not_counting(self):
        credential = CredentialFactory(issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2026, 1, 1))
        peer = roster(agency=credential.peer.agency, at=utc(2026, 1, 5, 15)).get()
        assert [c.counts_today for c in peer.credentials.all()] == [False]


@pytest.mark.django_db
class TestAvailableNow:
    def test_it_lists_the_agencys_active_available_peers_with_the_override_in_force(self):
        agency = AgencyFactory()
        by_hours = PeerFactory(agency=agency)
        always_available(by_hours)
        by_override = PeerFactory(agency=agency)
        at = utc(2026, 1, 5, 15)
        override = AvailabilityOverrideFactory(
            peer=by_override, starts_at=at, ends_at=at + dt.timedelta(hours=2)
        )
        inactive = PeerFactory(agency=agency, is_active=False)
        always_available(inactive)
        other_agencys = PeerFactory()
        always_available(other_agencys)
        for peer in (by_hours, by_override, inactive, other_agencys):
            CredentialFactory(peer=peer)
        peers = {p.pk: p for p in available_now(agency=agency, at=at)}
        assert set(peers) == {by_hours.pk, by_override.pk}
        assert peers[by_override.pk].current_overrides == [override]
        assert peers[by_hours.pk].current_overrides == []

    def test_it_leaves_out_peers_whose_credentials_do_not_count(self):
        agency = AgencyFactory()
        at = utc(2026, 1, 5, 15)
        validated = PeerFactory(agency=agency, last_name="Validated")
        CredentialFactory(peer=validated, type=credential_type("NYCPS"))
        awaiting = PeerFactory(agency=agency, last_name="Awaiting")
        CredentialFactory(peer=awaiting, status=Credential.Status.PENDING)
        rejected = PeerFactory(agency=agency, last_name="Rejected")
        CredentialFactory(peer=rejected, status=Credential.Status.REJECTED)
        expired = PeerFactory(agency=agency, last_name="Expired")
        CredentialFactory(peer=expired, expires_on=dt.date(2026, 1, 4))
        none = PeerFactory(agency=agency, last_name="None")
        for peer in (validated, awaiting, rejected, expired, none):
            always_available(peer)
        assert [p.last_name for p in available_now(agency=agency, at=at)] == ["Validated"]

    def test_it_counts_a_credential_expiring_today(self):
        peer = PeerFactory()
        CredentialFactory(peer=peer, expires_on=dt.date(2026, 1, 5))
        always_available(peer)
        assert list(available_now(agency=peer.agency, at=utc(2026, 1, 5, 15))) == [peer]


@pytest.mark.django_db
class TestOverridesInForce:
    def test_it_lists_running_and_upcoming_overrides_newest_first(self):
        peer = PeerFactory()
        now = utc(2026, 1, 5, 12)
        AvailabilityOverrideFactory(peer=peer, starts_at=now - dt.timedelta(hours=5), ends_at=now)  # over
        running = AvailabilityOverrideFactory(peer=peer, starts_at=now - dt.timedelta(hours=1))
        upcoming = AvailabilityOverrideFactory(peer=peer, starts_at=now + dt.timedelta(hours=1))
        peer = Peer.objects.prefetch_related(Prefetch("overrides")).get(pk=peer.pk)
        assert overrides_in_force(peer=peer, now=now) == [upcoming, running]


class TestWeekCoverage:
    def test_it_shades_every_hour_a_window_touches(self):
        windows = [
            AvailabilityWindow(weekday=MON, start=t(9, 30), end=t(11)),
            AvailabilityWindow(weekday=SUN, start=t(23), end=t(1)),
            AvailabilityWindow(weekday=WED, start=t(0), end=t(0)),
        ]
        grid = week_coverage(windows)
        covered = {(hour, day) for hour in range(24) for day in range(7) if grid[hour][day]}
        assert covered == {(9, MON), (10, MON), (23, SUN), (0, MON)} | {(hour, WED) for hour in range(24)}


# --- the queryset and the per-peer function agree -------------------------------------------

HALF_HOURS = st.integers(min_value=0, max_value=47).map(lambda k: dt.time(k // 2, 30 * (k % 2)))
# Mostly on the half-hour grid (so instants land exactly on window edges), sometimes anywhere.
WINDOW_TIMES = st.one_of(HALF_HOURS, HALF_HOURS, HALF_HOURS, st.times())
WINDOWS = st.tuples(st.integers(0, 6), WINDOW_TIMES, WINDOW_TIMES).filter(
    lambda w: w[1] != w[2] or w[1] == dt.time(0, 0)
)
DAYS = st.one_of(
    st.sampled_from([dt.date(2026, 3, 7), dt.date(2026, 3, 8), dt.date(2026, 10, 31), dt.date(2026, 11, 1)]),
    st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31)),
)
# Every supported zone is a whole number of hours from UTC, so half-hour instants in UTC are
# half-hour wall-clock times too; the jitter probes just before and just after an edge.
ANCHORS = st.builds(
    lambda day, k: dt.datetime.combine(day, dt.time(0), tzinfo=UTC) + dt.timedelta(minutes=30 * k),
    day=DAYS,
    k=st.integers(0, 47),
)
JITTER = st.sampled_from(
    [dt.timedelta(0), dt.timedelta(0), dt.timedelta(seconds=-1), dt.timedelta(microseconds=1)]
)
# Instants are probed around the anchor, where the overrides start and end too...
PROBES = st.lists(st.tuples(st.integers(-8, 8), JITTER), min_size=3, max_size=4)
# ...and exactly at (or a hair off) the start or end of some of the generated windows.
EDGES = st.lists(st.tuples(st.integers(0, 10_000), st.booleans(), JITTER), min_size=3, max_size=3)
OVERRIDES = st.tuples(
    st.integers(-6, 6),  # start, in half hours from the anchor
    st.integers(1, 12),  # length in half hours
    st.booleans(),
    st.integers(0, 2),  # creation time bucket: equal buckets force the tie-break by id
)
PEERS = st.tuples(
    st.sampled_from([tz for tz, _label in TIME_ZONES]),
    st.lists(WINDOWS, max_size=5),
    st.lists(OVERRIDES, max_size=3),
)


@pytest.mark.django_db
class TestAvailabilityAgreement:
    """``available_peers`` (SQL) and ``is_available`` (Python) agree on random peers and instants."""

    def test_it_agrees_on_more_than_a_thousand_random_pairs(self):
        pairs_checked = 0

        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(peers=st.lists(PEERS, min_size=8, max_size=12), anchor=ANCHORS, probes=PROBES, edges=EDGES)
        def check(peers, anchor, probes, edges):
            nonlocal pairs_checked
            # Each example runs in a savepoint rolled back at the end: examples don't see each other.
            with transaction.atomic():
                created = self.make_world(peers, anchor)
                loaded = list(
                    Peer.objects.filter(pk__in=created)
                    .select_related("agency")
                    .prefetch_related("windows", "overrides")
                )
                instants = [anchor + dt.timedelta(minutes=30 * k) + jitter for k, jitter in probes]
                instants += self.window_edges(peers, anchor, edges)
                for at in instants:
                    from_queryset = set(
                        available_peers(at=at, queryset=Peer.objects.filter(pk__in=created)).values_list(
                            "pk", flat=True
                        )
                    )
                    from_python = {peer.pk for peer in loaded if is_available(peer=peer, at=at)}
                    assert from_queryset == from_python, f"at {at.isoformat()}"
                    pairs_checked += len(loaded)
                transaction.set_rollback(True)

        check()
        assert pairs_checked >= 1000

    @staticmethod
    def window_edges(peers, anchor: dt.datetime, edges) -> list[dt.datetime]:
        """Instants where a generated window starts or ends, in the anchor's week and the peer's zone."""
        windows = [(tz, window) for tz, peer_windows, _overrides in peers for window in peer_windows]
        instants = []
        for index, at_start, jitter in edges if windows else []:
            tz, (weekday, start, end) = windows[index % len(windows)]
            zone = ZoneInfo(tz)
            local_anchor = anchor.astimezone(zone).date()
            monday = local_anchor - dt.timedelta(days=local_anchor.weekday())
            crosses_midnight = end <= start
            day = monday + dt.timedelta(days=weekday + (0 if at_start or not crosses_midnight else 1))
            local = dt.datetime.combine(day, start if at_start else end, tzinfo=zone)
            instants.append(local.astimezone(UTC) + jitter)
        return instants

    @staticmethod
    def make_world(peers, anchor: dt.datetime) -> list[int]:
        agencies: dict[str, object] = {}
        created = []
        for tz, windows, overrides in peers:
            if tz not in agencies:
                agencies[tz] = AgencyFactory(timezone=tz)
            peer = PeerFactory(agency=agencies[tz])
            AvailabilityWindow.objects.bulk_create(
                [AvailabilityWindow(peer=peer, weekday=d, start=s, end=e) for d, s, e in windows]
            )
            for start, length, available, bucket in overrides:
                starts_at = anchor + dt.timedelta(minutes=30 * start)
                override = AvailabilityOverrideFactory(
                    peer=peer,
                    starts_at=starts_at,
                    ends_at=starts_at + dt.timedelta(minutes=30 * length),
                    is_available=available,
                )
                AvailabilityOverride.objects.filter(pk=override.pk).update(
                    created_at=utc(2026, 1, 1) + dt.timedelta(hours=bucket)
                )
            created.append(peer.pk)
        return created


@pytest.mark.django_db
class TestPeerForNumber:
    def test_it_finds_the_peer_however_the_number_is_written(self):
        peer = PeerFactory(phone="+12125550199")
        assert peer_for_number("+12125550199") == peer
        assert peer_for_number("(212) 555-0199") == peer

    def test_it_finds_a_peer_with_a_test_range_number(self):
        peer = PeerFactory(phone="+15555550101")
        assert peer_for_number("+15555550101") == peer

    def test_it_finds_nobody_for_text_that_is_no_number(self):
        PeerFactory(phone="+12125550199")
        assert peer_for_number("not a number") is None
        assert peer_for_number("") is None
