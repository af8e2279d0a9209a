import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry, County
from accounts.organisations import verify_organisation
from agencies.models import Agency
from core.choices import OrganisationStatus
from tests.accounts.factories import CountyFactory, StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationMembershipFactory
from tests.peers.factories import CredentialFactory, PeerFactory, always_available

pytestmark = pytest.mark.django_db
User = get_user_model()

# Every agency page of this app: (URL name, needs a verified agency).
PAGES = [("agencies:home", False), ("agencies:details", False), ("agencies:supervisors", True)]
OBJECT_PAGES = ["agencies:supervisor_deactivate", "agencies:supervisor_reactivate"]


def signup_data(**overrides) -> dict:
    orange = CountyFactory(name="Orange", state="NY")
    data = {
        "name": "Catskill Peer Partners",
        "contact_name": "Jamie Fox",
        "phone": "845-555-0188",
        "agency_email": "intake@catskill.example.org",
        "timezone": "America/New_York",
        "counties": [str(orange.pk)],
        "other_counties": "",
        "first_name": "Jamie",
        "last_name": "Fox",
        "email": "jamie@catskill.example.org",
        "username": "jamie",
        "password1": "a-long-passphrase-99",
        "password2": "a-long-passphrase-99",
    }
    data.update(overrides)
    return data


@pytest.fixture
def supervisor():
    """The agency's admin: the owner of its supervisors list."""
    return AgencyMembershipFactory(is_admin=True).user


@pytest.fixture
def colleague(supervisor):
    return AgencyMembershipFactory(agency=supervisor.agency_membership.agency)


class TestPermissions:
    @pytest.mark.parametrize(("name", "_verified"), PAGES)
    def test_it_opens_every_page_for_the_agencys_supervisors(self, client, supervisor, name, _verified):
        client.force_login(supervisor)
        assert client.get(reverse(name)).status_code == 200

    @pytest.mark.parametrize(("name", "_verified"), PAGES)
    def test_it_shows_another_agencys_supervisor_only_their_own(self, client, supervisor, name, _verified):
        other = AgencyMembershipFactory(agency__name="Elsewhere Peers")
        client.force_login(other.user)
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert supervisor.agency_membership.agency.name not in response.content.decode()

    @pytest.mark.parametrize(("name", "_verified"), PAGES)
    @pytest.mark.parametrize(
        "make_user",
        [lambda: LocationMembershipFactory().user, StaffUserFactory, UserFactory],
        ids=["location-staff", "peerrx-staff", "no-organisation"],
    )
    def test_it_refuses_other_roles(self, client, name, _verified, make_user):
        client.force_login(make_user())
        assert client.get(reverse(name)).status_code == 403

    @pytest.mark.parametrize(("name", "_verified"), PAGES)
    def test_it_sends_anonymous_users_to_login(self, client, name, _verified):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize(("name", "verified"), PAGES)
    def test_it_keeps_a_pending_agency_to_its_home_and_details(self, client, name, verified):
        pending = AgencyMembershipFactory(agency__status=OrganisationStatus.PENDING)
        client.force_login(pending.user)
        response = client.get(reverse(name))
        assert response.status_code == (403 if verified else 200)
        assert "Awaiting verification" in response.content.decode()

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_lets_supervisors_change_their_own_colleagues(self, client, supervisor, colleague, name):
        client.force_login(supervisor)
        assert client.post(reverse(name, args=[colleague.pk])).status_code == 302

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_hides_another_agencys_supervisors(self, client, colleague, name):
        client.force_login(AgencyMembershipFactory(is_admin=True).user)
        assert client.post(reverse(name, args=[colleague.pk])).status_code == 404
        colleague.user.refresh_from_db()
        assert colleague.user.is_active

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_refuses_object_pages_to_other_roles(self, client, colleague, name):
        client.force_login(LocationMembershipFactory().user)
        assert client.post(reverse(name, args=[colleague.pk])).status_code == 403

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_sends_anonymous_users_from_object_pages_to_login(self, client, colleague, name):
        response = client.post(reverse(name, args=[colleague.pk]))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


