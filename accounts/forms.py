"""Form pieces every organisation's forms share: a new member, and counties typed by hand.

Forms only validate: ``accounts.organisations`` and each app's services do the writes.
"""

from collections.abc import Iterable

from django import forms
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.db import models

from accounts.backends import COOLING_OFF_ATTRIBUTE
from accounts.models import County
from accounts.selectors import email_in_use, find_county, username_in_use
from accounts.validators import validate_username

COOLING_OFF_MESSAGE = (
    "Too many failed attempts for this account. Wait a few minutes, then try again, or reset your password."
)


def model_field(model: type[models.Model], name: str, **kwargs) -> forms.Field:
    """The form field a model field makes, so labels, lengths and choices stay in one place."""
    return model._meta.get_field(name).formfield(**kwargs)


def typed_counties(typed: Iterable[tuple[str, str]]) -> tuple[list[County], list[tuple[str, str]]]:
    """Counties typed as (state, name): those that exist already, and the new ones, each once.

    A county typed that already exists is the same county, whatever the case or a trailing
    "County"; the new ones are created by the service when the form's data is saved.
    """
    existing: list[County] = []
    new: list[tuple[str, str]] = []
    for state, name in typed:
        county = find_county(state=state, name=name)
        if county is not None:
            if county not in existing:
                existing.append(county)
        elif (state, name.lower()) not in {(s, n.lower()) for s, n in new}:
            new.append((state, name))
    return existing, new


CHOOSING_WIDGETS = (forms.Select, forms.RadioSelect, forms.CheckboxSelectMultiple)


def name_what_is_missing(form: forms.BaseForm) -> None:
    """Give every required field its own message ("Enter the street address", "Choose the time
    zone") instead of the same "This field is required." under each one, as the GOV.UK error
    pattern asks: the error summary then lists what to do, field by field."""
    for field in form.fields.values():
        if (
            not field.required
            or field.error_messages.get("required") != forms.Field.default_error_messages["required"]
        ):
            continue
        label = str(field.label or "this field")
        verb = "Choose" if isinstance(field.widget, CHOOSING_WIDGETS) else "Enter"
        field.error_messages["required"] = f"{verb} the {label[:1].lower()}{label[1:]}."


class NewMemberForm(forms.Form):
    """A new user linked to an organisation: names, email and a unique username."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Here every field of a sign-up form exists: the organisation's and the person's.
        name_what_is_missing(self)

    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    email = forms.EmailField(
        label="Email", help_text="Used for password resets; each person needs their own."
    )
    username = forms.CharField(
        label="Username",
        max_length=150,
        validators=[validate_username],
        help_text="Letters A-Z, digits and . - _ @ only.",
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email_in_use(email):
            raise forms.ValidationError(
                "An account with this email already exists. Each person needs their own."
            )
        return email

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if username_in_use(username):
            raise forms.ValidationError("This username is taken. Choose another one.")
        return username


class NewMemberWithPasswordForm(NewMemberForm):
    """The first member of a new organisation chooses a password straight away.

    Unlike an invitation, a sign-up is public: it never says whether an email or username is
    taken (the sign-up view answers the same and the mailbox given learns why).
    """

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()

    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2:
            if password1 != password2:
                self.add_error("password2", "The two passwords don't match.")
            else:
                candidate = get_user_model()(
                    username=cleaned.get("username", ""),
                    email=cleaned.get("email", ""),
                    first_name=cleaned.get("first_name", ""),
                    last_name=cleaned.get("last_name", ""),
                )
                try:
                    password_validation.validate_password(password2, candidate)
                except forms.ValidationError as error:
                    self.add_error("password2", error)
        return cleaned


class LoginForm(AuthenticationForm):
    """Django's login form, saying so when the account itself is cooling off."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, COOLING_OFF_ATTRIBUTE, False):
                raise forms.ValidationError(COOLING_OFF_MESSAGE, code="cooling_off") from None
            raise


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The current password is checked like a login, so guesses here meet the same limits.

    ``authenticate`` goes through the account cool-off and django-axes, and a wrong password
    is a failed login in the audit trail and toward both limits.
    """

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        request = getattr(self, "request", None)
        user = authenticate(request, username=self.user.get_username(), password=old_password)
        if user is None or user.pk != self.user.pk:
            if request is not None and getattr(request, COOLING_OFF_ATTRIBUTE, False):
                raise forms.ValidationError(COOLING_OFF_MESSAGE, code="cooling_off")
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password
