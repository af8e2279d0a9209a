import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import AuditEntry
from core.choices import OrganisationStatus
from locations.models import County, PreferredAgency
from locations.services import (
    get_or_create_county,
    replace_preferred_agencies,
    suspend_location,
    verify_location,
)
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import (
    CountyFactory,
    LocationFactory,
    LocationMembershipFactory,
    PreferredAgencyFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 15, 0, tzinfo=dt.UTC)


class TestGetOrCreateCounty:
    def test_it_finds_a_county_whatever_the_case_and_suffix(self):
        orange = CountyFactory(name="Orange", state="NY")
        assert get_or_create_county(state="ny", name=" orange  county ") == orange
        assert County.objects.count() == 1

    def test_it_creates_a_new_county_with_a_capital(self):
        county = get_or_create_county(state="NY", name="dutchess")
        assert (county.name, county.state) == ("Dutchess", "NY")


class TestVerifyLocation:
    def test_it_verifies_a_pending_location_and_records_who_and_when(
        self, django_capture_on_commit_callbacks
    ):
        location = LocationFactory(status=OrganisationStatus.PENDING)
        member = LocationMembershipFactory(location=location, user__email="nurse@example.org")
        staff = StaffUserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            assert verify_location(location=location, actor=staff, now=NOW)
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
        assert not verify_location(location=location, actor=StaffUserFactory(), now=NOW)
        assert not AuditEntry.objects.exists()

    def test_it_clears_a_suspension_when_verified_again(self):
        location = LocationFactory(status=OrganisationStatus.PENDING)
        staff = StaffUserFactory()
        suspend_location(location=location, actor=staff, reason="duplicate sign-up", now=NOW)
        location.refresh_from_db()
        assert location.status == OrganisationStatus.SUSPENDED
        assert (location.suspended_by, location.suspended_at) == (staff, NOW)
        assert AuditEntry.objects.get(action="location.suspended").detail == "duplicate sign-up"
        verify_location(location=location, actor=staff, now=NOW + dt.timedelta(hours=1))
        location.refresh_from_db()
        assert location.status == OrganisationStatus.VERIFIED
        assert location.suspended_by is None
        assert location.suspended_at is None

    def test_it_suspends_once(self):
        location = LocationFactory()
        staff = StaffUserFactory()
        assert suspend_location(location=location, actor=staff, now=NOW)
        assert not suspend_location(location=location, actor=staff, now=NOW)
        assert AuditEntry.objects.filter(action="location.suspended").count() == 1


class TestReplacePreferredAgencies:
    @pytest.fixture
    def location(self):
        return LocationFactory()

    @pytest.fixture
    def agencies(self, location):
        return AgencyFactory.create_batch(3, counties=[location.county])

    def test_it_ranks_in_the_given_order(self, location, agencies):
        a, _b, c = agencies
        PreferredAgencyFactory(location=location, agency=a, rank=1)
        rows = replace_preferred_agencies(location=location, agencies=[c, a], actor=StaffUserFactory())
        assert [(row.rank, row.agency) for row in rows] == [(1, c), (2, a)]
        assert list(PreferredAgency.objects.filter(location=location).values_list("agency", "rank")) == [
            (c.pk, 1),
            (a.pk, 2),
        ]

    @pytest.mark.parametrize("problem", ["duplicate", "pending", "other-county"])
    def test_it_refuses_a_bad_list_and_keeps_the_old_one(self, location, agencies, problem):
        a, b, _c = agencies
        PreferredAgencyFactory(location=location, agency=a, rank=1)
        bad = {
            "duplicate": [b, b],
            "pending": [b, AgencyFactory(status=OrganisationStatus.PENDING, counties=[location.county])],
            "other-county": [b, AgencyFactory(counties=[CountyFactory(name="Erie")])],
        }[problem]
        with pytest.raises(ValidationError):
            replace_preferred_agencies(location=location, agencies=bad, actor=StaffUserFactory())
        assert list(PreferredAgency.objects.filter(location=location).values_list("agency", flat=True)) == [
            a.pk
        ]
