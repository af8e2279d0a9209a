import pytest

from core.choices import OrganisationStatus
from locations.selectors import location_overview, preferred_agencies, rankable_agencies
from tests.accounts.factories import CountyFactory
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import (
    LocationFactory,
    LocationMembershipFactory,
    PreferredAgencyFactory,
)

pytestmark = pytest.mark.django_db


class TestRankableAgencies:
    def test_it_gives_verified_agencies_serving_the_county(self):
        location = LocationFactory()
        serving = AgencyFactory(counties=[location.county])
        AgencyFactory(counties=[location.county], status=OrganisationStatus.PENDING)
        AgencyFactory(counties=[location.county], status=OrganisationStatus.SUSPENDED)
        AgencyFactory(counties=[CountyFactory(name="Erie")])
        assert list(rankable_agencies(location=location)) == [serving]


class TestPreferredAgencies:
    def test_it_gives_the_ranking_in_one_query(self, django_assert_num_queries):
        location = LocationFactory()
        second = PreferredAgencyFactory(location=location, rank=2, agency__counties=[location.county])
        first = PreferredAgencyFactory(location=location, rank=1, agency__counties=[location.county])
        with django_assert_num_queries(1):
            rows = preferred_agencies(location=location)
            assert [row.agency.name for row in rows] == [first.agency.name, second.agency.name]


class TestLocationOverview:
    def test_it_counts_staff_and_agencies(self):
        location = LocationFactory()
        LocationMembershipFactory(location=location)
        invited = LocationMembershipFactory(location=location)
        invited.user.set_unusable_password()
        invited.user.save()
        LocationMembershipFactory(location=location, user__is_active=False)
        AgencyFactory.create_batch(2, counties=[location.county])
        overview = location_overview(location=location)
        assert (overview.active_staff, overview.invited_staff, overview.serving_agencies) == (2, 1, 2)
        assert overview.preferred == []
