import datetime as dt

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from peers.models import AvailabilityWindow, Credential
from tests.accounts.factories import OperatorFactory, StaffUserFactory
from tests.agencies.factories import AgencyFactory
from tests.peers.factories import (
    AvailabilityWindowFactory,
    CredentialFactory,
    PeerFactory,
    language,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def many_peers(count: int) -> None:
    reviewer = StaffUserFactory()
    for index in range(count):
        peer = PeerFactory(agency=AgencyFactory(), opted_out_at=timezone.now() if index % 2 else None)
        peer.languages.add(language("en"), language("es"))
        CredentialFactory(peer=peer, status=Credential.Status.PENDING)
        CredentialFactory(peer=peer, validated_by=reviewer, validated_at=timezone.now())


class TestChangelists:
    @pytest.mark.parametrize(
        "url",
        [
            "admin:peers_peer_changelist",
            "admin:peers_credential_changelist",
            "admin:peers_credentialtype_changelist",
            "admin:peers_language_changelist",
        ],
    )
    def test_it_does_not_run_a_query_per_row(self, admin_client, url, django_assert_max_num_queries):
        many_peers(2)
        with django_assert_max_num_queries(20) as few:
            assert admin_client.get(reverse(url)).status_code == 200
        few_count = len(few.captured_queries)
        many_peers(8)
        with django_assert_max_num_queries(few_count):
            assert admin_client.get(reverse(url)).status_code == 200

    def test_the_peer_changelist_filters_by_opt_out(self, admin_client):
        opted_out = PeerFactory(last_name="Stopped", opted_out_at=timezone.now())
        PeerFactory(last_name="Texting")
        page = admin_client.get(reverse("admin:peers_peer_changelist") + "?opted_out=yes").content.decode()
        assert opted_out.last_name in page and "Texting" not in page

    def test_the_credential_changelist_filters_pending(self, admin_client):
        CredentialFactory(number="PENDING-1", status=Credential.Status.PENDING)
        CredentialFactory(number="DONE-1")
        page = admin_client.get(
            reverse("admin:peers_credential_changelist") + "?status__exact=pending"
        ).content.decode()
        assert "PENDING-1" in page and "DONE-1" not in page

    def test_the_credential_changelist_filters_expiring_within_30_days(self, admin_client):
        today = timezone.localdate()
        CredentialFactory(
            number="SOON-1", issued_on=dt.date(2020, 1, 1), expires_on=today + dt.timedelta(days=20)
        )
        CredentialFactory(
            number="LATER-1", issued_on=dt.date(2020, 1, 1), expires_on=today + dt.timedelta(days=90)
        )
        CredentialFactory(
            number="GONE-1", issued_on=dt.date(2020, 1, 1), expires_on=today - dt.timedelta(days=1)
        )
        page = admin_client.get(reverse("admin:peers_credential_changelist") + "?expiry=30").content.decode()
        assert "SOON-1" in page and "LATER-1" not in page and "GONE-1" not in page
        page = admin_client.get(
            reverse("admin:peers_credential_changelist") + "?expiry=expired"
        ).content.decode()
        assert "GONE-1" in page and "SOON-1" not in page


class TestCredentialActions:
    @pytest.mark.parametrize(
        ("action", "status", "audit"),
        [
            ("validate_selected", Credential.Status.VALIDATED, "credential.validated"),
            ("reject_selected", Credential.Status.REJECTED, "credential.rejected"),
        ],
    )
    def test_it_reviews_with_who_and_when_in_the_audit_and_the_admin_log(
        self, admin_client, staff_user, action, status, audit
    ):
        credentials = [CredentialFactory(status=Credential.Status.PENDING) for _ in range(2)]
        untouched = CredentialFactory(status=Credential.Status.PENDING)
        response = admin_client.post(
            reverse("admin:peers_credential_changelist"),
            {"action": action, "_selected_action": [c.pk for c in credentials]},
        )
        assert response.status_code == 302
        for credential in credentials:
            credential.refresh_from_db()
            assert (credential.status, credential.validated_by) == (status, staff_user)
            assert credential.validated_at is not None
            assert LogEntry.objects.filter(
                object_id=str(credential.pk), action_flag=CHANGE, user=staff_user
            ).exists()
        assert AuditEntry.objects.filter(action=audit, actor=staff_user).count() == 2
        untouched.refresh_from_db()
        assert untouched.status == Credential.Status.PENDING


class TestCredentialChangePage:
    def test_it_links_the_document_through_the_download_view_only(self, admin_client, credential):
        page = admin_client.get(
            reverse("admin:peers_credential_change", args=[credential.pk])
        ).content.decode()
        assert reverse("peers:credential_document", args=[credential.pk]) in page
        assert credential.document.name not in page

    def test_status_cannot_be_edited_in_the_form(self, admin_client, credential):
        page = admin_client.get(
            reverse("admin:peers_credential_change", args=[credential.pk])
        ).content.decode()
        assert 'name="status"' not in page


def inline_management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


class TestPeerChangePage:
    @pytest.fixture
    def staff_user(self, db):
        """Editing a peer in the admin is for operators: the staff group only reads peers."""
        return OperatorFactory()

    def test_it_shows_credentials_windows_and_overrides_inline(
        self, admin_client, peer, credential, override
    ):
        AvailabilityWindowFactory(peer=peer)
        page = admin_client.get(reverse("admin:peers_peer_change", args=[peer.pk])).content.decode()
        assert 'id="credentials-group"' in page
        assert 'id="windows-group"' in page
        assert 'id="overrides-group"' in page

    def post_inlines(self, admin_client, peer, *, windows=(), overrides=()):
        data = {
            "agency": peer.agency_id,
            "first_name": peer.first_name,
            "last_name": peer.last_name,
            "phone": str(peer.phone),
            "age_range": peer.age_range,
            "gender": peer.gender,
            "is_active": "on",
            **inline_management("credentials", 0, 0),
            **inline_management("overrides", len(overrides), 0),
            **inline_management("windows", len(windows), 0),
        }
        for index, (starts_at, ends_at, is_available) in enumerate(overrides):
            data.update(
                {
                    f"overrides-{index}-starts_at_0": starts_at[0],
                    f"overrides-{index}-starts_at_1": starts_at[1],
                    f"overrides-{index}-ends_at_0": ends_at[0],
                    f"overrides-{index}-ends_at_1": ends_at[1],
                    f"overrides-{index}-is_available": "on" if is_available else "",
                    f"overrides-{index}-source": "supervisor",
                    f"overrides-{index}-reason": "set by Peer-RX",
                    f"overrides-{index}-peer": peer.pk,
                }
            )
        for index, (weekday, start, end) in enumerate(windows):
            data.update(
                {
                    f"windows-{index}-weekday": weekday,
                    f"windows-{index}-start": start,
                    f"windows-{index}-end": end,
                    f"windows-{index}-peer": peer.pk,
                }
            )
        return admin_client.post(reverse("admin:peers_peer_change", args=[peer.pk]), data)

    def test_it_refuses_overlapping_windows(self, admin_client, peer):
        response = self.post_inlines(
            admin_client, peer, windows=[("0", "09:00", "17:00"), ("0", "12:00", "18:00")]
        )
        assert response.status_code == 200
        assert "overlaps" in response.content.decode()
        assert not AvailabilityWindow.objects.filter(peer=peer).exists()

    def test_it_saves_good_windows_and_audits_them(self, admin_client, peer, staff_user):
        response = self.post_inlines(
            admin_client, peer, windows=[("4", "22:00", "06:00"), ("5", "06:00", "12:00")]
        )
        assert response.status_code == 302
        assert AvailabilityWindow.objects.filter(peer=peer).count() == 2
        assert AuditEntry.objects.filter(action="peer.hours_set", actor=staff_user).exists()

    def test_an_override_added_inline_records_who_set_it(self, admin_client, peer, staff_user):
        response = self.post_inlines(
            admin_client, peer, overrides=[(("2026-01-05", "09:00:00"), ("2026-01-05", "17:00:00"), False)]
        )
        assert response.status_code == 302, response.content.decode()[-3000:]
        override = peer.overrides.get()
        assert (override.created_by, override.is_available) == (staff_user, False)
        assert AuditEntry.objects.filter(action="override.set", actor=staff_user).exists()


class TestEditingAReviewedCredential:
    def change_data(self, credential: Credential, **overrides) -> dict:
        data = {
            "peer": credential.peer_id,
            "type": credential.type_id,
            "number": credential.number,
            "issued_on": credential.issued_on.isoformat(),
            "expires_on": credential.expires_on.isoformat() if credential.expires_on else "",
            "review_note": credential.review_note,
        }
        return data | overrides

    def test_a_new_number_sends_a_validated_credential_back_for_validation(self, admin_client, staff_user):
        credential = CredentialFactory(validated_by=staff_user, validated_at=timezone.now())
        assert credential.status == Credential.Status.VALIDATED
        response = admin_client.post(
            reverse("admin:peers_credential_change", args=[credential.pk]),
            self.change_data(credential, number="CRPA-99999"),
        )
        assert response.status_code == 302
        credential.refresh_from_db()
        assert (credential.number, credential.status, credential.validated_by) == (
            "CRPA-99999",
            Credential.Status.PENDING,
            None,
        )
        entry = AuditEntry.objects.get(action="credential.updated", target_id=str(credential.pk))
        assert "number" in entry.detail and "back to pending" in entry.detail
        changed = AuditEntry.objects.get(action="admin.changed", target_id=str(credential.pk))
        assert changed.actor == staff_user
        assert "Certificate number" in changed.detail

    def test_a_note_alone_keeps_it_validated(self, admin_client, staff_user):
        credential = CredentialFactory(validated_by=staff_user, validated_at=timezone.now())
        admin_client.post(
            reverse("admin:peers_credential_change", args=[credential.pk]),
            self.change_data(credential, review_note="checked by phone"),
        )
        credential.refresh_from_db()
        assert credential.status == Credential.Status.VALIDATED

    def test_a_new_type_in_the_peers_inline_sends_it_back_too(self, client, staff_user):
        from tests.peers.factories import credential_type

        # Editing a peer in the admin is for operators: the staff group only reads peers.
        admin_client = client
        admin_client.force_login(OperatorFactory())

        credential = CredentialFactory(validated_by=staff_user, validated_at=timezone.now())
        peer = credential.peer
        other_type = credential_type("NYCPS")
        data = {
            "first_name": peer.first_name,
            "last_name": peer.last_name,
            "agency": peer.agency_id,
            "phone": str(peer.phone),
            "is_active": "on",
            "age_range": peer.age_range,
            "gender": peer.gender,
            **inline_management("credentials", 1, 1),
            "credentials-0-id": credential.pk,
            "credentials-0-peer": peer.pk,
            "credentials-0-type": other_type.pk,
            "credentials-0-number": credential.number,
            "credentials-0-issued_on": credential.issued_on.isoformat(),
            "credentials-0-expires_on": credential.expires_on.isoformat() if credential.expires_on else "",
            **inline_management("windows", 0, 0),
            **inline_management("overrides", 0, 0),
        }
        data.update({"languages": [lang.pk for lang in peer.languages.all()]})
        response = admin_client.post(reverse("admin:peers_peer_change", args=[peer.pk]), data)
        assert response.status_code == 302, (
            response.context["adminform"].form.errors if response.context else ""
        )
        credential.refresh_from_db()
        assert (credential.type, credential.status) == (other_type, Credential.Status.PENDING)


class TestAccessibleAdmin:
    @pytest.fixture
    def staff_user(self, db):
        """The peer page's inputs are an operator's: the staff group only reads peers."""
        return OperatorFactory()

    def test_every_inline_field_on_the_peer_page_is_named_by_its_row(self, admin_client):
        peer = PeerFactory()
        CredentialFactory(peer=peer)
        AvailabilityWindowFactory(peer=peer)
        AvailabilityWindowFactory(peer=peer, weekday=1)
        page = admin_client.get(reverse("admin:peers_peer_change", args=[peer.pk])).content.decode()
        for name in ("Weekday, row 1", "Weekday, row 2", "Start, row 2", "End, row 1", "Delete, row 1"):
            assert f'aria-label="{name}"' in page, name
        assert 'aria-label="Type, row 1"' in page  # the credential's

    def test_the_peers_date_and_time_inputs_each_have_a_name(self, admin_client):
        peer = PeerFactory()
        page = admin_client.get(reverse("admin:peers_peer_change", args=[peer.pk])).content.decode()
        assert 'aria-label="Opted out at, date"' in page
        assert 'aria-label="Opted out at, time"' in page

    def test_the_credential_list_shows_status_right_after_the_peer(self, admin_client):
        CredentialFactory(status=Credential.Status.PENDING)
        response = admin_client.get(reverse("admin:peers_credential_changelist"))
        assert list(response.context["cl"].list_display)[:3] == ["action_checkbox", "peer", "status"]

    def test_the_admin_loads_peer_rxs_stylesheet_and_script(self, admin_client):
        page = admin_client.get(reverse("admin:index")).content.decode()
        assert "css/admin.css" in page and "js/admin-a11y.js" in page
