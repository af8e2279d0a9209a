import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import AuditEntry, County, User
from accounts.organisations import (
    invite_member,
    set_member_active,
    set_member_admin,
    set_member_blocked,
    suspend_organisation,
    verify_organisation,
)
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
        inviter = AgencyMembershipFactory(agency=agency, is_admin=True).user
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
        membership = AgencyMembershipFactory(is_admin=True)
        with pytest.raises(ValidationError):
            set_member_active(membership=membership, active=False, actor=membership.user)
        membership.user.refresh_from_db()
        assert membership.user.is_active


@pytest.fixture
def team():
    """Three users per permission test: the organisation's admin, a plain member, an outsider."""
    owner = LocationMembershipFactory(is_admin=True)
    member = LocationMembershipFactory(location=owner.location)
    outsider = LocationMembershipFactory(is_admin=True)
    return owner, member, outsider


class TestOrganisationAdmins:
    def test_it_makes_the_first_member_of_a_sign_up_an_admin(self, django_capture_on_commit_callbacks):
        from locations.services import register_location
        from tests.accounts.factories import CountyFactory

        with django_capture_on_commit_callbacks(execute=True):
            membership = register_location(
                name="New ED",
                kind="emergency_department",
                address="1 Main Street",
                county=CountyFactory(),
                timezone_name="America/New_York",
                notification_phone="+18455550150",
                first_name="Ada",
                last_name="Lee",
                email="ada@example.org",
                username="ada",
                password="a-long-passphrase-1",
            )
        assert membership.is_admin

    def test_it_lets_only_admins_deactivate_and_reactivate(self, team):
        owner, member, outsider = team
        colleague = LocationMembershipFactory(location=owner.location)
        with pytest.raises(PermissionDenied):
            set_member_active(membership=colleague, active=False, actor=member.user)
        with pytest.raises(PermissionDenied):
            set_member_active(membership=colleague, active=False, actor=outsider.user)
        assert set_member_active(membership=colleague, active=False, actor=owner.user)
        colleague.user.refresh_from_db()
        assert not colleague.user.is_active
        assert AuditEntry.objects.filter(action="location.member_deactivated", actor=owner.user).exists()

    def test_it_lets_only_admins_invite(self, team):
        owner, member, outsider = team
        for actor in (member.user, outsider.user):
            with pytest.raises(PermissionDenied):
                invite_member(
                    organisation=owner.location,
                    invited_by=actor,
                    first_name="Kim",
                    last_name="Ng",
                    email="kim@example.org",
                    username=f"kim{actor.pk}",
                )
        invite_member(
            organisation=owner.location,
            invited_by=owner.user,
            first_name="Kim",
            last_name="Ng",
            email="kim@example.org",
            username="kim",
        )
        assert owner.location.memberships.filter(user__username="kim", is_admin=False).exists()

    def test_it_grants_and_revokes_admin_and_audits_both(self, team):
        owner, member, outsider = team
        with pytest.raises(PermissionDenied):
            set_member_admin(membership=member, admin=True, actor=outsider.user)
        with pytest.raises(PermissionDenied):
            set_member_admin(membership=owner, admin=False, actor=member.user)
        assert set_member_admin(membership=member, admin=True, actor=owner.user)
        assert set_member_admin(membership=owner, admin=False, actor=member.user)
        owner.refresh_from_db()
        assert not owner.is_admin
        actions = set(AuditEntry.objects.values_list("action", flat=True))
        assert {"location.admin_granted", "location.admin_revoked"} <= actions

    def test_it_keeps_at_least_one_active_admin(self, team):
        owner, member, _outsider = team
        with pytest.raises(ValidationError, match="at least one active admin"):
            set_member_admin(membership=owner, admin=False, actor=owner.user)
        owner.refresh_from_db()
        assert owner.is_admin
        # A second admin who was deactivated does not count.
        set_member_admin(membership=member, admin=True, actor=owner.user)
        set_member_active(membership=member, active=False, actor=owner.user)
        with pytest.raises(ValidationError, match="at least one active admin"):
            set_member_admin(membership=owner, admin=False, actor=owner.user)

    def test_a_member_cannot_deactivate_everyone_else(self, team):
        owner, member, _outsider = team
        others = LocationMembershipFactory.create_batch(2, location=owner.location)
        for colleague in [owner, *others]:
            with pytest.raises(PermissionDenied):
                set_member_active(membership=colleague, active=False, actor=member.user)
        assert owner.location.memberships.filter(user__is_active=True).count() == 4


