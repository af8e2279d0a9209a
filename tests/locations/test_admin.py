import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry
from core.choices import OrganisationStatus
from locations.models import Location, PreferredAgency
from tests.accounts.factories import CountyFactory, OperatorFactory, StaffUserFactory
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import (
    LocationFactory,
    LocationMembershipFactory,
    PreferredAgencyFactory,
)

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:locations_location_changelist")


@pytest.fixture
def staff(client):
    user = StaffUserFactory()
    client.force_login(user)
    return user


def _location_rows(count: int) -> None:
    for n in range(count):
        location = LocationFactory(status=[OrganisationStatus.VERIFIED, OrganisationStatus.PENDING][n % 2])
        LocationMembershipFactory(location=location)
        PreferredAgencyFactory(location=location, agency__counties=[location.county], rank=1)


class TestLocationChangelist:
    def test_it_lists_pending_locations_first(self, client, staff):
        LocationFactory(name="A verified", status=OrganisationStatus.VERIFIED)
        LocationFactory(name="B suspended", status=OrganisationStatus.SUSPENDED)
        LocationFactory(name="C pending", status=OrganisationStatus.PENDING)
        response = client.get(CHANGELIST)
        names = [location.name for location in response.context["cl"].result_list]
        assert names == ["C pending", "A verified", "B suspended"]

    def test_it_filters_by_status_and_searches(self, client, staff):
        LocationFactory(name="Waiting ED", status=OrganisationStatus.PENDING)
        LocationFactory(name="Known ED", status=OrganisationStatus.VERIFIED)
        pending = client.get(CHANGELIST, {"status__exact": "pending"}).context["cl"].result_list
        assert [location.name for location in pending] == ["Waiting ED"]
        found = client.get(CHANGELIST, {"q": "known"}).context["cl"].result_list
        assert [location.name for location in found] == ["Known ED"]

    def test_it_does_not_query_per_row(self, client, staff, django_assert_max_num_queries):
        _location_rows(2)
        with CaptureQueriesContext(connection) as few:
            assert client.get(CHANGELIST).status_code == 200
        _location_rows(8)
        with django_assert_max_num_queries(len(few)):
            response = client.get(CHANGELIST)
        assert len(response.context["cl"].result_list) == 10

    def test_it_opens_a_location_with_its_inlines(self, client, staff):
        location = LocationFactory()
        LocationMembershipFactory(location=location, user__first_name="Inline", user__last_name="Nurse")
        PreferredAgencyFactory(
            location=location, agency__counties=[location.county], agency__name="Inline Peers"
        )
        html = client.get(reverse("admin:locations_location_change", args=[location.pk])).content.decode()
        assert "Inline Nurse" in html
        assert "Inline Peers" in html


class TestVerifyAndSuspendActions:
    def test_it_verifies_with_who_when_audit_and_admin_log(self, client, staff):
        pending = LocationFactory(status=OrganisationStatus.PENDING)
        response = client.post(CHANGELIST, {"action": "verify", ACTION_CHECKBOX_NAME: [pending.pk]})
        assert response.status_code == 302
        pending.refresh_from_db()
        assert pending.status == OrganisationStatus.VERIFIED
        assert pending.verified_by == staff
        assert pending.verified_at is not None
        audit = AuditEntry.objects.get(action="location.verified")
        assert (audit.actor, audit.target_id) == (staff, str(pending.pk))
        log = LogEntry.objects.get(object_id=str(pending.pk))
        assert (log.user_id, log.action_flag) == (staff.pk, CHANGE)
        assert "Verified" in log.get_change_message()

    def test_it_suspends_and_leaves_already_suspended_ones_alone(self, client, staff):
        verified = LocationFactory(status=OrganisationStatus.VERIFIED)
        suspended = LocationFactory(status=OrganisationStatus.SUSPENDED)
        response = client.post(
            CHANGELIST, {"action": "suspend", ACTION_CHECKBOX_NAME: [verified.pk, suspended.pk]}, follow=True
        )
        assert "1 already suspended" in response.content.decode()
        verified.refresh_from_db()
        assert (verified.status, verified.suspended_by) == (OrganisationStatus.SUSPENDED, staff)
        assert AuditEntry.objects.filter(action="location.suspended").count() == 1
        assert LogEntry.objects.count() == 1

    def test_it_does_not_let_staff_edit_the_status_directly(self, client, staff):
        location = LocationFactory(status=OrganisationStatus.PENDING)
        response = client.get(reverse("admin:locations_location_change", args=[location.pk]))
        assert "status" not in response.context["adminform"].form.fields


