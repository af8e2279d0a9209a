import pytest
from django.urls import reverse

from tests.accounts.factories import UserFactory

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