class TestBlockedByPeerRx:
    def test_only_staff_block_and_it_is_audited(self, team):
        owner, member, outsider = team
        for actor in (owner.user, member.user, outsider.user):
            with pytest.raises(PermissionDenied):
                set_member_blocked(membership=member, blocked=True, actor=actor)
        staff = StaffUserFactory()
        assert set_member_blocked(membership=member, blocked=True, actor=staff, reason="misuse", now=NOW)
        member.refresh_from_db()
        assert (member.blocked, member.blocked_by, member.blocked_at) == (True, staff, NOW)
        entry = AuditEntry.objects.get(action="location.member_blocked")
        assert entry.actor == staff
        assert "misuse" in entry.detail
        assert not set_member_blocked(membership=member, blocked=True, actor=staff)

    def test_no_member_can_reactivate_a_blocked_member(self, team):
        owner, member, _outsider = team
        set_member_active(membership=member, active=False, actor=owner.user)
        set_member_blocked(membership=member, blocked=True, actor=StaffUserFactory())
        with pytest.raises(ValidationError, match="blocked"):
            set_member_active(membership=member, active=True, actor=owner.user)
        member.user.refresh_from_db()
        assert not member.user.is_active

    def test_a_blocked_admin_is_no_admin(self, team):
        owner, _member, _outsider = team
        set_member_blocked(membership=owner, blocked=True, actor=StaffUserFactory())
        colleague = LocationMembershipFactory(location=owner.location)
        with pytest.raises(PermissionDenied):
            set_member_active(membership=colleague, active=False, actor=owner.user)


class TestReviewQueue:
    """Staff approve or reject; a member of the organisation and an outsider cannot review."""

    def _rename(self, location, actor, name="Renamed ED"):
        from locations.services import update_location_details

        return update_location_details(
            location=location,
            actor=actor,
            name=name,
            kind=location.kind,
            address=location.address,
            county=location.county,
            timezone_name=location.timezone,
            notification_phone=str(location.notification_phone),
        )

    def test_approving_applies_the_change_through_the_details_service(self, team):
        from accounts.models import PendingChange
        from accounts.organisations import review_change

        owner, member, outsider = team
        location = owner.location
        saved = self._rename(location, member.user)
        assert (saved.changed, saved.held) == ([], ["name"])
        change = PendingChange.objects.get()
        for actor in (owner.user, outsider.user):
            with pytest.raises(PermissionDenied):
                review_change(change=change, approve=True, actor=actor)
        location.refresh_from_db()
        assert location.name != "Renamed ED"
        staff = StaffUserFactory()
        assert review_change(change=change, approve=True, actor=staff, now=NOW)
        location.refresh_from_db()
        assert location.name == "Renamed ED"
        change.refresh_from_db()
        assert (change.decision, change.reviewed_by, change.reviewed_at) == ("approved", staff, NOW)
        actions = list(AuditEntry.objects.order_by("id").values_list("action", "actor"))
        assert ("location.change_requested", member.user.pk) in actions
        assert ("location.details_changed", staff.pk) in actions
        assert ("location.change_approved", staff.pk) in actions
        assert not review_change(change=change, approve=False, actor=staff)

    def test_rejecting_leaves_the_old_value(self, team):
        from accounts.models import PendingChange
        from accounts.organisations import review_change

        owner, _member, _outsider = team
        old_name = owner.location.name
        self._rename(owner.location, owner.user)
        assert review_change(change=PendingChange.objects.get(), approve=False, actor=StaffUserFactory())
        owner.location.refresh_from_db()
        assert owner.location.name == old_name
        assert AuditEntry.objects.filter(action="location.change_rejected").exists()

    def test_a_pending_organisation_changes_at_once(self, team):
        from accounts.models import PendingChange

        owner, _member, _outsider = team
        owner.location.status = OrganisationStatus.PENDING
        owner.location.save()
        saved = self._rename(owner.location, owner.user)
        assert (saved.changed, saved.held) == (["name"], [])
        assert not PendingChange.objects.exists()

    def test_an_agencys_counties_wait_and_then_apply(self):
        from accounts.models import PendingChange
        from accounts.organisations import review_change
        from agencies.services import update_agency_details
        from tests.accounts.factories import CountyFactory

        membership = AgencyMembershipFactory(is_admin=True)
        agency = membership.agency
        before = list(agency.counties.all())
        far = CountyFactory(name="Clark", state="NV")
        saved = update_agency_details(
            agency=agency,
            actor=membership.user,
            name=agency.name,
            contact_name="New Contact",
            phone=str(agency.phone),
            email=agency.email,
            timezone_name=agency.timezone,
            counties=[*before, far],
        )
        assert (saved.changed, saved.held) == (["contact_name"], ["counties"])
        assert list(agency.counties.all()) == before
        change = PendingChange.objects.get()
        assert "Clark County, NV" in change.new_text
        review_change(change=change, approve=True, actor=StaffUserFactory())
        assert set(agency.counties.all()) == {*before, far}


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
        member = User.objects.get(username="riley")
        member.is_active = True  # as if the sign-up email's link was followed
        member.save(update_fields=["is_active"])
        client.force_login(member)
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
        settings.PEERRX_TRUSTED_PROXY_COUNT = 1
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
