import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import AuditEntry
from tests.accounts.factories import UserFactory

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3


def test_it_locks_out_after_repeated_failures_even_with_the_right_password(client, axes_on):
    user = UserFactory(username="nurse")
    for _ in range(3):
        client.post(reverse("login"), {"username": "nurse", "password": "wrong"})
    response = client.post(reverse("login"), {"username": user.username, "password": "correct-horse-battery"})
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_it_lets_the_right_password_in_before_the_limit(client, axes_on):
    UserFactory(username="nurse")
    client.post(reverse("login"), {"username": "nurse", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "nurse", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_it_counts_failures_per_user_and_address(client, axes_on):
    UserFactory(username="nurse")
    UserFactory(username="other")
    for _ in range(3):
        client.post(reverse("login"), {"username": "other", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "nurse", "password": "correct-horse-battery"})
    assert response.status_code == 302


# --- behind a proxy, per account, and on the password-change page ---------------------------

PROXY = "10.0.0.2"


def post_login(client, username: str, password: str, *, client_ip: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_ip,
    )


def test_it_locks_the_guessers_address_not_the_proxys(client, axes_on, settings):
    settings.PEERRX_TRUSTED_PROXY_COUNT = 1
    UserFactory(username="nurse")
    for _ in range(3):
        post_login(client, "nurse", "wrong", client_ip="203.0.113.66")
    assert post_login(client, "nurse", "correct-horse-battery", client_ip="203.0.113.66").status_code == 429
    client.logout()
    response = post_login(client, "nurse", "correct-horse-battery", client_ip="198.51.100.10")
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="login.locked_out", ip="203.0.113.66").exists()


def test_without_a_trusted_proxy_forwarded_for_is_not_believed(client, axes_on, settings):
    settings.PEERRX_TRUSTED_PROXY_COUNT = 0
    UserFactory(username="nurse")
    for index in range(3):
        post_login(client, "nurse", "wrong", client_ip=f"203.0.113.{index}")
    assert post_login(client, "nurse", "correct-horse-battery", client_ip="198.51.100.10").status_code == 429


@pytest.fixture
def account_limit(settings, axes_on):
    settings.PEERRX_TRUSTED_PROXY_COUNT = 1
    settings.PEERRX_ACCOUNT_FAILURE_LIMIT = 4
    settings.PEERRX_ACCOUNT_COOLOFF_SECONDS = 300


def test_it_cools_an_account_off_after_failures_from_many_addresses_then_lets_it_in(client, account_limit):
    UserFactory(username="nurse")
    owner_ip = "198.51.100.10"
    with freeze_time(T0):
        for index in range(4):
            post_login(client, "nurse", "wrong", client_ip=f"203.0.113.{index}")
    with freeze_time(T0 + dt.timedelta(seconds=60)):
        response = post_login(client, "nurse", "correct-horse-battery", client_ip=owner_ip)
        assert response.status_code == 200
        assert "Too many failed attempts for this account" in response.content.decode()
        assert "_auth_user_id" not in client.session
    # The refused attempt itself counts: the cool-off runs from the latest failures.
    with freeze_time(T0 + dt.timedelta(seconds=60 + 301)):
        response = post_login(client, "nurse", "correct-horse-battery", client_ip=owner_ip)
        assert response.status_code == 302
        assert "_auth_user_id" in client.session


def test_the_account_cool_off_touches_only_that_account(client, account_limit):
    UserFactory(username="nurse")
    UserFactory(username="other")
    with freeze_time(T0):
        for index in range(4):
            post_login(client, "other", "wrong", client_ip=f"203.0.113.{index}")
        assert (
            post_login(client, "nurse", "correct-horse-battery", client_ip="203.0.113.1").status_code == 302
        )


def test_wrong_current_passwords_on_the_password_change_page_count_toward_the_lockout(client, axes_on):
    user = UserFactory(username="nurse")
    client.force_login(user)
    url = reverse("password_change")
    new = {"new_password1": "a-much-longer-passphrase-7", "new_password2": "a-much-longer-passphrase-7"}
    for _ in range(2):
        response = client.post(url, {"old_password": "guess", **new})
        assert response.status_code == 200
        assert "incorrectly" in response.content.decode()
    response = client.post(url, {"old_password": "guess", **new})
    assert response.status_code == 429
    # Locked now, even with the right current password: guessing here is no way around the limit.
    response = client.post(url, {"old_password": "correct-horse-battery", **new})
    assert response.status_code == 429
    user.refresh_from_db()
    assert user.check_password("correct-horse-battery")
    assert AuditEntry.objects.filter(action="login.failed", target_id=str(user.pk)).count() >= 3


def test_the_right_current_password_still_changes_it(client, axes_on):
    user = UserFactory(username="nurse")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "a-much-longer-passphrase-7",
            "new_password2": "a-much-longer-passphrase-7",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-much-longer-passphrase-7")
