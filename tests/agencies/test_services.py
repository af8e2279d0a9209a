import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import AuditEntry
from agencies.services import (
    add_agency_supervisor,
    register_agency,
    set_agency_member_active,
    suspend_agency,
    update_agency_details,
    verify_agency,
)
from core.choices import OrganisationStatus
from locations.models import County
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import CountyFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2027, 1, 4, 15, 0, tzinfo=dt.UTC)


class TestRegisterAgency:
    def test_it_creates_a_pending_agency_with_its_counties_and_supervisor(self):
        orange = CountyFactory(name="Orange")
        membership = register_agency(
            name=" New Peers ",
            contact_name="Ann Lee",
            phone="+18455550150",
            email="intake@new.example.org",
            timezone_name="America/Chicago",
            counties=[orange],
            new_counties=[("NY", "ulster")],
            first_name="Ann",
            last_name="Lee",
            member_email="ann@new.example.org",
            username="ann",
            password="a-long-passphrase-1",
        )
        agency = membership.agency
        assert (agency.name, agency.status, agency.timezone) == ("New Peers", "pending", "America/Chicago")
        assert sorted(county.name for county in agency.counties.all()) == ["Orange", "Ulster"]
        assert membership.user.check_password("a-long-passphrase-1")
        assert AuditEntry.objects.filter(action="agency.signed_up").exists()

    def test_it_refuses_an_agency_without_counties_and_saves_nothing(self):
        with pytest.raises(ValueError, match="at least one county"):
            register_agency(
                name="Nowhere Peers",
                contact_name="A",
                phone="+18455550150",
                email="a@example.org",
                timezone_name="America/New_York",
                counties=[],
                first_name="A",
                last_name="B",
                member_email="ab@example.org",
                username="ab",
                password="a-long-passphrase-1",
            )
        assert not County.objects.exists()


class TestUpdateAgencyDetails:
    def test_it_reports_nothing_changed(self):
        agency = AgencyFactory()
        changed = update_agency_details(
            agency=agency,
            actor=StaffUserFactory(),
            name=agency.name,
            contact_name=agency.contact_name,
            phone=agency.phone,
            email=agency.email,
            timezone_name=agency.timezone,
            counties=list(agency.counties.all()),
        )
        assert changed == []
        assert not AuditEntry.objects.exists()


class TestVerifyAndSuspendAgency:
    def test_it_verifies_once_with_who_and_when(self, django_capture_on_commit_callbacks):
        agency = AgencyFactory(status=OrganisationStatus.PENDING)
        AgencyMembershipFactory(agency=agency, user__email="sup@example.org")
        staff = StaffUserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            assert verify_agency(agency=agency, actor=staff, now=NOW)
            assert not verify_agency(agency=agency, actor=staff, now=NOW)
        agency.refresh_from_db()
        assert (agency.status, agency.verified_by, agency.verified_at) == ("verified", staff, NOW)
        assert AuditEntry.objects.filter(action="agency.verified").count() == 1
        assert [message.to for message in mail.outbox] == [["sup@example.org"]]

    def test_it_suspends_with_who_and_when(self):
        agency = AgencyFactory()
        staff = StaffUserFactory()
        assert suspend_agency(agency=agency, actor=staff, reason="lapsed insurance", now=NOW)
        agency.refresh_from_db()
        assert (agency.status, agency.suspended_by, agency.suspended_at) == ("suspended", staff, NOW)
        assert AuditEntry.objects.get(action="agency.suspended").detail == "lapsed insurance"


class TestSupervisors:
    def test_it_adds_a_supervisor_without_a_password_and_emails_a_link(
        self, django_capture_on_commit_callbacks
    ):
        agency = AgencyFactory(name="Link Peers")
        inviter = AgencyMembershipFactory(agency=agency).user
        with django_capture_on_commit_callbacks(execute=True):
            membership = add_agency_supervisor(
                agency=agency,
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
            set_agency_member_active(membership=membership, active=False, actor=membership.user)
        membership.user.refresh_from_db()
        assert membership.user.is_active
