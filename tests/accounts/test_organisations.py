import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AuditEntry, County, User
from accounts.organisations import invite_member, set_member_active, suspend_organisation, verify_organisation
from accounts.services import accept_counties, get_or_create_county
from core.choices import OrganisationStatus
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import LocationFactory, LocationMembershipFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 15, 0, tzinfo=dt.UTC)


class TestVerifyAndSuspendALocation:
    def test_it_verifies_a_pending_location_and_records_who_and_when(
        self, django_capture_on_commit_callbacks
    ):
        location = LocationFactory(status=OrganisationStatus.PENDING)
        member = LocationMembershipFactory(location=location, user__email="nurse@example.org")
        staff = StaffUserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            assert verify_organisation(organisation=location, actor=staff, now=NOW)
        location.refresh_from_db()
        assert location.status == OrganisationStatus.VERIFIED
        assert (location.verified_by, location.verified_at) == (staff, NOW)
        entry = AuditEntry.objects.get(action="location.verified")
        assert (entry.actor, entry.target_id, entry.at) == (staff, str(location.pk), NOW)
        # The awaiting-verification page promises an email: members get it.
        assert [message.to for message in mail.outbox] == [[member.user.email]]
        assert "is verified" in mail.outbox[0].subject

    def test_it_changes_nothing_when_already_verified(self):
        location = LocationFactory(status=OrganisationStatus.VERIFIED)
        assert not verify_organisation(organisation=location, actor=StaffUserFactory(), now=NOW)
        assert not AuditEntry.objects.exists()

    def test_it_clears_a_suspension_when_verified_again(self):
        location = LocationFactory(status=OrganisationStatus.PENDING)
        staff = StaffUserFactory()
        suspend_organisation(organisation=location, actor=staff, reason="duplicate sign-up", now=NOW)
        location.refresh_from_db()
        assert location.status == OrganisationStatus.SUSPENDED
        assert (location.suspended_by, location.suspended_at) == (staff, NOW)
        assert AuditEntry.objects.get(action="location.suspended").detail == "duplicate sign-up"
        verify_organisation(organisation=location, actor=staff, now=NOW + dt.timedelta(hours=1))
        location.refresh_from_db()
        assert location.status == OrganisationStatus.VERIFIED
        assert location.suspended_by is None
        assert location.suspended_at is None

    def test_it_suspends_once(self):
        location = LocationFactory()
        staff = StaffUserFactory()
        assert suspend_organisation(organisation=location, actor=staff, now=NOW)
        assert not suspend_organisation(organisation=location, actor=staff, now=NOW)
        assert AuditEntry.objects.filter(action="location.suspended").count() == 1


class TestVerifyAndSuspendAnAgency:
    def test_it_verifies_once_with_who_and_when(self, django_capture_on_commit_callbacks):
        agency = AgencyFactory(status=OrganisationStatus.PENDING)
        AgencyMembershipFactory(agency=agency, user__email="sup@example.org")
        staff = StaffUserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            assert verify_organisation(organisation=agency, actor=staff, now=NOW)
            assert not verify_organisation(organisation=agency, actor=staff, now=NOW)
        agency.refresh_from_db()
        assert (agency.status, agency.verified_by, agency.verified_at) == ("verified", staff, NOW)
        assert AuditEntry.objects.filter(action="agency.verified").count() == 1
        assert [message.to for message in mail.outbox] == [["sup@example.org"]]

    def test_it_suspends_with_who_and_when(self):
        agency = AgencyFactory()
        staff = StaffUserFactory()
        assert suspend_organisation(organisation=agency, actor=staff, reason="lapsed insurance", now=NOW)
        agency.refresh_from_db()
        assert (agency.status, agency.suspended_by, agency.suspended_at) == ("suspended", staff, NOW)
        assert AuditEntry.objects.get(action="agency.suspended").detail == "lapsed insurance"


class TestMembers:
    def test_it_adds_a_supervisor_without_a_password_and_emails_a_link(
        self, django_capture_on_commit_callbacks
    ):
        agency = AgencyFactory(name="Link Peers")
        inviter = AgencyMembershipFactory(agency=agency).user
        with django_capture_on_commit_callbacks(execute=True):
            membership = invite_member(
                organisation=agency,
                invited_by=inviter,
                first_name="Kim",
                last_name="Ng",
                email="kim@example.org",
                username="kim",
            )
        assert not membership.user.has_usable_password()
        assert "Link Peers" in mail.outbox[0].subject
        assert "kim" in mail.outbox[0].body

    def test_it_does_not_let_a_supervisor_deactivate_themselves(self):
        membership = AgencyMembershipFactory()
        with pytest.raises(ValidationError):
            set_member_active(
                user=membership.user, organisation=membership.agency, active=False, actor=membership.user
            )
        membership.user.refresh_from_db()
        assert membership.user.is_active


