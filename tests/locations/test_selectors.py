import pytest

from core.choices import OrganisationStatus
from locations.selectors import (
    find_county,
    location_members,
    location_overview,
    normalise_county_name,
    preferred_agencies,
    rankable_agencies,
)
from tests.accounts.factories import UserFactory
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import (
    CountyFactory,
    LocationFactory,
    LocationMembershipFactory,
    PreferredAgencyFactory,
)

pytestmark = pytest.mark.django_db


class TestNormaliseCountyName:
    @pytest.mark.parametrize(
        ("typed", "name"),
        [("Orange", "Orange"), ("  Orange   County ", "Orange"), ("St. Lawrence county", "St. Lawrence")],
    )
    def test_it_drops_spaces_and_the_county_suffix(self, typed, name):
        assert normalise_county_name(typed) == name


class TestFindCounty:
    def test_it_ignores_case(self):
        orange = CountyFactory(name="Orange", state="NY")
        assert find_county(state="ny", name="ORANGE COUNTY") == orange
        assert find_county(state="CA", name="Orange") is None


class TestRankableAgencies:
    def test_it_gives_verified_agencies_serving_the_county(self):
        location = LocationFactory()
        serving = AgencyFactory(counties=[location.county])
        AgencyFactory(counties=[location.county], status=OrganisationStatus.PENDING)
        AgencyFactory(counties=[location.county], status=OrganisationStatus.SUSPENDED)
        AgencyFactory(counties=[CountyFactory(name="Erie")])
        assert list(rankable_agencies(location=location)) == [serving]


class TestLocationMembers:
    def test_it_lists_active_members_first_in_one_query(self, django_assert_num_queries):
        location = LocationFactory()
        gone = LocationMembershipFactory(
            location=location, user=UserFactory(last_name="Aaron", is_active=False)
        )
        here = LocationMembershipFactory(location=location, user=UserFactory(last_name="Zed"))
        LocationMembershipFactory()
        with django_assert_num_queries(1):
            members = list(location_members(location=location))
            assert [m.user.last_name for m in members] == ["Zed", "Aaron"]
        assert members == [here, gone]


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
