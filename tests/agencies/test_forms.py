import pytest
from django import forms

from agencies.forms import AgencyDetailsForm, parse_counties
from tests.accounts.factories import CountyFactory

pytestmark = pytest.mark.django_db


class TestParseCounties:
    def test_it_reads_one_county_per_line(self):
        text = "Orange, NY\n\n  Sullivan County , ny  \nSt. Lawrence, NY"
        assert parse_counties(text) == [("NY", "Orange"), ("NY", "Sullivan County"), ("NY", "St. Lawrence")]

    def test_it_names_every_bad_line(self):
        with pytest.raises(forms.ValidationError) as error:
            parse_counties("Orange, NY\nUlster NY\nErie, XX\n, NY")
        messages = error.value.messages
        assert len(messages) == 3
        assert [message.split(" ")[1] for message in messages] == ["2", "3", "4"]


class TestAgencyDetailsForm:
    def _data(self, **overrides):
        data = {
            "name": "Peers",
            "contact_name": "Ann",
            "phone": "845 555 0111",
            "agency_email": "a@example.org",
            "timezone": "America/New_York",
            "counties": [],
            "other_counties": "",
        }
        return {**data, **overrides}

    def test_it_turns_typed_counties_that_exist_into_chosen_ones(self):
        orange = CountyFactory(name="Orange")
        form = AgencyDetailsForm(self._data(other_counties="orange county, NY\nDutchess, NY\ndutchess, ny"))
        assert form.is_valid(), form.errors
        assert form.cleaned_data["counties"] == [orange]
        assert form.cleaned_data["other_counties"] == [("NY", "Dutchess")]

    def test_it_needs_a_county(self):
        form = AgencyDetailsForm(self._data())
        assert not form.is_valid()
        assert form.errors["counties"] == ["Choose at least one county your agency serves."]
