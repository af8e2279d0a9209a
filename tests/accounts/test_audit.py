"""One audit trail: where from, append-only, admin edits, logins, filters and the CSV export."""

import csv
import io

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import AuditEntry, County, User
from accounts.request_context import current_origin, origin_of
from accounts.services import record_audit
from tests.accounts.factories import CountyFactory, OperatorFactory, StaffUserFactory, UserFactory
from tests.locations.factories import LocationMembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    # An operator: the one role that may add, change and delete anything in the admin.
    staff = OperatorFactory()
    client.force_login(staff)
    client.staff = staff
    return client


class TestOrigin:
    def test_it_records_the_address_and_browser_of_the_request_without_callers_passing_them(self):
        county = CountyFactory()
        request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox/140")
        token = current_origin.set(origin_of(request))
        try:
            entry = record_audit(actor=None, action="test.done", target=county)
        finally:
            current_origin.reset(token)
        assert (entry.ip, entry.user_agent) == ("203.0.113.9", "Firefox/140")

    def test_it_records_neither_outside_a_request(self):
        entry = record_audit(actor=None, action="test.done", target=CountyFactory())
        assert (entry.ip, entry.user_agent) == (None, "")

    def test_it_takes_the_client_from_a_trusted_proxy(self, settings):
        settings.PEERRX_TRUSTED_PROXY_COUNT = 1
        request = RequestFactory().get(
            "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.20"
        )
        assert origin_of(request).ip == "198.51.100.20"

    def test_it_ignores_forwarded_for_without_a_trusted_proxy(self, settings):
        settings.PEERRX_TRUSTED_PROXY_COUNT = 0
        request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6")
        assert origin_of(request).ip == "10.0.0.2"


class TestAppendOnly:
    def test_an_entry_cannot_be_changed_or_deleted_through_the_application(self):
        entry = record_audit(actor=None, action="test.done", target=CountyFactory())
        entry.detail = "rewritten"
        with pytest.raises(PermissionDenied):
            entry.save()
        with pytest.raises(PermissionDenied):
            entry.delete()
        with pytest.raises(PermissionDenied):
            AuditEntry.objects.filter(pk=entry.pk).update(detail="rewritten")
        with pytest.raises(PermissionDenied):
            AuditEntry.objects.all().delete()
        assert AuditEntry.objects.get(pk=entry.pk).detail == ""

    def test_deleting_a_user_keeps_their_entries(self):
        user = UserFactory()
        entry = record_audit(actor=user, action="test.done", target=CountyFactory())
        user.delete()
        entry.refresh_from_db()
        assert entry.actor is None

    def test_nobody_adds_changes_or_deletes_entries_in_the_admin(self, staff_client):
        entry = record_audit(actor=None, action="test.done", target=CountyFactory())
        model_admin = admin.site._registry[AuditEntry]
        request = RequestFactory().get("/")
        request.user = staff_client.staff
        assert staff_client.staff.is_superuser
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, entry)
        assert not model_admin.has_delete_permission(request, entry)
        assert "delete_selected" not in model_admin.get_actions(request)


class TestAdminEdits:
    def test_every_add_change_and_delete_in_the_admin_is_audited_with_the_fields(self, staff_client):
        staff_client.post(reverse("admin:accounts_county_add"), {"name": "Ulster", "state": "NY"})
        county = County.objects.get(name="Ulster")
        staff_client.post(
            reverse("admin:accounts_county_change", args=[county.pk]), {"name": "Sullivan", "state": "NY"}
        )
        staff_client.post(reverse("admin:accounts_county_delete", args=[county.pk]), {"post": "yes"})
        entries = AuditEntry.objects.filter(target_type="accounts.county", target_id=str(county.pk)).order_by(
            "pk"
        )
        assert [e.action for e in entries] == ["admin.added", "admin.changed", "admin.deleted"]
        assert all(e.actor == staff_client.staff for e in entries)
        assert "Name" in entries[1].detail

    def test_a_users_active_flag_changed_in_the_admin_is_audited(self, staff_client):
        nurse = LocationMembershipFactory().user
        data = {
            "username": nurse.username,
            "first_name": nurse.first_name,
            "last_name": nurse.last_name,
            "email": nurse.email,
            "phone": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "10:00:00",
        }
        response = staff_client.post(reverse("admin:accounts_user_change", args=[nurse.pk]), data)
        assert response.status_code == 302
        nurse.refresh_from_db()
        assert nurse.is_active is False
        entry = AuditEntry.objects.get(action="admin.changed", target_id=str(nurse.pk))
        assert "Active" in entry.detail


