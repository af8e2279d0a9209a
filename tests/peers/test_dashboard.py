import datetime as dt

import pytest

from peers.selectors import agency_overview
from tests.accounts.factories import CountyFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.peers.factories import (
    AvailabilityOverrideFactory,
    AvailabilityWindowFactory,
    CredentialFactory,
    PeerFactory,
)

pytestmark = pytest.mark.django_db

# Monday 2027-01-04, 10:00 in New York.
MONDAY_10AM = dt.datetime(2027, 1, 4, 15, 0, tzinfo=dt.UTC)


class TestAgencyOverview:
    def test_it_counts_active_available_and_credentials(self):
        agency = AgencyFactory(counties=[CountyFactory(name="Orange"), CountyFactory(name="Ulster")])
        on_shift = PeerFactory(agency=agency)
        AvailabilityWindowFactory(peer=on_shift, weekday=0, start=dt.time(9), end=dt.time(17))
        CredentialFactory(peer=on_shift, expires_on=dt.date(2027, 1, 20))  # within 30 days
        off_shift = PeerFactory(agency=agency)
        AvailabilityWindowFactory(peer=off_shift, weekday=0, start=dt.time(18), end=dt.time(22))
        CredentialFactory(peer=off_shift, status="pending")
        called_in_sick = PeerFactory(agency=agency)
        AvailabilityWindowFactory(peer=called_in_sick, weekday=0, start=dt.time(9), end=dt.time(17))
        AvailabilityOverrideFactory(
            peer=called_in_sick,
            starts_at=MONDAY_10AM - dt.timedelta(hours=1),
            ends_at=MONDAY_10AM + dt.timedelta(hours=4),
            is_available=False,
        )
        opted_out = PeerFactory(agency=agency, opted_out_at=MONDAY_10AM - dt.timedelta(days=1))
        AvailabilityWindowFactory(peer=opted_out, weekday=0, start=dt.time(9), end=dt.time(17))
        inactive = PeerFactory(agency=agency, is_active=False)
        AvailabilityWindowFactory(peer=inactive, weekday=0, start=dt.time(9), end=dt.time(17))
        CredentialFactory(peer=inactive, status="pending")
        elsewhere = PeerFactory()
        AvailabilityWindowFactory(peer=elsewhere, weekday=0, start=dt.time(9), end=dt.time(17))
        AgencyMembershipFactory(agency=agency)

        overview = agency_overview(agency=agency, now=MONDAY_10AM)

        assert overview.active_peers == 4
        assert overview.available_now == 1
        assert overview.pending_credentials == 1
        assert overview.expiring_credentials == 1
        assert overview.supervisors == 1
        assert [county.name for county in overview.counties] == ["Orange", "Ulster"]

    def test_available_now_leaves_out_a_peer_whose_credential_awaits_validation(self):
        agency = AgencyFactory()
        awaiting = PeerFactory(agency=agency)
        AvailabilityWindowFactory(peer=awaiting, weekday=0, start=dt.time(9), end=dt.time(17))
        CredentialFactory(peer=awaiting, status="pending")
        assert agency_overview(agency=agency, now=MONDAY_10AM).available_now == 0
        CredentialFactory(peer=awaiting)
        assert agency_overview(agency=agency, now=MONDAY_10AM).available_now == 1

    def test_it_runs_the_same_queries_for_any_roster(self, django_assert_num_queries):
        agency = AgencyFactory()
        with django_assert_num_queries(5):
            agency_overview(agency=agency, now=MONDAY_10AM)
        for _ in range(5):
            peer = PeerFactory(agency=agency)
            CredentialFactory(peer=peer)
            AvailabilityWindowFactory(peer=peer)
        with django_assert_num_queries(5):
            assert agency_overview(agency=agency, now=MONDAY_10AM).available_now == 5
