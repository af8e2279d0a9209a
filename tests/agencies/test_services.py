import datetime as dt

import pytest

from accounts.models import AuditEntry, County
from agencies.services import register_agency, update_agency_details
from tests.accounts.factories import CountyFactory, StaffUserFactory
from tests.agencies.factories import AgencyFactory

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
        assert not changed
        assert (changed.changed, changed.held) == ([], [])
        assert not AuditEntry.objects.exists()
