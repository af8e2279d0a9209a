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
    the preferences describe the peer, and they never leave Peer-RX by text.

    The kind of support has no default (a hurried nurse must not send the wrong one), whom to ask
    for comes before the optional preferences, and the languages asked for most often are shown
    first (``common_languages``, ids in order), the others behind a disclosure."""

    need = forms.ChoiceField(
        label="Kind of support",
        choices=Need.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the kind of support",
            "invalid_choice": "Choose one of the kinds of support listed",
        },
    )
    callback_contact = forms.CharField(
        label="Who should the peer ask for?",
        max_length=PeerRequest._meta.get_field("callback_contact").max_length,
        help_text="A staff name or extension at your location — never the patient's name.",
        error_messages={
            "required": "Say whom the peer should ask for: a staff name or extension",
            "max_length": "Say whom to ask for in %(limit_value)d characters or fewer",
        },
    )
    age_range = forms.ChoiceField(
        label="Peer's age range",
        choices=NO_PREFERENCE + AgeRange.choices,
        required=False,
        error_messages={"invalid_choice": "Choose an age range from the list"},
    )
    gender = forms.ChoiceField(
        label="Peer's gender",
        choices=NO_PREFERENCE + Gender.choices,
        required=False,
        error_messages={"invalid_choice": "Choose a gender from the list"},
    )
    languages = forms.ModelMultipleChoiceField(
        label="Languages the peer speaks",
        queryset=Language.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Any one of them counts.",
        error_messages={
            "invalid_choice": "Choose languages from the list",
            "invalid_pk_value": "Choose languages from the list",
        },
    )

    def __init__(self, *args, common_languages: list[int] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.common_languages = list(common_languages or [])

    def clean_callback_contact(self) -> str:
        value = self.cleaned_data["callback_contact"].strip()
        if not value:
            raise forms.ValidationError(self.fields["callback_contact"].error_messages["required"])
        found = patient_details.problem(value)
        if found:
            raise forms.ValidationError(
                f"This goes to the peer by text, so it must be a staff name or extension only: {found}."
            )
        return value

    def language_groups(self) -> tuple[list, list]:
        """The language checkboxes split in two: the most requested (in that order), the others."""
        order = {pk: index for index, pk in enumerate(self.common_languages)}
        options = list(self["languages"])
        common = sorted(
            (option for option in options if option.data["value"].value in order),
            key=lambda option: order[option.data["value"].value],
        )
        others = [option for option in options if option.data["value"].value not in order]
        return common, others

    @property
    def preferences_chosen(self) -> bool:
        """A preference was given or refused: the optional preferences open on the page."""
        names = ("age_range", "gender", "languages")
        return any(self[name].value() for name in names) or any(name in self.errors for name in names)

    @property
    def other_language_chosen(self) -> bool:
        chosen = {str(value) for value in self["languages"].value() or []}
        return any(str(option.data["value"].value) in chosen for option in self.language_groups()[1])


class StaffRequestForm(RequestForm):
    """Peer-RX staff submitting for a location that phoned in."""

    location = forms.ModelChoiceField(
        label="Location",
        queryset=Location.objects.filter(status=OrganisationStatus.VERIFIED).order_by("name"),
        help_text="Only verified locations can request a peer.",
    )

    field_order = ["location", "need", "callback_contact", "age_range", "gender", "languages"]


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
