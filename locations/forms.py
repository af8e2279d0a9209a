"""Forms for locations. Forms only validate: ``locations.services`` does the writes."""

from django import forms

from accounts.forms import NewMemberForm, NewMemberWithPasswordForm, model_field, typed_counties
from accounts.models import County
from accounts.selectors import county_list
from accounts.states import US_STATES
from agencies.models import Agency
from locations.models import Location
from locations.selectors import MAX_PREFERRED_AGENCIES


class CountyForm(forms.Form):
    """Pick a county from the list, or type one that is not there yet (the service creates it)."""

    county = forms.ModelChoiceField(
        label="County",
        queryset=County.objects.none(),
        required=False,
        empty_label="— not in the list: type it below —",
    )
    county_state = forms.ChoiceField(
        label="State (if your county is not in the list)",
        choices=[("", "—"), *US_STATES],
        required=False,
    )
    county_name = forms.CharField(
        label="County name (if it is not in the list)", max_length=100, required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        own = self.initial.get("county")
        self.fields["county"].queryset = county_list(also=[own] if own else [])

    def clean(self) -> dict:
        cleaned = super().clean()
        county = cleaned.get("county")
        state, name = cleaned.get("county_state", ""), (cleaned.get("county_name") or "").strip()
        if county is not None and (name or state):
            self.add_error("county", "Pick a county from the list or type a new one, not both.")
        elif county is None and not name and not state:
            if "county" not in self.errors:
                self.add_error("county", "Pick your county, or type its state and name below.")
        elif county is None:
            if not state:
                self.add_error("county_state", "Choose the county's state.")
            if not name:
                self.add_error("county_name", "Type the county's name.")
            if state and name:
                existing, _new = typed_counties([(state, name)])
                cleaned["county"] = existing[0] if existing else None
        cleaned["county_name"] = name
        return cleaned


class LocationDetailsForm(CountyForm):
    name = model_field(Location, "name", label="Name of the location")
    kind = model_field(Location, "kind", label="Kind")
    address = model_field(Location, "address", label="Street address")
    timezone = model_field(Location, "timezone", label="Time zone")
    notification_phone = model_field(Location, "notification_phone", label="Notification phone")

    field_order = [
        "name",
        "kind",
        "address",
        "county",
        "county_state",
        "county_name",
        "timezone",
        "notification_phone",
    ]
    organisation_fields = field_order

    @staticmethod
    def initial_for(location: Location) -> dict:
        return {
            "name": location.name,
            "kind": location.kind,
            "address": location.address,
            "county": location.county_id,
            "timezone": location.timezone,
            "notification_phone": location.notification_phone,
        }

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "address": data["address"],
            "county": data["county"],
            "county_state": data["county_state"],
            "county_name": data["county_name"],
            "timezone_name": data["timezone"],
            "notification_phone": data["notification_phone"],
        }


class LocationSignupForm(LocationDetailsForm, NewMemberWithPasswordForm):
    person_fields = ["first_name", "last_name", "email", "username", "password1", "password2"]
    field_order = [*LocationDetailsForm.field_order, *person_fields]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            **super().service_arguments(),
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data["email"],
            "username": data["username"],
            "password": data["password1"],
        }


class ColleagueForm(NewMemberForm):
    """A colleague added by a member; they choose their password from an emailed link."""


class PreferredAgenciesForm(forms.Form):
    """One select per rank; empty ranks are skipped and the rest close up.

    Choices are built once from one list, so the page runs a constant number of queries
    however many ranks it shows.
    """

    def __init__(self, *args, agencies: list[Agency], current: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.agencies = {agency.pk: agency for agency in agencies}
        choices = [("", "— none —"), *((agency.pk, agency.name) for agency in agencies)]
        self.slots = max(1, min(MAX_PREFERRED_AGENCIES, max(len(agencies), len(current))))
        for rank in range(1, self.slots + 1):
            self.fields[f"rank_{rank}"] = forms.TypedChoiceField(
                label=f"Rank {rank}" + (" (most preferred)" if rank == 1 else ""),
                choices=choices,
                coerce=int,
                required=False,
                empty_value=None,
                error_messages={
                    "invalid_choice": "Choose one of the listed agencies: only verified agencies "
                    "serving your county can be ranked."
                },
            )
            if rank <= len(current):
                self.initial[f"rank_{rank}"] = current[rank - 1]

    def clean(self) -> dict:
        cleaned = super().clean()
        ranked: list[Agency] = []
        seen: dict[int, int] = {}
        for rank in range(1, self.slots + 1):
            agency_id = cleaned.get(f"rank_{rank}")
            if agency_id is None:
                continue
            if agency_id in seen:
                self.add_error(
                    f"rank_{rank}",
                    f"{self.agencies[agency_id]} is already ranked #{seen[agency_id]}: "
                    "rank each agency once.",
                )
                continue
            seen[agency_id] = rank
            ranked.append(self.agencies[agency_id])
        cleaned["ranked"] = ranked
        return cleaned
