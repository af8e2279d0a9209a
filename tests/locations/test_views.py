import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry, County
from accounts.organisations import verify_organisation
from core.choices import OrganisationStatus
from locations.models import Location, PreferredAgency
from tests.accounts.factories import CountyFactory, StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import (
    LocationFactory,
    LocationMembershipFactory,
    PreferredAgencyFactory,
)

pytestmark = pytest.mark.django_db
User = get_user_model()

# Every page of the location portal: (URL name, method, needs a verified location).
PAGES = [
    ("locations:home", "get", False),
    ("locations:details", "get", False),
    ("locations:staff", "get", True),
    ("locations:preferred_agencies", "get", True),
]
# Pages about one object of the location: a colleague's membership.
OBJECT_PAGES = ["locations:staff_deactivate", "locations:staff_reactivate"]


def signup_data(**overrides) -> dict:
    county = County.objects.get_or_create(name="Orange", state="NY")[0]
    data = {
        "name": "St. Luke's Emergency Department",
        "kind": Location.Kind.EMERGENCY_DEPARTMENT,
        "address": "70 Dubois Street, Newburgh, NY 12550",
        "county": str(county.pk),
        "county_state": "",
        "county_name": "",
        "timezone": "America/New_York",
        "notification_phone": "(845) 555-0177",
        "first_name": "Riley",
        "last_name": "Stone",
        "email": "riley@stlukes.example.org",
        "username": "riley",
        "password1": "a-long-passphrase-99",
        "password2": "a-long-passphrase-99",
    }
    data.update(overrides)
    return data


@pytest.fixture
def member():
    """The location's admin: the owner of its staff list."""
    return LocationMembershipFactory(is_admin=True).user


@pytest.fixture
def colleague(member):
    return LocationMembershipFactory(location=member.location_membership.location)


