import datetime as dt

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from core.choices import Need
from reporting.selectors import MAX_RANGE_DAYS

DEFAULT_DAYS = 30
# Peer-RX holds nothing older; a two-digit year typed in a browser (0026) is refused, not a 500.
EARLIEST = dt.date(2000, 1, 1)
PERIODS = [("day", "Day"), ("week", "Week")]


class DateInput(forms.DateInput):
    input_type = "date"


class ReportFilterForm(forms.Form):
    """The report filters. Fields a role may not choose (its own organisation) are removed."""

    start = forms.DateField(label="From", widget=DateInput)
    end = forms.DateField(label="To", widget=DateInput, help_text="Inclusive.")
    period = forms.ChoiceField(label="Requests per", choices=PERIODS, required=False)
    location = forms.ModelChoiceField(
        label="Location", queryset=None, required=False, empty_label="All locations"
    )
    agency = forms.ModelChoiceField(label="Agency", queryset=None, required=False, empty_label="All agencies")
    need = forms.ChoiceField(label="Need", choices=[("", "All needs"), *Need.choices], required=False)

    def __init__(
        self,
        query: dict,
        *,
        today: dt.date,
        locations: QuerySet | None = None,
        agencies: QuerySet | None = None,
    ):
        # The page opens on the last 30 days: missing dates take their defaults.
        data = {
            "start": (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "end": today.isoformat(),
            "period": "day",
        }
        data.update({key: value for key, value in query.items() if key in self.base_fields and value != ""})
        super().__init__(data)
        if locations is None:
            del self.fields["location"]
        else:
            self.fields["location"].queryset = locations
        if agencies is None:
            del self.fields["agency"]
        else:
            self.fields["agency"].queryset = agencies

    def _within_bounds(self, name: str) -> dt.date | None:
        value = self.cleaned_data.get(name)
        if value is not None and not EARLIEST <= value <= timezone.localdate() + dt.timedelta(days=365):
            raise forms.ValidationError(
                f"Choose a date from {EARLIEST:%b %-d, %Y} to a year from today "
                f"(this was {value.isoformat()})."
            )
        return value

    def clean_start(self) -> dt.date | None:
        return self._within_bounds("start")

    def clean_end(self) -> dt.date | None:
        return self._within_bounds("end")

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end date is before the start date.")
            elif (end - start).days + 1 > MAX_RANGE_DAYS:
                self.add_error(
                    "end",
                    f"The range covers {(end - start).days + 1} days; choose {MAX_RANGE_DAYS} days or fewer.",
                )
        cleaned["period"] = cleaned.get("period") or "day"
        return cleaned