class TestSignup:
    def test_it_labels_every_field(self, client):
        html = client.get(reverse("agencies:signup")).content.decode()
        for field in signup_data():
            assert f'for="id_{field}"' in html, field

    def test_it_creates_a_pending_agency_whose_first_supervisor_confirms_by_email(
        self, client, django_capture_on_commit_callbacks
    ):
        StaffUserFactory(email="verify@peer-rx.example")
        data = signup_data(other_counties="Sullivan, NY\nulster county, ny")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("agencies:signup"), data)
        assert response.status_code == 302
        assert response.url == reverse("signup_sent")
        agency = Agency.objects.get()
        assert agency.status == OrganisationStatus.PENDING
        assert str(agency.phone) == "+18455550188"
        assert agency.email == "intake@catskill.example.org"
        assert sorted(county.name for county in agency.counties.all()) == ["Orange", "Sullivan", "Ulster"]
        user = User.objects.get(username="jamie")
        assert user.email == "jamie@catskill.example.org"
        assert user.agency_membership.agency == agency
        assert not user.is_active and "_auth_user_id" not in client.session
        assert [message.to for message in mail.outbox] == [["jamie@catskill.example.org"]]
        link = re.search(r"https?://[^/\s]+(/accounts/registered/\S+/)", mail.outbox[0].body).group(1)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(link)
        assert response.status_code == 302 and response.url == reverse("agencies:home")
        assert int(client.session["_auth_user_id"]) == user.pk
        assert "Awaiting verification" in client.get(response.url).content.decode()
        assert len(mail.outbox) == 2  # and Peer-RX staff, once the supervisor confirmed
        assert f"/admin/agencies/agency/{agency.pk}/change/" in mail.outbox[1].body

    def test_it_cannot_act_until_verified(self, client):
        client.post(reverse("agencies:signup"), signup_data())
        user = User.objects.get(username="jamie")
        user.is_active = True  # as if the email's link was followed
        user.save(update_fields=["is_active"])
        client.force_login(user)
        assert client.get(reverse("agencies:supervisors")).status_code == 403
        verify_organisation(organisation=Agency.objects.get(), actor=StaffUserFactory())
        assert client.get(reverse("agencies:supervisors")).status_code == 200

    def test_it_reuses_a_typed_county_that_exists(self, client):
        client.post(reverse("agencies:signup"), signup_data(counties=[], other_counties="Orange County, NY"))
        assert County.objects.count() == 1
        assert [county.name for county in Agency.objects.get().counties.all()] == ["Orange"]

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"phone": "not a phone"}, "phone", "Enter a valid phone number"),
            ({"phone": "+1 555"}, "phone", "Enter a valid phone number"),
            ({"counties": [], "other_counties": ""}, "counties", "Choose at least one county"),
            ({"counties": ["999999"]}, "counties", "valid choice"),
            ({"other_counties": "Orange NY"}, "other_counties", 'e.g. "Orange, NY"'),
            ({"other_counties": "Orange, XX"}, "other_counties", "Line 1"),
            ({"password2": "different-passphrase-1"}, "password2", "The two passwords don"),
            ({"timezone": "Europe/Paris"}, "timezone", "valid choice"),
        ],
    )
    def test_it_rejects_bad_input_and_saves_nothing(self, client, overrides, field, message):
        UserFactory(username="supervisor", email="supervisor@example.org")
        data = signup_data(**overrides)
        users, counties = User.objects.count(), County.objects.count()
        response = client.post(reverse("agencies:signup"), data)
        assert response.status_code == 200
        assert message in " ".join(response.context["form"].errors[field])
        assert Agency.objects.count() == 0
        assert User.objects.count() == users
        assert County.objects.count() == counties


class TestHome:
    def test_it_shows_the_numbers_of_the_agency_only(self, client, supervisor):
        agency = supervisor.agency_membership.agency
        available = PeerFactory(agency=agency)
        always_available(available)
        CredentialFactory(peer=available)
        CredentialFactory(peer=PeerFactory(agency=agency), status="pending")
        PeerFactory(agency=agency, is_active=False)
        other = PeerFactory()
        always_available(other)
        client.force_login(supervisor)
        overview = client.get(reverse("agencies:home")).context["overview"]
        assert (overview.active_peers, overview.available_now, overview.pending_credentials) == (2, 1, 1)

    def test_it_runs_a_constant_number_of_queries(self, client, supervisor, django_assert_num_queries):
        agency = supervisor.agency_membership.agency
        client.force_login(supervisor)
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("agencies:home"))
        for _ in range(5):
            peer = PeerFactory(agency=agency)
            always_available(peer)
            CredentialFactory(peer=peer)
        agency.counties.add(CountyFactory(name="Ulster"), CountyFactory(name="Sullivan"))
        with django_assert_num_queries(len(few)):
            response = client.get(reverse("agencies:home"))
        assert response.context["overview"].available_now == 5

    def test_it_shows_the_counties_served(self, client, supervisor):
        client.force_login(supervisor)
        assert "Orange County, NY" in client.get(reverse("agencies:home")).content.decode()


class TestDetails:
    def test_it_saves_a_pending_agencys_service_area_at_once_and_audits_it(self, client, supervisor):
        agency = supervisor.agency_membership.agency
        agency.status = OrganisationStatus.PENDING
        agency.save()
        ulster = CountyFactory(name="Ulster")
        client.force_login(supervisor)
        data = signup_data(name="Renamed Peers", counties=[str(ulster.pk)], other_counties="Dutchess, NY")
        response = client.post(reverse("agencies:details"), data)
        assert response.status_code == 302
        agency.refresh_from_db()
        assert agency.name == "Renamed Peers"
        assert sorted(county.name for county in agency.counties.all()) == ["Dutchess", "Ulster"]
        entry = AuditEntry.objects.get(action="agency.details_changed")
        assert "counties" in entry.detail
        assert "Dutchess County, NY" in entry.detail

    def test_it_shows_the_current_details(self, client, supervisor):
        agency = supervisor.agency_membership.agency
        client.force_login(supervisor)
        initial = client.get(reverse("agencies:details")).context["form"].initial
        assert initial["name"] == agency.name
        assert initial["counties"] == [county.pk for county in agency.counties.all()]

    def test_it_rejects_an_empty_service_area_and_keeps_the_old_one(self, client, supervisor):
        agency = supervisor.agency_membership.agency
        before = list(agency.counties.all())
        client.force_login(supervisor)
        response = client.post(reverse("agencies:details"), signup_data(counties=[], other_counties=""))
        assert response.status_code == 200
        assert list(agency.counties.all()) == before