class TestPermissions:
    """Three users on every URL: the location's own staff, another location's staff, another role."""

    @pytest.mark.parametrize(("name", "method", "_verified"), PAGES)
    def test_it_opens_every_page_for_the_locations_own_staff(self, client, member, name, method, _verified):
        client.force_login(member)
        assert getattr(client, method)(reverse(name)).status_code == 200

    @pytest.mark.parametrize(("name", "method", "_verified"), PAGES)
    def test_it_shows_another_locations_staff_only_their_own_location(
        self, client, member, name, method, _verified
    ):
        other = LocationMembershipFactory(location__name="Elsewhere Clinic")
        client.force_login(other.user)
        response = getattr(client, method)(reverse(name))
        assert response.status_code == 200
        assert member.location_membership.location.name not in response.content.decode()

    @pytest.mark.parametrize(("name", "method", "_verified"), PAGES)
    @pytest.mark.parametrize(
        "make_user",
        [lambda: AgencyMembershipFactory().user, StaffUserFactory, UserFactory],
        ids=["supervisor", "peerrx-staff", "no-organisation"],
    )
    def test_it_refuses_other_roles(self, client, name, method, _verified, make_user):
        client.force_login(make_user())
        assert getattr(client, method)(reverse(name)).status_code == 403

    @pytest.mark.parametrize(("name", "method", "_verified"), PAGES)
    def test_it_sends_anonymous_users_to_login(self, client, name, method, _verified):
        response = getattr(client, method)(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize(("name", "method", "verified"), PAGES)
    def test_it_keeps_a_pending_location_to_its_home_and_details(self, client, name, method, verified):
        pending = LocationMembershipFactory(location__status=OrganisationStatus.PENDING)
        client.force_login(pending.user)
        response = getattr(client, method)(reverse(name))
        if verified:
            assert response.status_code == 403
            assert "Awaiting verification" in response.content.decode()
        else:
            assert response.status_code == 200

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_lets_staff_change_their_own_colleagues(self, client, member, colleague, name):
        client.force_login(member)
        assert client.post(reverse(name, args=[colleague.pk])).status_code == 302

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_hides_another_locations_colleagues(self, client, colleague, name):
        client.force_login(LocationMembershipFactory(is_admin=True).user)
        assert client.post(reverse(name, args=[colleague.pk])).status_code == 404
        colleague.user.refresh_from_db()
        assert colleague.user.is_active

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_refuses_object_pages_to_other_roles(self, client, colleague, name):
        client.force_login(AgencyMembershipFactory().user)
        assert client.post(reverse(name, args=[colleague.pk])).status_code == 403

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_sends_anonymous_users_from_object_pages_to_login(self, client, colleague, name):
        response = client.post(reverse(name, args=[colleague.pk]))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("name", OBJECT_PAGES)
    def test_it_accepts_only_post_on_object_pages(self, client, member, colleague, name):
        client.force_login(member)
        assert client.get(reverse(name, args=[colleague.pk])).status_code == 405

    @pytest.mark.parametrize("name", ["locations:signup", "agencies:signup"])
    def test_it_sends_logged_in_users_from_sign_up_to_their_home(self, client, member, name):
        client.force_login(member)
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url == reverse("home")


class TestSignup:
    def test_it_labels_every_field(self, client):
        response = client.get(reverse("locations:signup"))
        html = response.content.decode()
        assert response.status_code == 200
        for field in signup_data():
            assert f'for="id_{field}"' in html, field

    def test_it_creates_a_pending_location_whose_first_member_confirms_by_email(
        self, client, django_capture_on_commit_callbacks
    ):
        StaffUserFactory(email="verify@peer-rx.example")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("locations:signup"), signup_data())
        assert response.status_code == 302
        assert response.url == reverse("signup_sent")
        assert "riley@stlukes.example.org" in client.get(response.url).content.decode()
        location = Location.objects.get()
        assert location.status == OrganisationStatus.PENDING
        assert location.verified_by is None
        assert str(location.notification_phone) == "+18455550177"
        user = User.objects.get(username="riley")
        assert user.location_membership.location == location
        assert user.check_password("a-long-passphrase-99")
        assert not user.is_active and "_auth_user_id" not in client.session
        assert AuditEntry.objects.filter(action="location.signed_up", target_id=str(location.pk)).exists()
        # Only the new member is mailed, with the link that confirms their address.
        assert [message.to for message in mail.outbox] == [["riley@stlukes.example.org"]]
        link = re.search(r"https?://[^/\s]+(/accounts/registered/\S+/)", mail.outbox[0].body).group(1)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(link)
        assert response.status_code == 302 and response.url == reverse("locations:home")
        user.refresh_from_db()
        assert user.is_active
        assert int(client.session["_auth_user_id"]) == user.pk
        assert "Awaiting verification" in client.get(response.url).content.decode()
        # Peer-RX staff hear about it once confirmed, with a link to the admin page that verifies it.
        assert [message.to for message in mail.outbox[1:]] == [["verify@peer-rx.example"]]
        assert f"/admin/locations/location/{location.pk}/change/" in mail.outbox[1].body
        # The link works once.
        client.logout()
        assert client.get(link).status_code == 400

    def test_it_answers_the_same_for_a_taken_email_or_username_and_mails_only_the_address_given(
        self, client, django_capture_on_commit_callbacks
    ):
        UserFactory(username="nurse", email="nurse@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            taken_email = client.post(reverse("locations:signup"), signup_data(email="Nurse@Example.org"))
            taken_username = client.post(
                reverse("locations:signup"), signup_data(username="NURSE", email="new@example.org")
            )
            fresh = client.post(reverse("locations:signup"), signup_data())
        for response in (taken_email, taken_username, fresh):
            assert response.status_code == 302 and response.url == reverse("signup_sent")
        assert Location.objects.count() == 1  # only the fresh one
        assert [message.to for message in mail.outbox] == [
            ["Nurse@Example.org"],
            ["new@example.org"],
            ["riley@stlukes.example.org"],
        ]
        assert "already belongs to a Peer-RX account" in mail.outbox[0].body
        assert 'username "NURSE", which is already taken' in mail.outbox[1].body

    def test_it_cannot_act_until_verified(self, client):
        client.post(reverse("locations:signup"), signup_data())
        location = Location.objects.get()
        user = User.objects.get(username="riley")
        user.is_active = True
        user.save(update_fields=["is_active"])
        client.force_login(user)
        assert client.get(reverse("locations:staff")).status_code == 403
        assert client.get(reverse("locations:preferred_agencies")).status_code == 403
        verify_organisation(organisation=location, actor=StaffUserFactory())
        assert client.get(reverse("locations:staff")).status_code == 200
        assert client.get(reverse("locations:preferred_agencies")).status_code == 200

    def test_it_creates_a_county_that_is_typed(self, client):
        data = signup_data(county="", county_state="NY", county_name="  sullivan county ")
        assert client.post(reverse("locations:signup"), data).status_code == 302
        county = Location.objects.get().county
        assert (county.name, county.state) == ("Sullivan", "NY")

    def test_it_reuses_an_existing_county_that_is_typed(self, client):
        orange = CountyFactory(name="Orange", state="NY")
        data = signup_data(county="", county_state="NY", county_name="ORANGE County")
        assert client.post(reverse("locations:signup"), data).status_code == 302
        assert Location.objects.get().county == orange
        assert County.objects.count() == 1

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"notification_phone": "555-CALL-NOW"}, "notification_phone", "Enter a valid phone number"),
            ({"notification_phone": "12345"}, "notification_phone", "Enter a valid phone number"),
            ({"password2": "something-else-42"}, "password2", "The two passwords don"),
            ({"password1": "password", "password2": "password"}, "password2", "too common"),
            ({"county": ""}, "county", "Pick your county"),
            ({"county_state": "NY", "county_name": "Ulster"}, "county", "not both"),
            ({"county": "", "county_name": "Ulster"}, "county_state", "Choose the county"),
            ({"county": "", "county_state": "ZZ", "county_name": "Ulster"}, "county_state", "valid choice"),
            ({"kind": "spaceship"}, "kind", "valid choice"),
        ],
    )
    def test_it_rejects_bad_input_and_saves_nothing(self, client, overrides, field, message):
        UserFactory(username="nurse", email="nurse@example.org")
        users = User.objects.count()
        response = client.post(reverse("locations:signup"), signup_data(**overrides))
        assert response.status_code == 200
        assert message in " ".join(response.context["form"].errors[field])
        assert Location.objects.count() == 0
        assert User.objects.count() == users
        assert "_auth_user_id" not in client.session


