import pytest

from accounts.forms import typed_counties
from tests.accounts.factories import CountyFactory

pytestmark = pytest.mark.django_db


class TestTypedCounties:
    def test_it_splits_counties_that_exist_from_new_ones_each_once(self):
        orange = CountyFactory(name="Orange", state="NY")
        typed = [("NY", "orange county"), ("NY", "Dutchess"), ("NY", "dutchess"), ("NY", "ORANGE")]
        existing, new = typed_counties(typed)
        assert existing == [orange]
        assert new == [("NY", "Dutchess")]
