from django import forms

from core.choices import AgeRange, Gender, Need, OrganisationStatus
from locations.models import Location
from peer_requests import patient_details
from peer_requests.models import PeerRequest
from peers.models import Language

NO_PREFERENCE = [("", "No preference")]

PRIVACY_NOTE = (
    "There is no field for the patient on purpose: alerts go to many peers by text message, "
    "and no protected health information may travel by SMS. The peer you are matched with "
    "meets the person at your location."
)


class RequestForm(forms.Form):
    """What a location asks for. Nothing here describes the patient beyond the kind of support;
    the preferences describe the peer, and they never leave Peer-RX by text."""

    need = forms.ChoiceField(
        label="Kind of support", choices=Need.choices, widget=forms.RadioSelect, initial=Need.SUBSTANCE_USE
    )
    age_range = forms.ChoiceField(
        label="Peer's age range", choices=NO_PREFERENCE + AgeRange.choices, required=False
    )
    gender = forms.ChoiceField(label="Peer's gender", choices=NO_PREFERENCE + Gender.choices, required=False)
    languages = forms.ModelMultipleChoiceField(
        label="Languages the peer speaks",
        queryset=Language.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Optional. Any one of them counts.",
    )
    callback_contact = forms.CharField(
        label="Who should the peer ask for?",
        max_length=PeerRequest._meta.get_field("callback_contact").max_length,
        help_text="A staff name or extension at your location — never the patient's name.",
    )

    def clean_callback_contact(self) -> str:
        value = self.cleaned_data["callback_contact"].strip()
        if not value:
            raise forms.ValidationError("Say whom the peer should ask for.")
        found = patient_details.problem(value)
        if found:
            raise forms.ValidationError(
                f"This goes to the peer by text, so it must be a staff name or extension only: {found}."
            )
        return value


class StaffRequestForm(RequestForm):
    """Peer-RX staff submitting for a location that phoned in."""

    location = forms.ModelChoiceField(
        label="Location",
        queryset=Location.objects.filter(status=OrganisationStatus.VERIFIED).order_by("name"),
        help_text="Only verified locations can request a peer.",
    )

    field_order = ["location", "need", "age_range", "gender", "languages", "callback_contact"]


class FollowUpForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Outcome", choices=[("", "Choose an outcome"), *PeerRequest.FollowUpOutcome.choices]
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What happened; no patient details.",
    )