class TestDetails:
    def test_it_shows_the_current_details(self, client, member):
        client.force_login(member)
        response = client.get(reverse("locations:details"))
        assert response.context["form"].initial["name"] == member.location_membership.location.name

    def test_it_saves_a_pending_locations_changes_at_once_and_audits_them(self, client, member):
        location = member.location_membership.location
        location.status = OrganisationStatus.PENDING
        location.save()
        client.force_login(member)
        data = signup_data(
            name="Renamed ED", county=str(location.county_id), notification_phone="845 555 0199"
        )
        response = client.post(reverse("locations:details"), data)
        assert response.status_code == 302
        location.refresh_from_db()
        assert location.name == "Renamed ED"
        assert str(location.notification_phone) == "+18455550199"
        entry = AuditEntry.objects.get(action="location.details_changed")
        assert "name" in entry.detail
        assert entry.actor == member

    def test_it_does_not_let_a_member_change_the_status(self, client, member):
        location = member.location_membership.location
        location.status = OrganisationStatus.PENDING
        location.save()
        client.force_login(member)
        client.post(reverse("locations:details"), signup_data(status="verified"))
        location.refresh_from_db()
        assert location.status == OrganisationStatus.PENDING

    def test_it_rejects_a_bad_phone_and_saves_nothing(self, client, member):
        location = member.location_membership.location
        client.force_login(member)
        response = client.post(reverse("locations:details"), signup_data(name="New", notification_phone="0"))
        assert response.status_code == 200
        assert "Enter a valid phone number" in response.content.decode()
        location.refresh_from_db()
        assert location.name != "New"