class TestLogins:
    def test_successful_and_failed_logins_are_kept(self, client):
        user = UserFactory(username="nurse")
        client.post(reverse("login"), {"username": "nurse", "password": "wrong"}, REMOTE_ADDR="198.51.100.4")
        client.post(reverse("login"), {"username": "nobody", "password": "wrong"})
        client.post(reverse("login"), {"username": "nurse", "password": "correct-horse-battery"})
        entries = list(AuditEntry.objects.filter(action__startswith="login.").order_by("pk"))
        assert [(e.action, e.target_repr) for e in entries] == [
            ("login.failed", "nurse"),
            ("login.failed", "nobody"),
            ("login.succeeded", str(user)),
        ]
        assert entries[0].target_id == str(user.pk)
        assert entries[0].ip == "198.51.100.4"
        assert entries[1].detail == "no such user"


class TestFilterAndExport:
    def test_staff_filter_by_action_actor_and_target(self, staff_client):
        county = CountyFactory()
        other = UserFactory()
        record_audit(actor=staff_client.staff, action="county.checked", target=county)
        record_audit(actor=other, action="county.checked", target=county)
        record_audit(actor=other, action="other.thing", target=other)
        url = reverse("admin:accounts_auditentry_changelist")
        by_action = staff_client.get(url, {"action": "county.checked"}).context["cl"].result_list
        assert {e.actor for e in by_action} == {staff_client.staff, other}
        by_actor = staff_client.get(url, {"actor": str(other.pk)}).context["cl"].result_list
        assert {e.action for e in by_actor} == {"county.checked", "other.thing"}
        by_target = staff_client.get(url, {"target_type": "accounts.county"}).context["cl"].result_list
        assert len(by_target) == 2
        by_date = (
            staff_client.get(
                url, {"at__gte": "2000-01-01T00:00:00+00:00", "at__lt": "2000-01-02T00:00:00+00:00"}
            )
            .context["cl"]
            .result_list
        )
        assert len(by_date) == 0

    def test_staff_export_the_selection_as_formula_safe_csv(self, staff_client):
        target = UserFactory(first_name="=HYPERLINK(1)", last_name="x")
        entry = record_audit(
            actor=staff_client.staff, action="user.checked", target=target, detail="@SUM(A1)"
        )
        response = staff_client.post(
            reverse("admin:accounts_auditentry_changelist"),
            {"action": "download_csv", "_selected_action": [entry.pk]},
        )
        assert response["Content-Type"].startswith("text/csv")
        assert "no-store" in response["Cache-Control"]
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][:3] == ["when (UTC)", "action", "actor"]
        assert rows[1][5].startswith("'=HYPERLINK")
        assert rows[1][6] == "'@SUM(A1)"

    def test_only_staff_reach_the_trail(self, client):
        owner = StaffUserFactory()
        member = LocationMembershipFactory().user
        outsider = UserFactory()
        url = reverse("admin:accounts_auditentry_changelist")
        for user, allowed in ((owner, True), (member, False), (outsider, False)):
            client.force_login(user)
            assert (client.get(url).status_code == 200) is allowed
            client.logout()
        assert User.objects.count() >= 3
