"""Forms for agencies. Forms only validate: ``agencies.services`` does the writes."""

from django import forms

from accounts.forms import NewMemberForm, NewMemberWithPasswordForm, model_field, typed_counties
from accounts.models import County
from accounts.selectors import county_list
from accounts.states import STATE_CODES
from agencies.models import Agency


def parse_counties(text: str) -> list[tuple[str, str]]:
    """'Orange, NY' lines to (state, name) pairs; raises ValidationError naming the bad lines."""
    pairs: list[tuple[str, str]] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        name, comma, state = line.rpartition(",")
        state = state.strip().upper()
        if not comma or not name.strip() or state not in STATE_CODES:
            errors.append(
                f'Line {number} ("{line}"): write it as county name, comma, state code, e.g. "Orange, NY".'
            )
            continue
        pairs.append((state, name.strip()))
    if errors:
        raise forms.ValidationError(errors)
    return pairs


class AgencyDetailsForm(forms.Form):
    name = model_field(Agency, "name", label="Name of the agency")
    contact_name = model_field(Agency, "contact_name", label="Contact person")
    phone = model_field(Agency, "phone", label="Phone")
    # Named apart from the member's own email on the sign-up form.
    agency_email = model_field(Agency, "email", label="Agency email")
    timezone = model_field(Agency, "timezone", label="Time zone")
    counties = forms.ModelMultipleChoiceField(
        label="Counties served",
        queryset=County.objects.none(),  # set in __init__: read at request time
        required=False,
        help_text="Your peers are alerted for requests from locations in these counties. "
        "Hold Ctrl (Cmd on a Mac) to choose several.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    other_counties = forms.CharField(
        label="Other counties served (not in the list)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='One per line, e.g. "Orange, NY".',
    )

    field_order = ["name", "contact_name", "phone", "agency_email", "timezone", "counties", "other_counties"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["counties"].queryset = county_list(also=self.initial.get("counties") or [])

    def clean_other_counties(self) -> list[tuple[str, str]]:
        return parse_counties(self.cleaned_data.get("other_counties") or "")

    def clean(self) -> dict:
        cleaned = super().clean()
        chosen = list(cleaned.get("counties") or [])
        existing, new = typed_counties(cleaned.get("other_counties") or [])
        chosen += [county for county in existing if county not in chosen]
        if not chosen and not new and "counties" not in self.errors and "other_counties" not in self.errors:
            self.add_error("counties", "Choose at least one county your agency serves.")
        cleaned["counties"] = chosen
        cleaned["other_counties"] = new
        return cleaned

    @staticmethod
    def initial_for(agency: Agency) -> dict:
        return {
            "name": agency.name,
            "contact_name": agency.contact_name,
            "phone": agency.phone,
            "agency_email": agency.email,
            "timezone": agency.timezone,
            "counties": [county.pk for county in agency.counties.all()],
        }

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "contact_name": data["contact_name"],
            "phone": data["phone"],
            "email": data["agency_email"],
            "timezone_name": data["timezone"],
            "counties": data["counties"],
            "new_counties": data["other_counties"],
        }


class AgencySignupForm(AgencyDetailsForm, NewMemberWithPasswordForm):
    person_fields = ["first_name", "last_name", "email", "username", "password1", "password2"]
    field_order = [*AgencyDetailsForm.field_order, *person_fields]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            **super().service_arguments(),
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "member_email": data["email"],
            "username": data["username"],
            "password": data["password1"],
        }


class SupervisorForm(NewMemberForm):
    """A fellow supervisor; they choose their password from an emailed link."""