class TestStaff:
    def test_it_lists_the_locations_staff_only(self, client, member, colleague):
        LocationMembershipFactory(user__username="outsider")
        client.force_login(member)
        html = client.get(reverse("locations:staff")).content.decode()
        assert colleague.user.username in html
        assert "outsider" not in html

    def test_it_runs_a_constant_number_of_queries(self, client, member, django_assert_num_queries):
        location = member.location_membership.location
        client.force_login(member)
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("locations:staff"))
        LocationMembershipFactory.create_batch(6, location=location)
        with django_assert_num_queries(len(few)):
            assert client.get(reverse("locations:staff")).status_code == 200

    def test_it_adds_a_colleague_who_sets_a_password_from_the_email(
        self, client, member, django_capture_on_commit_callbacks
    ):
        client.force_login(member)
        data = {
            "first_name": "Casey",
            "last_name": "Moore",
            "email": "casey@example.org",
            "username": "casey",
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("locations:staff"), data)
        assert response.status_code == 302
        casey = User.objects.get(username="casey")
        assert casey.location_membership.location == member.location_membership.location
        assert not casey.has_usable_password()
        assert AuditEntry.objects.filter(action="location.member_added", actor=member).exists()
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["casey@example.org"]
        link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
        # The colleague follows the link in a fresh browser and chooses a password.
        client.logout()
        form_page = client.get(link, follow=True)
        assert form_page.status_code == 200
        assert form_page.context["validlink"]
        client.post(
            form_page.redirect_chain[-1][0],
            {"new_password1": "casey-long-passphrase-7", "new_password2": "casey-long-passphrase-7"},
        )
        casey.refresh_from_db()
        assert casey.check_password("casey-long-passphrase-7")
        assert client.login(username="casey", password="casey-long-passphrase-7")

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"email": "TAKEN@example.org"}, "email", "An account with this email already exists"),
            ({"username": "Taken"}, "username", "This username is taken"),
            ({"username": "has space"}, "username", "Enter a valid username"),
            ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ],
    )
    def test_it_rejects_bad_colleagues_and_saves_nothing(self, client, member, overrides, field, message):
        UserFactory(username="taken", email="taken@example.org")
        users = User.objects.count()
        client.force_login(member)
        data = {
            "first_name": "Casey",
            "last_name": "Moore",
            "email": "casey@example.org",
            "username": "casey",
        }
        response = client.post(reverse("locations:staff"), {**data, **overrides})
        assert response.status_code == 200
        assert message in " ".join(response.context["form"].errors[field])
        assert User.objects.count() == users
        assert len(mail.outbox) == 0

    def test_it_deactivates_and_reactivates_a_colleague(self, client, member, colleague):
        client.force_login(member)
        client.post(reverse("locations:staff_deactivate", args=[colleague.pk]))
        colleague.user.refresh_from_db()
        assert not colleague.user.is_active
        assert AuditEntry.objects.filter(action="location.member_deactivated", actor=member).exists()
        client.post(reverse("locations:staff_reactivate", args=[colleague.pk]))
        colleague.user.refresh_from_db()
        assert colleague.user.is_active

    def test_it_does_not_let_a_member_deactivate_themselves(self, client, member):
        client.force_login(member)
        response = client.post(
            reverse("locations:staff_deactivate", args=[member.location_membership.pk]), follow=True
        )
        assert "You can&#x27;t deactivate your own account." in response.content.decode()
        member.refresh_from_db()
        assert member.is_active


