"""Usernames are ASCII everywhere users are created; passwords are long and not guessable."""

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from accounts.admin import PeerRxUserCreationForm
from accounts.forms import NewMemberForm, NewMemberWithPasswordForm
from accounts.models import User
from agencies.forms import SupervisorForm
from locations.forms import ColleagueForm

pytestmark = pytest.mark.django_db

LOOKALIKE = "st\u0430ff"  # a Cyrillic "а"
MEMBER = {"first_name": "Casey", "last_name": "Moore", "email": "casey@example.org"}


@pytest.mark.parametrize("form_class", [NewMemberForm, ColleagueForm, SupervisorForm])
@pytest.mark.parametrize("username", [LOOKALIKE, "casey moore", "casey+1", "ｃａｓｅｙ"])
def test_it_refuses_usernames_outside_ascii_letters_digits_and_dot_dash_underscore_at(form_class, username):
    form = form_class(data={**MEMBER, "username": username})
    assert not form.is_valid()
    assert "Enter a valid username" in " ".join(form.errors["username"])


@pytest.mark.parametrize("username", ["casey", "casey.moore", "c-moore_2", "casey@orange"])
def test_it_accepts_plain_usernames(username):
    assert NewMemberForm(data={**MEMBER, "username": username}).is_valid()


def test_the_admin_refuses_a_lookalike_username_too():
    form = PeerRxUserCreationForm(
        data={
            "username": LOOKALIKE,
            "password1": "a-much-longer-passphrase-7",
            "password2": "a-much-longer-passphrase-7",
        }
    )
    assert not form.is_valid()
    assert "username" in form.errors


def test_the_model_refuses_it_whoever_saves_through_full_clean():
    with pytest.raises(ValidationError):
        User(username=LOOKALIKE, password="x").full_clean(exclude=["password"])


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Summer2024!", "too short"),
        ("aaaaaaaaaaaa", "repeats"),
        ("abababababab", "repeats"),
        ("password1234", "common"),
        ("123456789012", "numeric"),
        ("caseymoore12", "like the username"),
    ],
)
def test_it_refuses_weak_passwords(password, why):
    user = User(username="caseymoore", first_name="Casey", last_name="Moore", email="casey@example.org")
    with pytest.raises(ValidationError):
        password_validation.validate_password(password, user)


def test_it_accepts_a_long_varied_password():
    user = User(username="caseymoore", first_name="Casey", last_name="Moore")
    password_validation.validate_password("river-lantern-42-oak", user)


def test_sign_up_refuses_a_weak_password_on_the_form():
    data = {**MEMBER, "username": "casey", "password1": "aaaaaaaaaaaa", "password2": "aaaaaaaaaaaa"}
    form = NewMemberWithPasswordForm(data=data)
    assert not form.is_valid()
    assert "repeats" in " ".join(form.errors["password2"])


def test_the_admins_add_user_page_refuses_a_lookalike_and_audits_a_good_one(client):
    from django.urls import reverse

    from accounts.models import AuditEntry
    from tests.accounts.factories import OperatorFactory

    client.force_login(OperatorFactory())  # adding users is for operators, not the staff group
    url = reverse("admin:accounts_user_add")
    assert client.get(url).status_code == 200
    password = {
        "password1": "river-lantern-42-oak",
        "password2": "river-lantern-42-oak",
        "usable_password": "true",
    }
    response = client.post(url, {"username": LOOKALIKE, **password})
    assert response.status_code == 200
    assert not User.objects.filter(username=LOOKALIKE).exists()
    response = client.post(url, {"username": "casey.moore", **password})
    assert response.status_code == 302
    created = User.objects.get(username="casey.moore")
    assert AuditEntry.objects.filter(action="admin.added", target_id=str(created.pk)).exists()
