import datetime as dt

import pytest

from locations.models import Location
from reporting.forms import ReportFilterForm

TODAY = dt.date(2026, 3, 31)


class TestReportFilterForm:
    def test_it_defaults_to_the_last_30_days_by_day(self, db):
        form = ReportFilterForm({}, today=TODAY)
        assert form.is_valid(), form.errors
        assert form.cleaned_data["start"] == dt.date(2026, 3, 2)
        assert form.cleaned_data["end"] == TODAY
        assert form.cleaned_data["period"] == "day"

    def test_it_keeps_what_was_chosen(self, db):
        form = ReportFilterForm(
            {"start": "2026-01-01", "end": "2026-01-31", "period": "week", "need": "co_occurring"},
            today=TODAY,
        )
        assert form.is_valid(), form.errors
        assert (form.cleaned_data["start"], form.cleaned_data["end"]) == (
            dt.date(2026, 1, 1),
            dt.date(2026, 1, 31),
        )
        assert form.cleaned_data["period"] == "week"
        assert form.cleaned_data["need"] == "co_occurring"

    def test_it_refuses_an_end_before_the_start(self, db):
        form = ReportFilterForm({"start": "2026-03-10", "end": "2026-03-09"}, today=TODAY)
        assert not form.is_valid()
        assert form.errors["end"] == ["The end date is before the start date."]

    @pytest.mark.parametrize(("end", "valid"), [("2027-02-04", True), ("2027-02-05", False)])
    def test_it_allows_at_most_400_days(self, db, end, valid):
        form = ReportFilterForm({"start": "2026-01-01", "end": end}, today=TODAY)
        assert form.is_valid() is valid
        if not valid:
            assert form.errors["end"] == ["The range covers 401 days; choose 400 days or fewer."]

    def test_it_refuses_an_unknown_need_or_period(self, db):
        form = ReportFilterForm({"need": "housing", "period": "year"}, today=TODAY)
        assert set(form.errors) == {"need", "period"}

    def test_it_offers_only_the_organisation_filters_it_is_given(self, db):
        form = ReportFilterForm({}, today=TODAY)
        assert "location" not in form.fields and "agency" not in form.fields
        form = ReportFilterForm({}, today=TODAY, locations=Location.objects.none())
        assert "location" in form.fields and "agency" not in form.fields

    def test_it_refuses_a_location_outside_its_choices(self, db):
        form = ReportFilterForm({"location": "999"}, today=TODAY, locations=Location.objects.all())
        assert "location" in form.errors

    def test_every_field_has_a_label(self, db):
        form = ReportFilterForm(
            {}, today=TODAY, locations=Location.objects.none(), agencies=Location.objects.none()
        )
        assert all(field.label for field in form.fields.values())