class TestPreferredAgencies:
    @pytest.fixture
    def agencies(self, member):
        county = member.location_membership.location.county
        return [AgencyFactory(name=f"Agency {letter}", counties=[county]) for letter in "ABC"]

    def test_it_offers_only_verified_agencies_serving_the_county(self, client, member, agencies):
        AgencyFactory(name="Pending Peers", status=OrganisationStatus.PENDING)
        AgencyFactory(name="Far Away Peers", counties=[CountyFactory(name="Erie")])
        client.force_login(member)
        response = client.get(reverse("locations:preferred_agencies"))
        html = response.content.decode()
        assert "Agency A" in html
        assert "Pending Peers" not in html
        assert "Far Away Peers" not in html
        assert len(response.context["form"].fields) == 3
        assert 'for="id_rank_1"' in html

    def test_it_replaces_the_ranking(self, client, member, agencies):
        location = member.location_membership.location
        a, _b, c = agencies
        PreferredAgencyFactory(location=location, agency=a, rank=1)
        client.force_login(member)
        response = client.post(
            reverse("locations:preferred_agencies"), {"rank_1": c.pk, "rank_2": "", "rank_3": a.pk}
        )
        assert response.status_code == 302
        rows = list(PreferredAgency.objects.filter(location=location).values_list("rank", "agency"))
        assert rows == [(1, c.pk), (2, a.pk)]
        assert AuditEntry.objects.filter(action="location.preferred_agencies_changed").exists()

    def test_it_shows_the_current_ranking(self, client, member, agencies):
        location = member.location_membership.location
        PreferredAgencyFactory(location=location, agency=agencies[2], rank=1)
        PreferredAgencyFactory(location=location, agency=agencies[0], rank=2)
        client.force_login(member)
        form = client.get(reverse("locations:preferred_agencies")).context["form"]
        assert form.initial == {"rank_1": agencies[2].pk, "rank_2": agencies[0].pk}

    def test_it_clears_the_ranking(self, client, member, agencies):
        location = member.location_membership.location
        PreferredAgencyFactory(location=location, agency=agencies[0], rank=1)
        client.force_login(member)
        client.post(reverse("locations:preferred_agencies"), {"rank_1": "", "rank_2": "", "rank_3": ""})
        assert not PreferredAgency.objects.filter(location=location).exists()

    def test_it_rejects_duplicates_and_keeps_the_old_ranking(self, client, member, agencies):
        location = member.location_membership.location
        a, b, _c = agencies
        PreferredAgencyFactory(location=location, agency=b, rank=1)
        client.force_login(member)
        response = client.post(reverse("locations:preferred_agencies"), {"rank_1": a.pk, "rank_2": a.pk})
        assert response.status_code == 200
        assert "Agency A is already ranked #1" in response.content.decode()
        assert list(PreferredAgency.objects.filter(location=location).values_list("agency", flat=True)) == [
            b.pk
        ]

    @pytest.mark.parametrize("which", ["other-county", "pending", "missing", "not-a-number"])
    def test_it_rejects_agencies_it_does_not_offer(self, client, member, agencies, which):
        location = member.location_membership.location
        PreferredAgencyFactory(location=location, agency=agencies[0], rank=1)
        # Another location's preferred agency, in another county.
        elsewhere = PreferredAgencyFactory(
            location=LocationFactory(county=CountyFactory(name="Erie")),
            agency=AgencyFactory(counties=[CountyFactory(name="Erie")]),
        )
        value = {
            "other-county": elsewhere.agency.pk,
            "pending": AgencyFactory(status=OrganisationStatus.PENDING, counties=[location.county]).pk,
            "missing": 999_999,
            "not-a-number": "x",
        }[which]
        client.force_login(member)
        response = client.post(
            reverse("locations:preferred_agencies"), {"rank_1": agencies[1].pk, "rank_2": value}
        )
        assert response.status_code == 200
        assert "Choose one of the listed agencies" in response.content.decode()
        assert list(PreferredAgency.objects.filter(location=location).values_list("agency", flat=True)) == [
            agencies[0].pk
        ]
        assert list(PreferredAgency.objects.filter(location=elsewhere.location)) == [elsewhere]

    def test_it_runs_a_constant_number_of_queries(self, client, member, agencies, django_assert_num_queries):
        location = member.location_membership.location
        client.force_login(member)
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("locations:preferred_agencies"))
        for rank, agency in enumerate(
            [*agencies, *AgencyFactory.create_batch(5, counties=[location.county])], 1
        ):
            PreferredAgencyFactory(location=location, agency=agency, rank=rank)
        with django_assert_num_queries(len(few)):
            response = client.get(reverse("locations:preferred_agencies"))
        assert len(response.context["form"].fields) == 8

    def test_it_says_when_no_agency_serves_the_county(self, client, member):
        client.force_login(member)
        html = client.get(reverse("locations:preferred_agencies")).content.decode()
        assert "No verified agency serves" in html


