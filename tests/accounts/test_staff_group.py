"""The "Peer-RX staff" group: exactly the listed permissions, and what it shows in the admin."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.staff_group import PERMISSION_NAMES, PERMISSIONS, STAFF_GROUP, sync_staff_group
from demo.seed import seed_demo
from tests.accounts.factories import OperatorFactory, StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.peers.factories import PeerFactory

pytestmark = pytest.mark.django_db


def group_permissions() -> set[str]:
    group = Group.objects.get(name=STAFF_GROUP)
    permissions = group.permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


def test_the_migration_gives_the_group_exactly_the_listed_permissions():
    assert group_permissions() == PERMISSION_NAMES
    assert len(PERMISSIONS) == len(PERMISSION_NAMES)  # each listed once, each with its reason
    assert all(why for _name, why in PERMISSIONS)


def test_syncing_removes_a_permission_added_by_hand():
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name=STAFF_GROUP)
    group.permissions.add(Permission.objects.get(codename="delete_peer"))
    sync_staff_group()
    assert group_permissions() == PERMISSION_NAMES


def test_the_group_cannot_delete_or_grant_anything():
    names = group_permissions()
    assert not any(name.split(".")[1].startswith("delete_") for name in names)
    assert not {"auth.change_group", "auth.change_permission", "accounts.change_auditentry"} & names


def test_the_demo_staff_user_is_a_group_member_and_no_superuser():
    seed_demo()
    from accounts.models import User

    staff = User.objects.get(username="staff")
    assert staff.is_staff and not staff.is_superuser
    assert staff.groups.filter(name=STAFF_GROUP).exists()
    assert not User.objects.filter(is_superuser=True).exists()


class TestTheAdminShowsWhatTheGroupAllows:
    """Three users: a staff member (the group), an operator (superuser), a supervisor (no admin)."""

    def test_staff_reach_the_credentials_but_not_the_heartbeats(self, client):
        client.force_login(StaffUserFactory())
        assert client.get(reverse("admin:peers_credential_changelist")).status_code == 200
        assert client.get(reverse("admin:peer_requests_heartbeat_changelist")).status_code == 403
        index = client.get(reverse("admin:index")).content.decode()
        assert "Credentials" in index
        assert "Heartbeats" not in index
        assert "Groups" not in index

    def test_staff_read_a_peer_but_cannot_change_or_delete_one(self, client):
        peer = PeerFactory()
        client.force_login(StaffUserFactory())
        url = reverse("admin:peers_peer_change", args=[peer.pk])
        assert client.get(url).status_code == 200
        assert client.post(url, {"first_name": "Changed"}).status_code == 403
        assert client.get(reverse("admin:peers_peer_delete", args=[peer.pk])).status_code == 403
        peer.refresh_from_db()
        assert peer.first_name != "Changed"

    def test_staff_cannot_make_themselves_superusers(self, client):
        staff = StaffUserFactory()
        client.force_login(staff)
        response = client.get(reverse("admin:accounts_user_change", args=[staff.pk]))
        assert response.status_code == 200
        form_fields = set(response.context["adminform"].form.fields)
        assert not {"is_superuser", "groups", "user_permissions", "is_staff"} & form_fields
        assert "email" in form_fields

    def test_operators_reach_everything(self, client):
        client.force_login(OperatorFactory())
        assert client.get(reverse("admin:peer_requests_heartbeat_changelist")).status_code == 200
        response = client.get(reverse("admin:accounts_user_change", args=[UserFactory().pk]))
        form = response.context["adminform"].form
        assert "is_superuser" in form.fields

    def test_supervisors_do_not_reach_the_admin(self, client):
        client.force_login(AgencyMembershipFactory().user)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))

    def test_staff_pages_still_open_to_group_members(self, client):
        client.force_login(StaffUserFactory())
        assert client.get(reverse("staff:follow_ups")).status_code == 200
        assert client.get(reverse("reporting:staff")).status_code == 200