class TestCountiesTypedAtSignUp:
    """A county typed at sign-up waits for staff, and only its organisation sees it meanwhile."""

    def _sign_up_typing(self, client, county_name: str, **overrides):
        from tests.locations.test_views import signup_data

        data = signup_data(county="", county_state="NY", county_name=county_name, **overrides)
        response = client.post(reverse("locations:signup"), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        return County.objects.get(name=county_name.strip().title(), state="NY")

    def test_it_stays_pending_and_out_of_every_other_organisations_list(self, client):
        county = self._sign_up_typing(client, "Sullivan")
        assert county.accepted_at is None
        client.logout()
        others = client.get(reverse("locations:signup")).content.decode()
        assert "Sullivan County" not in others
        assert "Orange County" in others  # accepted counties still listed

    def test_its_own_organisation_still_sees_it_on_its_details(self, client):
        county = self._sign_up_typing(client, "Sullivan")
        details = client.get(reverse("locations:details")).content.decode()
        assert f'value="{county.pk}" selected' in details

    def test_staff_accept_it_from_the_admin_and_then_everyone_sees_it(self, client):
        county = self._sign_up_typing(client, "Sullivan")
        client.logout()
        staff = StaffUserFactory(is_superuser=True)
        client.force_login(staff)
        response = client.post(
            reverse("admin:accounts_county_changelist"),
            {"action": "accept", "_selected_action": [county.pk]},
            follow=True,
        )
        assert "1 county accepted." in response.content.decode()
        county.refresh_from_db()
        assert county.accepted_at is not None
        assert AuditEntry.objects.filter(
            action="county.accepted", actor=staff, target_id=str(county.pk)
        ).exists()
        client.logout()
        assert "Sullivan County" in client.get(reverse("locations:signup")).content.decode()

    def test_accepting_twice_records_it_once(self):
        county = get_or_create_county(state="NY", name="Delaware")
        staff = StaffUserFactory()
        assert accept_counties(counties=[county], actor=staff, now=NOW) == 1
        assert accept_counties(counties=[county], actor=staff, now=NOW) == 0
        assert AuditEntry.objects.filter(action="county.accepted").count() == 1

    def test_counties_made_by_staff_or_seeds_are_accepted(self):
        assert County.objects.create(name="Ulster", state="NY").accepted_at is not None


class TestSignUpLimit:
    def test_it_refuses_a_sixth_sign_up_from_one_address_within_the_hour(self, client, settings):
        from tests.locations.test_views import signup_data

        settings.PEERRX_SIGNUPS_PER_HOUR = 5
        for n in range(5):
            data = signup_data(email=f"riley{n}@example.org", username=f"riley{n}", name=f"ED {n}")
            assert client.post(reverse("locations:signup"), data).status_code == 302
            client.logout()
        response = client.post(
            reverse("locations:signup"),
            signup_data(email="late@example.org", username="late", name="ED late"),
        )
        assert response.status_code == 429
        assert "Too many sign-ups from your network" in response.content.decode()
        assert not User.objects.filter(username="late").exists()

    def test_it_counts_each_address_on_its_own(self, client, settings):
        from tests.locations.test_views import signup_data

        settings.PEERRX_SIGNUPS_PER_HOUR = 1
        first = signup_data(email="a@example.org", username="a", name="ED a")
        assert client.post(reverse("locations:signup"), first, REMOTE_ADDR="203.0.113.1").status_code == 302
        client.logout()
        second = signup_data(email="b@example.org", username="b", name="ED b")
        assert client.post(reverse("locations:signup"), second, REMOTE_ADDR="203.0.113.2").status_code == 302

    def test_behind_the_proxy_it_counts_the_forwarded_address(self, client, settings):
        from tests.locations.test_views import signup_data

        settings.PEERRX_SIGNUPS_PER_HOUR = 1
        settings.TRUST_X_FORWARDED_FOR = True
        first = signup_data(email="a@example.org", username="a", name="ED a")
        assert (
            client.post(reverse("locations:signup"), first, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code
            == 302
        )
        client.logout()
        # Another client: allowed; the first again, whatever it puts before the proxy's entry: refused.
        second = signup_data(email="b@example.org", username="b", name="ED b")
        assert (
            client.post(reverse("locations:signup"), second, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code
            == 302
        )
        client.logout()
        third = signup_data(email="c@example.org", username="c", name="ED c")
        spoofed = "1.2.3.4, 198.51.100.7"
        assert (
            client.post(reverse("locations:signup"), third, HTTP_X_FORWARDED_FOR=spoofed).status_code == 429
        )