class TestNavigation:
    def test_it_links_a_verified_locations_pages(self, client, member):
        client.force_login(member)
        html = client.get(reverse("locations:home")).content.decode()
        for name in ["locations:details", "locations:staff", "locations:preferred_agencies"]:
            assert f'href="{reverse(name)}"' in html

    def test_it_hides_pages_a_pending_location_cannot_use(self, client):
        pending = LocationMembershipFactory(location__status=OrganisationStatus.PENDING)
        client.force_login(pending.user)
        html = client.get(reverse("locations:home")).content.decode()
        assert f'href="{reverse("locations:staff")}"' not in html
        assert f'href="{reverse("locations:details")}"' in html


class TestOrganisationAdmins:
    """Three users: the location's admin (owner), a plain member, and another location's admin."""

    @pytest.fixture
    def team(self, member, colleague):
        return member, colleague, LocationMembershipFactory(is_admin=True).user

    def test_the_admin_gets_the_invite_form_and_the_buttons(self, client, team):
        owner, colleague, _outsider = team
        client.force_login(owner)
        page = client.get(reverse("locations:staff")).content.decode()
        assert "Add colleague" in page
        assert reverse("locations:staff_deactivate", args=[colleague.pk]) in page
        assert reverse("locations:staff_make_admin", args=[colleague.pk]) in page

    def test_a_plain_member_sees_the_list_without_forms_and_cannot_post(self, client, team):
        owner, colleague, _outsider = team
        client.force_login(colleague.user)
        page = client.get(reverse("locations:staff")).content.decode()
        assert "Add colleague" not in page
        assert "Deactivate" not in page
        assert owner.username in page
        owner_membership = owner.location_membership
        for name in ["locations:staff_deactivate", "locations:staff_remove_admin"]:
            assert client.post(reverse(name, args=[owner_membership.pk])).status_code == 403
        assert client.post(reverse("locations:staff"), {"username": "x"}).status_code == 403
        owner.refresh_from_db()
        owner_membership.refresh_from_db()
        assert owner.is_active and owner_membership.is_admin

    def test_another_locations_admin_finds_nobody(self, client, team):
        _owner, colleague, outsider = team
        client.force_login(outsider)
        assert client.post(reverse("locations:staff_make_admin", args=[colleague.pk])).status_code == 404
        colleague.refresh_from_db()
        assert not colleague.is_admin

    def test_the_admin_grants_admin_and_cannot_drop_the_last_one(self, client, team):
        owner, colleague, _outsider = team
        client.force_login(owner)
        client.post(reverse("locations:staff_make_admin", args=[colleague.pk]))
        colleague.refresh_from_db()
        assert colleague.is_admin
        client.post(reverse("locations:staff_remove_admin", args=[colleague.pk]))
        response = client.post(
            reverse("locations:staff_remove_admin", args=[owner.location_membership.pk]), follow=True
        )
        assert "at least one active admin" in response.content.decode()
        assert owner.location_membership.__class__.objects.get(pk=owner.location_membership.pk).is_admin

    def test_a_blocked_member_shows_as_blocked_without_a_reactivate_button(self, client, team):
        owner, colleague, _outsider = team
        colleague.blocked = True
        colleague.save(update_fields=["blocked"])
        client.force_login(owner)
        page = client.get(reverse("locations:staff")).content.decode()
        assert "Blocked by Peer-RX" in page
        assert reverse("locations:staff_reactivate", args=[colleague.pk]) not in page


