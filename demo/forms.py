from django import forms

# One text of up to ten segments; Twilio's own limit for a concatenated SMS is 1,600 characters.
MAX_TEXT_LENGTH = 1600


class SimulatorReplyForm(forms.Form):
    body = forms.CharField(
        label="Text",
        max_length=MAX_TEXT_LENGTH,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. YES 4821"}),
        help_text="Sent as this phone, through the same signed webhook Twilio calls.",
    )


class SimulatorSearchForm(forms.Form):
    q = forms.CharField(label="Search peers and locations", max_length=100, required=False)
