import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry
from core.choices import OrganisationStatus
from tests.accounts.factories import CountyFactory, StaffUserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:agencies_agency_changelist")


@pytest.fixture
def staff(client):
    user = StaffUserFactory()
    client.force_login(user)
    return user


def _agency_rows(count: int) -> None:
    for n in range(count):
        agency = AgencyFactory(
            status=[OrganisationStatus.PENDING, OrganisationStatus.VERIFIED][n % 2],
            counties=[CountyFactory(name="Orange"), CountyFactory(name=f"County {n}")],
        )
        AgencyMembershipFactory(agency=agency)


class TestAgencyChangelist:
    def test_it_does_not_query_per_row(self, client, staff, django_assert_max_num_queries):
        _agency_rows(2)
        with CaptureQueriesContext(connection) as few:
            assert client.get(CHANGELIST).status_code == 200
        _agency_rows(8)
        with django_assert_max_num_queries(len(few)):
            response = client.get(CHANGELIST)
        assert len(response.context["cl"].result_list) == 10
        assert "County 3, NY; Orange, NY" in response.content.decode()

    def test_it_lists_pending_agencies_first_and_filters_by_status(self, client, staff):
        AgencyFactory(name="A verified")
        AgencyFactory(name="Z pending", status=OrganisationStatus.PENDING)
        names = [agency.name for agency in client.get(CHANGELIST).context["cl"].result_list]
        assert names == ["Z pending", "A verified"]
        pending = client.get(CHANGELIST, {"status__exact": "pending"}).context["cl"].result_list
        assert [agency.name for agency in pending] == ["Z pending"]

    def test_it_opens_an_agency_with_its_supervisors(self, client, staff):
        membership = AgencyMembershipFactory(user__first_name="Inline", user__last_name="Supervisor")
        html = client.get(
            reverse("admin:agencies_agency_change", args=[membership.agency.pk])
        ).content.decode()
        assert "Inline Supervisor" in html


class TestActions:
    def test_it_verifies_pending_agencies_with_audit_and_admin_log(self, client, staff):
        pending = AgencyFactory(status=OrganisationStatus.PENDING)
        client.post(CHANGELIST, {"action": "verify", ACTION_CHECKBOX_NAME: [pending.pk]})
        pending.refresh_from_db()
        assert (pending.status, pending.verified_by) == (OrganisationStatus.VERIFIED, staff)
        assert AuditEntry.objects.get(action="agency.verified").actor == staff
        assert LogEntry.objects.get(object_id=str(pending.pk)).user == staff

    def test_it_suspends_agencies(self, client, staff):
        agency = AgencyFactory()
        client.post(CHANGELIST, {"action": "suspend", ACTION_CHECKBOX_NAME: [agency.pk]})
        agency.refresh_from_db()
        assert (agency.status, agency.suspended_by) == (OrganisationStatus.SUSPENDED, staff)
        assert AuditEntry.objects.filter(action="agency.suspended").exists()
