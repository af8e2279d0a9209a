import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import AuditEntry
from accounts.organisations import invite_member, set_member_active, suspend_organisation, verify_organisation
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
