"""Reset and invitation links point at PEERRX_PUBLIC_BASE_URL, never at the request's Host."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.locations.factories import LocationMembershipFactory

pytestmark = pytest.mark.django_db
PUBLIC = "https://peer-rx.example.org"


@pytest.fixture
def hostile_host(settings):
    """attacker.example is an allowed host, as with a loose ALLOWED_HOSTS or a forwarding proxy."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "attacker.example"]
    settings.PEERRX_PUBLIC_BASE_URL = PUBLIC
    return {"HTTP_HOST": "attacker.example"}


def test_the_reset_link_uses_the_public_base_url_under_a_hostile_host(client, hostile_host):
    user = UserFactory(email="dana@example.org")
    response = client.post(reverse("password_reset"), {"email": user.email}, **hostile_host)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "attacker.example" not in body
    link = re.search(r"https://peer-rx\.example\.org(/accounts/reset/\S+/\S+/)", body)
    assert link, body
    # The link works: it leads to the form to choose a new password.
    page = client.get(link.group(1), follow=True)
    assert page.status_code == 200
    assert "new_password1" in page.content.decode()


def test_the_reset_link_follows_the_public_scheme(client, settings):
    settings.PEERRX_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    user = UserFactory(email="dana@example.org")
    client.post(reverse("password_reset"), {"email": user.email})
    assert "http://127.0.0.1:8000/accounts/reset/" in mail.outbox[0].body


def test_the_invitation_link_uses_the_public_base_url_under_a_hostile_host(
    client, hostile_host, django_capture_on_commit_callbacks
):
    member = LocationMembershipFactory(is_admin=True).user  # only admins invite colleagues
    client.force_login(member)
    data = {"first_name": "Casey", "last_name": "Moore", "email": "casey@example.org", "username": "casey"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("locations:staff"), data, **hostile_host)
    assert response.status_code == 302
    body = mail.outbox[0].body
    assert "attacker.example" not in body
    assert f"{PUBLIC}/accounts/reset/" in body
