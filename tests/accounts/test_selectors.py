import pytest

from accounts.selectors import find_county, normalise_county_name, organisation_members
from tests.accounts.factories import CountyFactory, UserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import LocationFactory, LocationMembershipFactory

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


class TestOrganisationMembers:
    def test_it_lists_a_locations_staff_active_first_in_one_query(self, django_assert_num_queries):
        location = LocationFactory()
        gone = LocationMembershipFactory(
            location=location, user=UserFactory(last_name="Aaron", is_active=False)
        )
        here = LocationMembershipFactory(location=location, user=UserFactory(last_name="Zed"))
        LocationMembershipFactory()
        with django_assert_num_queries(1):
            members = list(organisation_members(organisation=location))
            assert [m.user.last_name for m in members] == ["Zed", "Aaron"]
        assert members == [here, gone]

    def test_it_lists_the_agencys_supervisors_active_first(self, django_assert_num_queries):
        agency = AgencyFactory()
        gone = AgencyMembershipFactory(agency=agency, user=UserFactory(last_name="Abbot", is_active=False))
        here = AgencyMembershipFactory(agency=agency, user=UserFactory(last_name="Young"))
        AgencyMembershipFactory()
        with django_assert_num_queries(1):
            assert list(organisation_members(organisation=agency)) == [here, gone]
