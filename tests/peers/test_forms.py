import datetime as dt

import pytest

from peers.forms import AvailableForHoursForm, CredentialForm, PeerForm, UnavailableUntilForm, WeekFormSet
from peers.services import WindowSpec
from tests.peers.factories import PeerFactory, credential_type, language

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC)


def week_data(*rows, deleted=()) -> dict:
    data = {"hours-TOTAL_FORMS": str(len(rows)), "hours-INITIAL_FORMS": "0"}
    for index, (weekday, start, end) in enumerate(rows):
        data.update(
            {f"hours-{index}-weekday": weekday, f"hours-{index}-start": start, f"hours-{index}-end": end}
        )
        if index in deleted:
            data[f"hours-{index}-DELETE"] = "on"
    return data


class TestPeerForm:
    def test_it_normalises_the_number(self):
        form = PeerForm(
            data={
                "first_name": "Ana",
                "last_name": "Rivera",
                "phone": "845.555.0123",
                "age_range": "18_35",
                "gender": "female",
                "languages": [language("en").pk],
            }
        )
        assert form.is_valid(), form.errors
        assert form.cleaned_data["phone"].as_e164 == "+18455550123"

    def test_it_reports_a_duplicate_with_a_clear_message(self):
        PeerFactory(phone="+18455550123")
        form = PeerForm(
            data={
                "first_name": "A",
                "last_name": "B",
                "phone": "+18455550123",
                "age_range": "18_35",
                "gender": "male",
            }
        )
        assert not form.is_valid()
        assert form.errors["phone"] == ["This mobile number is already registered in Peer-RX."]


class TestCredentialForm:
    def test_it_refuses_an_expiry_before_the_issue(self):
        form = CredentialForm(
            data={
                "type": credential_type("CRPA").pk,
                "number": "1",
                "issued_on": "2026-01-02",
                "expires_on": "2026-01-01",
            }
        )
        assert not form.is_valid()
        assert form.errors["expires_on"] == ["The expiry date must be after the issue date."]

    def test_it_has_no_status_field(self):
        assert "status" not in CredentialForm().fields
        assert "validated_by" not in CredentialForm().fields


class TestWeekFormSet:
    def test_it_gives_the_windows_to_save(self):
        formset = WeekFormSet(
            week_data(
                ("0", "09:00", "17:00"),
                ("4", "22:00", "06:00"),
                ("", "", ""),
                ("2", "08:00", "09:00"),
                deleted=(3,),
            ),
            prefix="hours",
        )
        assert formset.is_valid(), formset.errors
        assert formset.specs() == [
            WindowSpec(0, dt.time(9), dt.time(17)),
            WindowSpec(4, dt.time(22), dt.time(6)),
        ]

    def test_it_refuses_overlaps_across_rows(self):
        formset = WeekFormSet(week_data(("0", "09:00", "17:00"), ("0", "10:00", "11:00")), prefix="hours")
        assert not formset.is_valid()
        assert formset.non_form_errors() == ["Monday 09:00–17:00 overlaps Monday 10:00–11:00."]

    def test_a_deleted_row_does_not_count_as_an_overlap(self):
        formset = WeekFormSet(
            week_data(("0", "09:00", "17:00"), ("0", "10:00", "11:00"), deleted=(1,)), prefix="hours"
        )
        assert formset.is_valid(), formset.non_form_errors()


class TestOverrideForms:
    @pytest.mark.parametrize(("hours", "valid"), [("1", True), ("72", True), ("0", False), ("73", False)])
    def test_available_for_hours_has_bounds(self, hours, valid):
        assert AvailableForHoursForm(data={"hours": hours}).is_valid() is valid

    @pytest.mark.parametrize(
        ("until", "valid"),
        [("2026-01-05T09:00", False), ("2026-01-06T09:00", True), ("2027-06-01T09:00", False)],
    )
    def test_unavailable_until_must_be_in_the_coming_year(self, until, valid):
        assert UnavailableUntilForm(data={"until": until}, now=NOW).is_valid() is valid
