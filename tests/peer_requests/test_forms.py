import pytest

from core.choices import Need, OrganisationStatus
from peer_requests.forms import FollowUpForm, RequestForm, StaffRequestForm
from tests.locations.factories import LocationFactory
from tests.peers.factories import language

pytestmark = pytest.mark.django_db

PATIENT_WORDS = ("patient", "name", "dob", "birth", "mrn", "bed", "room", "diagnosis", "condition")


class TestRequestForm:
    def test_it_has_no_field_about_the_patient(self):
        form = RequestForm()
        assert list(form.fields) == ["need", "callback_contact", "age_range", "gender", "languages"]
        for name in form.fields:
            assert not any(word in name for word in PATIENT_WORDS)

    def test_preferences_are_optional_and_the_contact_is_trimmed(self):
        form = RequestForm({"need": Need.CO_OCCURRING, "callback_contact": "  Ext. 12  "})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["callback_contact"] == "Ext. 12"
        assert form.cleaned_data["age_range"] == ""
        assert list(form.cleaned_data["languages"]) == []

    def test_it_accepts_languages_and_refuses_unknown_choices(self):
        form = RequestForm(
            {
                "need": Need.MENTAL_HEALTH,
                "callback_contact": "Desk",
                "languages": [language("es").pk],
                "gender": "male",
            }
        )
        assert form.is_valid(), form.errors
        assert RequestForm({"need": "flu", "callback_contact": "Desk"}).errors["need"]
        assert RequestForm({"need": Need.MENTAL_HEALTH, "callback_contact": "Desk", "gender": "x"}).errors[
            "gender"
        ]


class TestStaffRequestForm:
    def test_it_offers_verified_locations_only(self):
        verified = LocationFactory()
        pending = LocationFactory(status=OrganisationStatus.PENDING)
        form = StaffRequestForm()
        assert next(iter(form.fields)) == "location"
        assert set(form.fields["location"].queryset) == {verified}
        assert pending not in form.fields["location"].queryset


class TestFollowUpForm:
    def test_it_needs_an_outcome(self):
        assert FollowUpForm({"note": "x"}).errors["outcome"]
        assert FollowUpForm({"outcome": "other"}).is_valid()
