import pytest
from django.urls import reverse

from tests.accounts.factories import CountyFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = StaffUserFactory()
    client.force_login(user)
    return user


def test_the_county_admin_searches_by_name(client, staff):
    CountyFactory(name="Orange")
    CountyFactory(name="Ulster")
    response = client.get(reverse("admin:accounts_county_changelist"), {"q": "ulster"})
    assert [str(county) for county in response.context["cl"].result_list] == ["Ulster County, NY"]


class TestMembershipBlock:
    """Staff block a member in the admin; the member's admin and an outsider cannot undo it."""

    def test_it_blocks_with_an_audit_entry_and_an_admin_message(self, client, staff):
        from accounts.models import AuditEntry
        from tests.locations.factories import LocationMembershipFactory

        membership = LocationMembershipFactory()
        response = client.post(
            reverse("admin:locations_locationmembership_changelist"),
            {"action": "block", "_selected_action": [membership.pk]},
            follow=True,
        )
        assert response.status_code == 200
        membership.refresh_from_db()
        assert (membership.blocked, membership.blocked_by) == (True, staff)
        assert AuditEntry.objects.filter(action="location.member_blocked", actor=staff).exists()

    def test_the_organisation_admin_cannot_reactivate_or_unblock(self, client, staff):
        from tests.agencies.factories import AgencyMembershipFactory

        owner = AgencyMembershipFactory(is_admin=True)
        blocked = AgencyMembershipFactory(agency=owner.agency, blocked=True, user__is_active=False)
        client.force_login(owner.user)
        client.post(reverse("agencies:supervisor_reactivate", args=[blocked.pk]))
        blocked.user.refresh_from_db()
        assert not blocked.user.is_active
        # The admin is out of the organisation admin's reach entirely.
        response = client.post(
            reverse("admin:agencies_agencymembership_changelist"),
            {"action": "unblock", "_selected_action": [blocked.pk]},
        )
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
        blocked.refresh_from_db()
        assert blocked.blocked

    def test_the_block_is_read_only_on_the_organisation_page(self, client, staff):
        from tests.locations.factories import LocationMembershipFactory

        membership = LocationMembershipFactory()
        response = client.get(reverse("admin:locations_location_change", args=[membership.location.pk]))
        formset = response.context["inline_admin_formsets"][0].formset
        assert "is_admin" in formset.forms[0].fields
        assert "blocked" not in formset.forms[0].fields


class TestReviewQueueAdmin:
    def test_staff_approve_from_the_queue(self, client, staff):
        from accounts.models import PendingChange
        from locations.services import update_location_details
        from tests.locations.factories import LocationMembershipFactory

        member = LocationMembershipFactory()
        location = member.location
        old_address = location.address
        update_location_details(
            location=location,
            actor=member.user,
            name="Renamed ED",
            kind=location.kind,
            address="2 New Street",
            county=location.county,
            timezone_name=location.timezone,
            notification_phone=str(location.notification_phone),
        )
        changelist = reverse("admin:accounts_pendingchange_changelist")
        page = client.get(changelist).content.decode()
        assert "Renamed ED" in page
        name_change = PendingChange.objects.get(field="name")
        client.post(changelist, {"action": "approve", "_selected_action": [name_change.pk]})
        client.post(
            changelist,
            {"action": "reject", "_selected_action": [PendingChange.objects.get(field="address").pk]},
        )
        location.refresh_from_db()
        assert (location.name, location.address) == ("Renamed ED", old_address)
        assert client.get(reverse("admin:accounts_pendingchange_add")).status_code == 403

    def test_a_supervisor_cannot_reach_the_queue(self, client):
        from tests.agencies.factories import AgencyMembershipFactory

        client.force_login(AgencyMembershipFactory(is_admin=True).user)
        response = client.get(reverse("admin:accounts_pendingchange_changelist"))
        assert response.status_code == 302


def test_a_membership_keeps_its_user_and_organisation_in_the_admin(client, staff):
    from tests.locations.factories import LocationMembershipFactory

    membership = LocationMembershipFactory()
    response = client.get(reverse("admin:locations_locationmembership_change", args=[membership.pk]))
    assert response.status_code == 200
    fields = set(response.context["adminform"].form.fields)
    assert "is_admin" in fields
    assert not {"user", "location", "blocked"} & fields
