import pytest
from django.core import mail
from django.urls import reverse

from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationMembershipFactory

pytestmark = pytest.mark.django_db


class TestLogin:
    def test_it_shows_the_login_form(self, client):
        response = client.get(reverse("login"))
        assert response.status_code == 200
        assert b'name="username"' in response.content
        assert b'for="id_username"' in response.content

    def test_it_logs_in_and_lands_on_the_role_home(self, client):
        membership = LocationMembershipFactory()
        response = client.post(
            reverse("login"), {"username": membership.user.username, "password": "correct-horse-battery"}
        )
        assert response.status_code == 302
        assert response.url == reverse("home")
        assert client.get(reverse("home")).url == reverse("locations:home")

    def test_it_refuses_a_wrong_password_with_a_message(self, client):
        user = UserFactory()
        response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content

    def test_it_logs_out_by_post(self, client):
        client.force_login(UserFactory())
        response = client.post(reverse("logout"))
        assert response.status_code == 302
        assert "_auth_user_id" not in client.session


class TestRoleHome:
    def test_it_sends_anonymous_users_to_login(self, client):
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize(
        ("make_user", "home"),
        [
            (lambda: StaffUserFactory(), "staff:home"),
            (lambda: LocationMembershipFactory().user, "locations:home"),
            (lambda: AgencyMembershipFactory().user, "agencies:home"),
        ],
        ids=["staff", "location", "agency"],
    )
    def test_it_lands_each_role_on_its_own_home(self, client, make_user, home):
        client.force_login(make_user())
        response = client.get(reverse("home"), follow=True)
        assert response.redirect_chain[-1][0] == reverse(home)
        assert response.status_code == 200

    def test_it_tells_a_user_without_an_organisation_what_to_do(self, client):
        client.force_login(UserFactory())
        response = client.get(reverse("home"))
        assert response.status_code == 403
        assert b"not linked to an organisation" in response.content

    @pytest.mark.parametrize("home", ["staff:home", "locations:home", "agencies:home"])
    def test_other_roles_cannot_open_a_role_home(self, client, home):
        client.force_login(UserFactory())
        assert client.get(reverse(home)).status_code == 403


class TestPasswords:
    def test_it_changes_a_password(self, client):
        user = UserFactory()
        client.force_login(user)
        response = client.post(
            reverse("password_change"),
            {
                "old_password": "correct-horse-battery",
                "new_password1": "a-new-long-passphrase-42",
                "new_password2": "a-new-long-passphrase-42",
            },
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("a-new-long-passphrase-42")

    def test_it_emails_a_reset_link(self, client):
        user = UserFactory(email="nurse@example.org")
        response = client.post(reverse("password_reset"), {"email": user.email})
        assert response.status_code == 302
        assert len(mail.outbox) == 1
        assert "/accounts/reset/" in mail.outbox[0].body


class TestErrorPages:
    def test_it_renders_a_helpful_404(self, client):
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert b"Page not found" in response.content