class TestSupervisors:
    def test_it_lists_the_agencys_supervisors_only(self, client, supervisor, colleague):
        AgencyMembershipFactory(user__username="outsider")
        client.force_login(supervisor)
        html = client.get(reverse("agencies:supervisors")).content.decode()
        assert colleague.user.username in html
        assert "outsider" not in html

    def test_it_runs_a_constant_number_of_queries(self, client, supervisor, django_assert_num_queries):
        client.force_login(supervisor)
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("agencies:supervisors"))
        AgencyMembershipFactory.create_batch(6, agency=supervisor.agency_membership.agency)
        with django_assert_num_queries(len(few)):
            assert client.get(reverse("agencies:supervisors")).status_code == 200

    def test_it_adds_a_supervisor_with_a_set_password_link(
        self, client, supervisor, django_capture_on_commit_callbacks
    ):
        client.force_login(supervisor)
        data = {"first_name": "Kim", "last_name": "Ng", "email": "kim@example.org", "username": "kim"}
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(reverse("agencies:supervisors"), data).status_code == 302
        kim = User.objects.get(username="kim")
        assert kim.agency_membership.agency == supervisor.agency_membership.agency
        assert not kim.has_usable_password()
        assert mail.outbox[0].to == ["kim@example.org"]
        assert re.search(r"http://testserver/accounts/reset/\S+/", mail.outbox[0].body)

    def test_it_rejects_an_email_already_used_and_saves_nothing(self, client, supervisor):
        client.force_login(supervisor)
        data = {"first_name": "Kim", "last_name": "Ng", "email": supervisor.email.upper(), "username": "kim"}
        response = client.post(reverse("agencies:supervisors"), data)
        assert response.status_code == 200
        assert "An account with this email already exists" in response.content.decode()
        assert not User.objects.filter(username="kim").exists()

    def test_it_deactivates_a_supervisor_who_left(self, client, supervisor, colleague):
        client.force_login(supervisor)
        client.post(reverse("agencies:supervisor_deactivate", args=[colleague.pk]))
        colleague.user.refresh_from_db()
        assert not colleague.user.is_active
        assert AuditEntry.objects.filter(action="agency.member_deactivated").exists()
        # A deactivated supervisor is logged out everywhere.
        client.force_login(colleague.user)
        assert client.get(reverse("agencies:home")).status_code == 302


class TestNavigation:
    def test_it_links_only_its_own_pages(self, client, supervisor):
        client.force_login(supervisor)
        html = client.get(reverse("agencies:home")).content.decode()
        for name in ["agencies:details", "agencies:supervisors"]:
            assert f'href="{reverse(name)}"' in html


class TestSupervisorAdmins:
    """Three users: the agency's admin, a plain supervisor, another agency's admin."""

    def test_only_the_admin_gets_the_forms(self, client, supervisor, colleague):
        client.force_login(supervisor)
        assert "Add supervisor" in client.get(reverse("agencies:supervisors")).content.decode()
        client.force_login(colleague.user)
        page = client.get(reverse("agencies:supervisors")).content.decode()
        assert "Add supervisor" not in page
        assert "Deactivate" not in page
        target = supervisor.agency_membership
        assert client.post(reverse("agencies:supervisor_deactivate", args=[target.pk])).status_code == 403
        assert client.post(reverse("agencies:supervisor_remove_admin", args=[target.pk])).status_code == 403
        supervisor.refresh_from_db()
        assert supervisor.is_active

    def test_another_agencys_admin_finds_nobody(self, client, colleague):
        client.force_login(AgencyMembershipFactory(is_admin=True).user)
        response = client.post(reverse("agencies:supervisor_make_admin", args=[colleague.pk]))
        assert response.status_code == 404
        colleague.refresh_from_db()
        assert not colleague.is_admin

    def test_a_verified_agencys_new_counties_wait_for_review(self, client, supervisor):
        agency = supervisor.agency_membership.agency
        before = set(agency.counties.all())
        far = CountyFactory(name="Clark", state="NV")
        client.force_login(supervisor)
        data = signup_data(name=agency.name, counties=[str(c.pk) for c in [*before, far]])
        response = client.post(reverse("agencies:details"), data, follow=True)
        assert set(agency.counties.all()) == before
        page = response.content.decode()
        assert "Waiting for Peer-RX review" in page
        assert "Clark County, NV" in page
