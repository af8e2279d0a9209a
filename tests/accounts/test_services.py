import pytest

from accounts.models import County
from accounts.services import get_or_create_county
from tests.accounts.factories import CountyFactory

pytestmark = pytest.mark.django_db


class TestGetOrCreateCounty:
    def test_it_finds_a_county_whatever_the_case_and_suffix(self):
        orange = CountyFactory(name="Orange", state="NY")
        assert get_or_create_county(state="ny", name=" orange  county ") == orange
        assert County.objects.count() == 1

    def test_it_creates_a_new_county_with_a_capital(self):
        county = get_or_create_county(state="NY", name="dutchess")
        assert (county.name, county.state) == ("Dutchess", "NY")