class TestPreferredAgencyInline:
    @pytest.fixture
    def staff(self, client):
        """Ranking for a location is an operator's job: the staff group only reads the ranking."""
        user = OperatorFactory()
        client.force_login(user)
        return user

    def _post(self, client, location, rows):
        prefix = "agency_preferences"
        existing = list(PreferredAgency.objects.filter(location=location).order_by("rank"))
        data = {
            "name": location.name,
            "kind": location.kind,
            "address": location.address,
            "county": location.county_id,
            "timezone": location.timezone,
            "notification_phone": str(location.notification_phone),
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
            f"{prefix}-TOTAL_FORMS": len(rows),
            f"{prefix}-INITIAL_FORMS": len(existing),
        }
        for index, (agency, rank) in enumerate(rows):
            data[f"{prefix}-{index}-agency"] = agency.pk
            data[f"{prefix}-{index}-rank"] = rank
            data[f"{prefix}-{index}-location"] = location.pk
            if index < len(existing):
                data[f"{prefix}-{index}-id"] = existing[index].pk
        return client.post(reverse("admin:locations_location_change", args=[location.pk]), data)

    def test_it_lets_staff_swap_two_ranks(self, client, staff):
        location = LocationFactory()
        first, second = AgencyFactory.create_batch(2, counties=[location.county])
        PreferredAgencyFactory(location=location, agency=first, rank=1)
        PreferredAgencyFactory(location=location, agency=second, rank=2)
        response = self._post(client, location, [(first, 2), (second, 1)])
        assert response.status_code == 302, response.context["inline_admin_formsets"][1].formset.errors
        ranking = list(PreferredAgency.objects.filter(location=location).values_list("agency", "rank"))
        assert ranking == [(second.pk, 1), (first.pk, 2)]

    def test_it_refuses_an_agency_that_does_not_serve_the_county(self, client, staff):
        location = LocationFactory()
        far = AgencyFactory(name="Far Peers", counties=[CountyFactory(name="Erie")])
        response = self._post(client, location, [(far, 1)])
        assert response.status_code == 200
        assert "Far Peers does not serve" in response.content.decode()
        assert not PreferredAgency.objects.exists()

    def test_it_refuses_the_same_agency_twice(self, client, staff):
        location = LocationFactory()
        agency = AgencyFactory(counties=[location.county])
        response = self._post(client, location, [(agency, 1), (agency, 2)])
        assert response.status_code == 200
        assert not PreferredAgency.objects.exists()


def test_locations_are_only_verified_by_staff(client):
    """A location member cannot reach the admin at all."""
    member = LocationMembershipFactory(location__status=OrganisationStatus.PENDING)
    client.force_login(member.user)
    client.post(CHANGELIST, {"action": "verify", ACTION_CHECKBOX_NAME: [member.location.pk]})
    assert Location.objects.get().status == OrganisationStatus.PENDING


def test_it_lets_the_staff_group_save_a_location_without_touching_its_ranking(client, staff):
    location = LocationFactory(name="Old Name")
    first = AgencyFactory(counties=[location.county])
    PreferredAgencyFactory(location=location, agency=first, rank=1)
    response = TestPreferredAgencyInline._post(None, client, location, [(first, 2)])
    assert response.status_code == 302
    assert list(PreferredAgency.objects.filter(location=location).values_list("rank", flat=True)) == [1]
