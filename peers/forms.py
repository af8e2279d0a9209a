"""Input validation for the agency portal; the views hand cleaned data to ``peers.services``."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from phonenumber_field.formfields import PhoneNumberField

from peers.models import AvailabilityWindow, Credential, CredentialType, Language, Peer
from peers.services import DUPLICATE_PHONE, INVALID_PHONE, WindowSpec, validate_weekly_hours
from peers.validators import validate_credential_document

MAX_OVERRIDE_HOURS = 72


class PeerForm(forms.ModelForm):
    phone = PhoneNumberField(
        label="Mobile number",
        help_text="Alerts are texted to this number. US numbers may be typed without +1.",
        error_messages={"invalid": INVALID_PHONE, "unique": DUPLICATE_PHONE},
    )

    class Meta:
        model = Peer
        fields = ["first_name", "last_name", "phone", "age_range", "gender", "languages"]
        widgets = {"languages": forms.CheckboxSelectMultiple}
        help_texts = {"languages": "Languages the peer can support someone in."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["languages"].queryset = Language.objects.order_by("name")


class CredentialForm(forms.Form):
    """Status fields are absent on purpose: only Peer-RX staff validate credentials."""

    type = forms.ModelChoiceField(label="Credential", queryset=CredentialType.objects.order_by("code"))
    number = forms.CharField(label="Certificate number", max_length=64)
    issued_on = forms.DateField(label="Issued on", widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty if it does not expire.",
    )
    # A plain file input: a model field's widget would link to the file by URL.
    document = forms.FileField(
        label="Copy of the certificate (optional)",
        required=False,
        widget=forms.FileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
        help_text="PDF, JPG or PNG. Only your agency and the Peer-RX team can download it.",
        validators=[validate_credential_document],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].label_from_instance = lambda t: f"{t.code} — {t.name}"

    @staticmethod
    def initial_for(credential: Credential) -> dict:
        return {
            "type": credential.type_id,
            "number": credential.number,
            "issued_on": credential.issued_on,
            "expires_on": credential.expires_on,
        }

    def clean(self):
        cleaned = super().clean()
        issued_on, expires_on = cleaned.get("issued_on"), cleaned.get("expires_on")
        if issued_on and expires_on and expires_on <= issued_on:
            self.add_error("expires_on", "The expiry date must be after the issue date.")
        return cleaned


class WindowForm(forms.Form):
    weekday = forms.TypedChoiceField(
        label="Day",
        choices=[("", "—"), *AvailabilityWindow.Weekday.choices],
        coerce=int,
        required=False,
        empty_value=None,
    )
    start = forms.TimeField(label="From", required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(
        label="Until",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="An end at or before the start runs past midnight.",
    )

    def clean(self):
        cleaned = super().clean()
        values = [cleaned.get("weekday"), cleaned.get("start"), cleaned.get("end")]
        if self.errors or all(v is None for v in values):
            return cleaned
        if any(v is None for v in values):
            raise ValidationError("Fill in the day, the start and the end (or clear the whole row).")
        if cleaned["start"] == cleaned["end"] and cleaned["start"] != dt.time(0, 0):
            raise ValidationError(
                "A window can't start and end at the same time; use 00:00–00:00 for the whole day."
            )
        return cleaned

    def spec(self) -> WindowSpec | None:
        data = self.cleaned_data
        if not data or data.get("DELETE") or data.get("weekday") is None:
            return None
        return WindowSpec(weekday=data["weekday"], start=data["start"], end=data["end"])


class BaseWeekFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        validate_weekly_hours(self.specs())

    def specs(self) -> list[WindowSpec]:
        return [spec for form in self.forms if (spec := form.spec()) is not None]


# A week holds at most this many windows (seven days cut into ten windows each is plenty);
# "Add another window" adds empty rows up to it, and more are refused as too many forms.
MAX_WINDOWS = 70
WeekFormSet = forms.formset_factory(
    WindowForm,
    formset=BaseWeekFormSet,
    extra=3,
    can_delete=True,
    max_num=MAX_WINDOWS,
    validate_max=True,
)
# The name of the "Add another window" button: a POST carrying it adds a row and saves nothing.
ADD_WINDOW = "add_window"


def with_another_window(data, *, prefix: str) -> dict:
    """The posted week grid with one more empty row (the rows typed so far are kept as typed)."""
    data = data.copy()
    total_key = f"{prefix}-TOTAL_FORMS"
    try:
        total = int(data.get(total_key, 0))
    except (TypeError, ValueError):
        total = 0
    data[total_key] = str(max(0, min(total, MAX_WINDOWS - 1)) + 1)
    return data


def week_formset_initial(windows) -> list[dict]:
    return [{"weekday": w.weekday, "start": w.start, "end": w.end} for w in windows]


class AvailableForHoursForm(forms.Form):
    hours = forms.IntegerField(
        label="Available now for (hours)", min_value=1, max_value=MAX_OVERRIDE_HOURS, initial=4
    )
    reason = forms.CharField(label="Reason (optional)", max_length=200, required=False)


class UnavailableUntilForm(forms.Form):
    until = forms.DateTimeField(
        label="Unavailable until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In the agency's time zone.",
    )
    reason = forms.CharField(label="Reason (optional)", max_length=200, required=False)

    def __init__(self, *args, now: dt.datetime, **kwargs):
        # Shares the peer page with AvailableForHoursForm: distinct ids keep each label on its own field.
        kwargs.setdefault("auto_id", "id_unavailable_%s")
        super().__init__(*args, **kwargs)
        self.now = now

    def clean_until(self) -> dt.datetime:
        until = self.cleaned_data["until"]
        if until <= self.now:
            raise ValidationError("Pick a time in the future.")
        if until > self.now + dt.timedelta(days=366):
            raise ValidationError("Pick a time within a year; for longer, deactivate the peer.")
        return until