class TestIdentityChangesAreReviewed:
    """A verified location's name, address, county and phone wait for Peer-RX; the rest applies."""

    def test_it_holds_the_identity_fields_and_applies_the_rest(
        self, client, member, django_capture_on_commit_callbacks
    ):
        from accounts.models import PendingChange

        StaffUserFactory(email="reviewer@peer-rx.example")
        location = member.location_membership.location
        old_name, old_phone = location.name, location.notification_phone
        elsewhere = CountyFactory(name="Sullivan")
        client.force_login(member)
        data = signup_data(
            name="Renamed ED",
            county=str(elsewhere.pk),
            notification_phone="845 555 0199",
            timezone="America/Chicago",
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("locations:details"), data, follow=True)
        location.refresh_from_db()
        assert (location.name, location.notification_phone, location.county.name) == (
            old_name,
            old_phone,
            "Orange",
        )
        assert location.timezone == "America/Chicago"
        held = {change.field: change.new_text for change in PendingChange.objects.all()}
        assert held == {
            "name": "Renamed ED",
            "address": "70 Dubois Street, Newburgh, NY 12550",
            "county": "Sullivan County, NY",
            "notification_phone": "+18455550199",
        }
        page = response.content.decode()
        assert "Waiting for Peer-RX review" in page
        assert "Renamed ED" in page
        assert [m.to for m in mail.outbox] == [["reviewer@peer-rx.example"]]
        assert "Renamed ED" in mail.outbox[0].body
        assert AuditEntry.objects.filter(action="location.change_requested", actor=member).count() == 4

    def test_a_newer_change_replaces_the_one_waiting(self, client, member):
        from accounts.models import PendingChange

        location = member.location_membership.location
        client.force_login(member)
        base = {"county": str(location.county_id), "address": location.address}
        base["notification_phone"] = str(location.notification_phone)
        client.post(reverse("locations:details"), signup_data(name="First Try", **base))
        client.post(reverse("locations:details"), signup_data(name="Second Try", **base))
        waiting = PendingChange.objects.filter(decision=PendingChange.Decision.PENDING)
        assert [change.new_text for change in waiting] == ["Second Try"]
        assert PendingChange.objects.filter(decision=PendingChange.Decision.SUPERSEDED).count() == 1

    def test_an_outsider_sees_none_of_it(self, client, member):
        location = member.location_membership.location
        client.force_login(member)
        client.post(
            reverse("locations:details"),
            signup_data(
                name="Secret Rename",
                county=str(location.county_id),
                address=location.address,
                notification_phone=str(location.notification_phone),
            ),
        )
        client.force_login(LocationMembershipFactory().user)
        assert "Secret Rename" not in client.get(reverse("locations:details")).content.decode()


def test_it_lists_pending_changes_in_constant_queries(client, member, django_assert_num_queries):
    from accounts.organisations import hold_for_review

    location = member.location_membership.location
    client.force_login(member)
    client.get(reverse("locations:details"))
    hold_for_review(organisation=location, actor=member, changes={"name": (location.name, "One")})
    with CaptureQueriesContext(connection) as one:
        assert "One" in client.get(reverse("locations:details")).content.decode()
    hold_for_review(
        organisation=location,
        actor=member,
        changes={"address": (location.address, "Two"), "notification_phone": ("", "+18455550111")},
    )
    with django_assert_num_queries(len(one)):
        page = client.get(reverse("locations:details")).content.decode()
    assert "Two" in page and "+18455550111" in page


class TestSignupErrors:
    def test_it_names_each_missing_field_in_a_summary_at_the_top(self, client):
        response = client.post(reverse("locations:signup"), {"name": ""})
        body = response.content.decode()
        assert "<title>Error: Register a location" in body
        assert body.index("There is a problem") < body.index("Register a hospital or clinic")
        assert "This field is required" not in body
        for message, field in [
            ("Enter the name of the location.", "id_name"),
            ("Choose the kind.", "id_kind"),
            ("Enter the street address.", "id_address"),
            ("Choose the time zone.", "id_timezone"),
            ("Enter the first name.", "id_first_name"),
            ("Enter the password again.", "id_password2"),
        ]:
            assert f'<a href="#{field}">{message}</a>' in body, message

    def test_the_agency_sign_up_does_the_same(self, client):
        body = client.post(reverse("agencies:signup"), {"name": ""}).content.decode()
        assert "<title>Error: Register a peer agency" in body
        assert '<a href="#id_name">Enter the name of the agency.</a>' in body
        assert "This field is required" not in body
