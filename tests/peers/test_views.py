import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import AuditEntry
from peers.forms import MAX_WINDOWS
from peers.models import AvailabilityOverride, Credential, Peer
from tests.peers.conftest import PNG, pdf_upload
from tests.peers.factories import (
    AvailabilityOverrideFactory,
    AvailabilityWindowFactory,
    CredentialFactory,
    PeerFactory,
    always_available,
    credential_type,
    language,
)

pytestmark = pytest.mark.django_db


def peer_form_data(**overrides) -> dict:
    data = {
        "first_name": "Luis",
        "last_name": "Ortega",
        "phone": "(845) 555-0199",
        "age_range": "36_plus",
        "gender": "male",
        "languages": [language("en").pk, language("es").pk],
    }
    data.update(overrides)
    return data


def credential_form_data(**overrides) -> dict:
    data = {
        "type": credential_type("CRPA").pk,
        "number": "CRPA-12345",
        "issued_on": "2025-01-15",
        "expires_on": "2027-01-15",
    }
    data.update(overrides)
    return data


def hours_data(*rows: tuple[str, str, str], extra_blank: int = 1) -> dict:
    rows = [*rows, *[("", "", "")] * extra_blank]
    data = {
        "hours-TOTAL_FORMS": str(len(rows)),
        "hours-INITIAL_FORMS": "0",
        "hours-MIN_NUM_FORMS": "0",
        "hours-MAX_NUM_FORMS": "1000",
    }
    for index, (weekday, start, end) in enumerate(rows):
        data[f"hours-{index}-weekday"] = weekday
        data[f"hours-{index}-start"] = start
        data[f"hours-{index}-end"] = end
    return data


# --- who may open what -------------------------------------------------------------------

# (name, method, which object's pk the URL takes, the owner's expected status)
OBJECT_URLS = [
    ("peers:peer_detail", "get", "peer", 200),
    ("peers:peer_edit", "get", "peer", 200),
    ("peers:peer_edit", "post", "peer", 302),
    ("peers:peer_deactivate", "post", "peer", 302),
    ("peers:peer_reactivate", "post", "peer", 302),
    ("peers:hours", "get", "peer", 200),
    ("peers:hours", "post", "peer", 302),
    ("peers:credential_add", "get", "peer", 200),
    ("peers:credential_add", "post", "peer", 302),
    ("peers:override_available", "post", "peer", 302),
    ("peers:override_unavailable", "post", "peer", 302),
    ("peers:credential_edit", "get", "credential", 200),
    ("peers:credential_edit", "post", "credential", 302),
    ("peers:credential_remove", "get", "credential", 200),
    ("peers:credential_remove", "post", "credential", 302),
    ("peers:credential_document", "get", "credential", 200),
    ("peers:override_end", "post", "override", 302),
]
LIST_URLS = [
    ("peers:roster", "get", 200),
    ("peers:available", "get", 200),
    ("peers:peer_add", "get", 200),
    ("peers:peer_add", "post", 302),
]


def valid_post_data(name: str) -> dict:
    return {
        "peers:peer_edit": peer_form_data(),
        "peers:peer_add": peer_form_data(),
        "peers:hours": hours_data(("0", "09:00", "17:00")),
        "peers:credential_add": credential_form_data(),
        "peers:credential_edit": credential_form_data(),
        "peers:override_available": {"hours": "4"},
        "peers:override_unavailable": {
            "until": (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        },
    }.get(name, {})


def request(client, method: str, url: str, data: dict):
    return client.post(url, data) if method == "post" else client.get(url)


@pytest.fixture
def objects(peer, credential, override):
    return {"peer": peer, "credential": credential, "override": override}


class TestPermissions:
    @pytest.mark.parametrize(("name", "method", "kind", "status"), OBJECT_URLS)
    def test_the_owning_agencys_supervisor_may(self, client, supervisor, objects, name, method, kind, status):
        client.force_login(supervisor)
        url = reverse(name, args=[objects[kind].pk])
        assert request(client, method, url, valid_post_data(name)).status_code == status

    @pytest.mark.parametrize(("name", "method", "kind", "status"), OBJECT_URLS)
    def test_another_agencys_supervisor_gets_404(
        self, client, other_supervisor, objects, name, method, kind, status
    ):
        client.force_login(other_supervisor)
        url = reverse(name, args=[objects[kind].pk])
        assert request(client, method, url, valid_post_data(name)).status_code == 404

    @pytest.mark.parametrize(("name", "method", "kind", "status"), OBJECT_URLS)
    def test_location_staff_get_403(self, client, location_user, objects, name, method, kind, status):
        client.force_login(location_user)
        url = reverse(name, args=[objects[kind].pk])
        assert request(client, method, url, valid_post_data(name)).status_code == 403

    @pytest.mark.parametrize(("name", "method", "kind", "status"), OBJECT_URLS)
    def test_anonymous_users_go_to_login(self, client, objects, name, method, kind, status):
        url = reverse(name, args=[objects[kind].pk])
        response = request(client, method, url, valid_post_data(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize(("name", "method", "status"), LIST_URLS)
    def test_list_pages_answer_every_role_as_they_should(
        self, client, supervisor, other_supervisor, location_user, objects, name, method, status
    ):
        url = reverse(name)
        client.force_login(supervisor)
        assert request(client, method, url, valid_post_data(name)).status_code == status
        client.force_login(location_user)
        assert request(client, method, url, valid_post_data(name)).status_code == 403
        client.logout()
        response = request(client, method, url, valid_post_data(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("name", ["peers:roster", "peers:available"])
    def test_another_agencys_supervisor_sees_none_of_our_peers(self, client, other_supervisor, peer, name):
        always_available(peer)
        client.force_login(other_supervisor)
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert peer.last_name not in response.content.decode()

    @pytest.mark.parametrize(
        "url",
        [
            reverse("peers:roster"),
            reverse("peers:available"),
            reverse("peers:peer_add"),
        ],
    )
    def test_a_pending_agency_sees_the_awaiting_verification_page(self, client, pending_supervisor, url):
        client.force_login(pending_supervisor)
        response = client.get(url)
        assert response.status_code == 403
        assert b"is awaiting verification" in response.content

    def test_a_pending_agency_cannot_add_a_peer(self, client, pending_supervisor):
        client.force_login(pending_supervisor)
        client.post(reverse("peers:peer_add"), peer_form_data())
        assert not Peer.objects.exists()

    def test_peer_rx_staff_may_download_a_document(self, client, staff_user, credential):
        client.force_login(staff_user)
        response = client.get(reverse("peers:credential_document", args=[credential.pk]))
        assert response.status_code == 200

    def test_every_document_download_is_in_the_audit_trail(
        self, client, supervisor, other_supervisor, staff_user, credential
    ):
        from accounts.models import AuditEntry

        url = reverse("peers:credential_document", args=[credential.pk])
        for user, status in ((supervisor, 200), (staff_user, 200), (other_supervisor, 404)):
            client.force_login(user)
            response = client.get(url, headers={"User-Agent": "Reader/1.0"}, REMOTE_ADDR="198.51.100.7")
            assert response.status_code == status
            assert "no-store" in response["Cache-Control"]
        downloads = AuditEntry.objects.filter(
            action="credential.document_downloaded", target_id=str(credential.pk)
        )
        assert [entry.actor for entry in downloads.order_by("pk")] == [supervisor, staff_user]
        assert {(entry.ip, entry.user_agent) for entry in downloads} == {("198.51.100.7", "Reader/1.0")}

    def test_peer_rx_staff_do_not_use_the_supervisor_pages(self, client, staff_user, peer):
        client.force_login(staff_user)
        assert client.get(reverse("peers:peer_detail", args=[peer.pk])).status_code == 403

    def test_posting_another_agencys_peer_id_changes_nothing(self, client, other_supervisor, peer):
        AvailabilityWindowFactory(peer=peer, weekday=0, start=dt.time(9), end=dt.time(17))
        client.force_login(other_supervisor)
        client.post(reverse("peers:hours", args=[peer.pk]), hours_data(("3", "08:00", "12:00")))
        client.post(reverse("peers:peer_edit", args=[peer.pk]), peer_form_data())
        client.post(reverse("peers:peer_deactivate", args=[peer.pk]))
        client.post(reverse("peers:credential_add", args=[peer.pk]), credential_form_data())
        client.post(reverse("peers:override_available", args=[peer.pk]), {"hours": "3"})
        peer.refresh_from_db()
        assert (peer.first_name, peer.is_active) == ("Ana", True)
        assert [(w.weekday, w.start) for w in peer.windows.all()] == [(0, dt.time(9))]
        assert not peer.credentials.exists()
        assert not peer.overrides.exists()


# --- roster and available now --------------------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def add_peers(agency, count: int) -> None:
    for _ in range(count):
        peer = PeerFactory(agency=agency)
        peer.languages.add(language("en"), language("es"))
        CredentialFactory(peer=peer)
        CredentialFactory(peer=peer, type=credential_type("NYCPS"), status=Credential.Status.PENDING)
        always_available(peer)
        now = timezone.now()
        AvailabilityOverrideFactory(
            peer=peer, starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=1)
        )


class TestRoster:
    def test_it_lists_peers_with_availability_and_credentials(self, client, supervisor, agency):
        available = PeerFactory(agency=agency, last_name="Available")
        always_available(available)
        CredentialFactory(peer=available, type=credential_type("CRPA"))
        expired = PeerFactory(agency=agency, last_name="Expired")
        CredentialFactory(peer=expired, issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2021, 1, 1))
        PeerFactory(agency=agency, last_name="Inactive", is_active=False)
        client.force_login(supervisor)
        page = client.get(reverse("peers:roster")).content.decode()
        assert "Available" in page and "Expired" in page and "Inactive" in page
        assert "CRPA · validated" in page
        assert "CRPA · expired" in page

    def test_it_warns_about_credentials_expiring_soon(self, client, supervisor, peer):
        soon = timezone.localdate() + dt.timedelta(days=10)
        CredentialFactory(peer=peer, issued_on=dt.date(2020, 1, 1), expires_on=soon)
        client.force_login(supervisor)
        page = client.get(reverse("peers:roster")).content.decode()
        assert "Credentials expiring within 30 days" in page

    def test_it_runs_the_same_queries_for_1_and_10_peers(self, client, supervisor, agency):
        client.force_login(supervisor)
        add_peers(agency, 1)
        one = count_queries(client, reverse("peers:roster"))
        add_peers(agency, 9)
        assert count_queries(client, reverse("peers:roster")) == one


class TestAvailableNow:
    def test_it_lists_who_is_available_and_why(self, client, supervisor, agency):
        by_hours = PeerFactory(agency=agency, last_name="Hours")
        always_available(by_hours)
        by_override = PeerFactory(agency=agency, last_name="Override")
        now = timezone.now()
        AvailabilityOverrideFactory(
            peer=by_override, starts_at=now, ends_at=now + dt.timedelta(hours=2), reason="covering a shift"
        )
        off = PeerFactory(agency=agency, last_name="Off")
        always_available(off)
        AvailabilityOverrideFactory(
            peer=off, is_available=False, starts_at=now, ends_at=now + dt.timedelta(hours=2)
        )
        for peer in (by_hours, by_override, off):
            CredentialFactory(peer=peer)
        client.force_login(supervisor)
        page = client.get(reverse("peers:available")).content.decode()
        assert "Hours" in page and "Override" in page and "covering a shift" in page
        assert "Off" not in page.replace("Opted out", "")

    def test_it_leaves_out_a_peer_whose_credential_awaits_validation(self, client, supervisor, agency):
        awaiting = PeerFactory(agency=agency, last_name="Awaiting")
        always_available(awaiting)
        CredentialFactory(peer=awaiting, status=Credential.Status.PENDING)
        client.force_login(supervisor)
        page = client.get(reverse("peers:available")).content.decode()
        assert "Awaiting" not in page
        assert "Nobody is available right now" in page

    def test_htmx_gets_just_the_table(self, client, supervisor):
        client.force_login(supervisor)
        response = client.get(reverse("peers:available"), HTTP_HX_REQUEST="true")
        assert b"<html" not in response.content
        assert b"Nobody is available right now" in response.content

    def test_it_runs_the_same_queries_for_1_and_10_peers(self, client, supervisor, agency):
        client.force_login(supervisor)
        add_peers(agency, 1)
        one = count_queries(client, reverse("peers:available"))
        add_peers(agency, 9)
        assert count_queries(client, reverse("peers:available")) == one


class TestPeerDetail:
    def test_it_shows_credentials_hours_and_overrides(self, client, supervisor, peer, credential, override):
        AvailabilityWindowFactory(peer=peer, weekday=4, start=dt.time(22), end=dt.time(6))
        client.force_login(supervisor)
        page = client.get(reverse("peers:peer_detail", args=[peer.pk])).content.decode()
        assert "Awaiting validation" in page
        assert reverse("peers:credential_document", args=[credential.pk]) in page
        assert "Friday 22:00–06:00" in page
        assert reverse("peers:override_end", args=[override.pk]) in page
        assert "Available now" in page

    def test_it_runs_a_constant_number_of_queries(self, client, supervisor, peer):
        client.force_login(supervisor)
        url = reverse("peers:peer_detail", args=[peer.pk])
        before = count_queries(client, url)
        for index in range(5):
            CredentialFactory(peer=peer)
            AvailabilityWindowFactory(peer=peer, weekday=index)
            AvailabilityOverrideFactory(
                peer=peer, starts_at=timezone.now(), ends_at=timezone.now() + dt.timedelta(hours=index + 1)
            )
        assert count_queries(client, url) == before


# --- adding and editing peers ------------------------------------------------------------------


class TestPeerAdd:
    def test_it_adds_a_peer_with_an_e164_number(self, client, supervisor, agency):
        client.force_login(supervisor)
        response = client.post(reverse("peers:peer_add"), peer_form_data(phone="845-555-0199"))
        peer = Peer.objects.get()
        assert response.url == reverse("peers:peer_detail", args=[peer.pk])
        assert (peer.agency, str(peer.phone)) == (agency, "+18455550199")
        assert {lang.code for lang in peer.languages.all()} == {"en", "es"}
        assert AuditEntry.objects.filter(action="peer.created", actor=supervisor).exists()

    @pytest.mark.parametrize("phone", ["not a number", "555", "+1 123 456"])
    def test_it_refuses_an_unparsable_number(self, client, supervisor, phone):
        client.force_login(supervisor)
        response = client.post(reverse("peers:peer_add"), peer_form_data(phone=phone))
        assert response.status_code == 200
        assert "Enter a valid mobile number" in response.content.decode()
        assert not Peer.objects.exists()

    def test_it_refuses_a_number_already_registered_even_in_another_agency(self, client, supervisor):
        PeerFactory(phone="+18455550199")  # another agency's peer
        client.force_login(supervisor)
        response = client.post(reverse("peers:peer_add"), peer_form_data(phone="(845) 555-0199"))
        assert response.status_code == 200
        assert "already registered in Peer-RX" in response.content.decode()
        assert Peer.objects.count() == 1

    def test_every_field_has_a_label(self, client, supervisor):
        client.force_login(supervisor)
        page = client.get(reverse("peers:peer_add")).content.decode()
        for field in ["first_name", "last_name", "phone", "age_range", "gender"]:
            assert f'for="id_{field}"' in page


class TestPeerEdit:
    def test_it_saves_changes(self, client, supervisor, peer):
        client.force_login(supervisor)
        response = client.post(
            reverse("peers:peer_edit", args=[peer.pk]),
            peer_form_data(first_name="Ana María", phone="+18455550101"),
        )
        assert response.status_code == 302
        peer.refresh_from_db()
        assert peer.first_name == "Ana María"

    def test_it_refuses_another_peers_number(self, client, supervisor, peer, agency):
        PeerFactory(agency=agency, phone="+18455550177")
        client.force_login(supervisor)
        response = client.post(
            reverse("peers:peer_edit", args=[peer.pk]), peer_form_data(phone="+18455550177")
        )
        assert "already registered in Peer-RX" in response.content.decode()
        peer.refresh_from_db()
        assert str(peer.phone) == "+18455550101"


class TestDeactivateAndReactivate:
    def test_it_deactivates_and_reactivates(self, client, supervisor, peer):
        client.force_login(supervisor)
        client.post(reverse("peers:peer_deactivate", args=[peer.pk]))
        peer.refresh_from_db()
        assert not peer.is_active
        client.post(reverse("peers:peer_reactivate", args=[peer.pk]))
        peer.refresh_from_db()
        assert peer.is_active

    def test_it_refuses_get(self, client, supervisor, peer):
        client.force_login(supervisor)
        assert client.get(reverse("peers:peer_deactivate", args=[peer.pk])).status_code == 405


# --- credentials ------------------------------------------------------------------------------


class TestCredentialAdd:
    def test_it_adds_a_pending_credential_with_a_document(self, client, supervisor, peer):
        client.force_login(supervisor)
        data = credential_form_data(document=pdf_upload())
        response = client.post(reverse("peers:credential_add", args=[peer.pk]), data)
        assert response.status_code == 302
        credential = peer.credentials.get()
        assert credential.status == Credential.Status.PENDING
        assert (
            credential.document.name.startswith("credentials/")
            and "certificate" not in credential.document.name
        )

    def test_a_supervisor_cannot_set_the_status(self, client, supervisor, peer):
        client.force_login(supervisor)
        data = credential_form_data(status="validated", validated_by=supervisor.pk)
        client.post(reverse("peers:credential_add", args=[peer.pk]), data)
        credential = peer.credentials.get()
        assert (credential.status, credential.validated_by) == (Credential.Status.PENDING, None)

    @pytest.mark.parametrize("expires_on", ["2025-01-15", "2024-12-31"])
    def test_it_refuses_an_expiry_on_or_before_the_issue_date(self, client, supervisor, peer, expires_on):
        client.force_login(supervisor)
        response = client.post(
            reverse("peers:credential_add", args=[peer.pk]), credential_form_data(expires_on=expires_on)
        )
        assert response.status_code == 200
        assert "The expiry date must be after the issue date." in response.content.decode()
        assert not peer.credentials.exists()

    def test_it_accepts_a_credential_that_never_expires(self, client, supervisor, peer):
        client.force_login(supervisor)
        client.post(reverse("peers:credential_add", args=[peer.pk]), credential_form_data(expires_on=""))
        assert peer.credentials.get().expires_on is None

    def test_it_refuses_a_document_too_large(self, client, supervisor, peer, settings):
        settings.CREDENTIAL_DOCUMENT_MAX_BYTES = 1024
        client.force_login(supervisor)
        data = credential_form_data(document=pdf_upload(content=b"%PDF-" + b"x" * 2000))
        response = client.post(reverse("peers:credential_add", args=[peer.pk]), data)
        assert "the largest allowed is 1.0" in response.content.decode()
        assert not peer.credentials.exists()

    @pytest.mark.parametrize(
        ("name", "content"),
        [
            ("certificate.docx", b"PK\x03\x04"),
            ("certificate.pdf", b"MZ\x90\x00 not a pdf"),
            ("photo.png", PNG[:4]),
        ],
    )
    def test_it_refuses_other_kinds_of_file(self, client, supervisor, peer, name, content):
        client.force_login(supervisor)
        data = credential_form_data(document=pdf_upload(name=name, content=content))
        response = client.post(reverse("peers:credential_add", args=[peer.pk]), data)
        assert response.status_code == 200
        assert not peer.credentials.exists()

    def test_it_accepts_a_png(self, client, supervisor, peer):
        client.force_login(supervisor)
        data = credential_form_data(document=pdf_upload(name="scan.PNG", content=PNG))
        client.post(reverse("peers:credential_add", args=[peer.pk]), data)
        assert peer.credentials.get().document.name.endswith(".png")


class TestCredentialEdit:
    def test_changing_a_validated_credential_sends_it_back_for_validation(self, client, supervisor, peer):
        credential = CredentialFactory(peer=peer, number="OLD-1")
        client.force_login(supervisor)
        client.post(
            reverse("peers:credential_edit", args=[credential.pk]), credential_form_data(number="NEW-2")
        )
        credential.refresh_from_db()
        assert (credential.number, credential.status) == ("NEW-2", Credential.Status.PENDING)

    def test_it_refuses_an_expiry_before_issue_and_keeps_the_old_values(self, client, supervisor, peer):
        credential = CredentialFactory(peer=peer)
        client.force_login(supervisor)
        response = client.post(
            reverse("peers:credential_edit", args=[credential.pk]),
            credential_form_data(issued_on="2026-05-01", expires_on="2026-04-01"),
        )
        assert response.status_code == 200
        credential.refresh_from_db()
        assert (credential.issued_on, credential.status) == (dt.date(2024, 1, 1), Credential.Status.VALIDATED)


class TestCredentialRemove:
    def test_it_removes_the_credential(self, client, supervisor, credential):
        client.force_login(supervisor)
        client.post(reverse("peers:credential_remove", args=[credential.pk]))
        assert not Credential.objects.filter(pk=credential.pk).exists()

    def test_it_asks_for_confirmation_first_and_removes_nothing_on_get(
        self, client, supervisor, credential, django_assert_max_num_queries
    ):
        client.force_login(supervisor)
        url = reverse("peers:credential_remove", args=[credential.pk])
        with django_assert_max_num_queries(6):
            response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert f"Remove {credential.peer}'s {credential.type.code} credential?" in page
        assert '<form method="post">' in page and "Remove the credential" in page
        assert reverse("peers:peer_detail", args=[credential.peer_id]) in page  # "Keep it"
        assert Credential.objects.filter(pk=credential.pk).exists()

    def test_it_says_when_the_credential_counts_for_matching_today(self, client, supervisor, peer):
        counting = CredentialFactory(peer=peer, status=Credential.Status.VALIDATED)
        client.force_login(supervisor)
        page = client.get(reverse("peers:credential_remove", args=[counting.pk])).content.decode()
        assert "counts for matching today" in page

    def test_the_peer_page_links_to_the_confirmation_not_a_one_click_remove(
        self, client, supervisor, peer, credential
    ):
        client.force_login(supervisor)
        page = client.get(reverse("peers:peer_detail", args=[peer.pk])).content.decode()
        url = reverse("peers:credential_remove", args=[credential.pk])
        assert f'href="{url}"' in page
        assert f'action="{url}"' not in page

    def test_an_outsider_and_another_agencys_supervisor_cannot_see_the_confirmation(
        self, client, other_supervisor, credential
    ):
        url = reverse("peers:credential_remove", args=[credential.pk])
        client.force_login(other_supervisor)
        assert client.get(url).status_code == 404
        client.logout()
        assert client.get(url).status_code == 302
        assert Credential.objects.filter(pk=credential.pk).exists()


class TestCredentialDocument:
    def test_it_streams_the_file_as_an_attachment(self, client, supervisor, credential):
        client.force_login(supervisor)
        response = client.get(reverse("peers:credential_document", args=[credential.pk]))
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
        assert b"".join(response.streaming_content).startswith(b"%PDF-")

    def test_it_is_404_without_a_document(self, client, supervisor, peer):
        credential = CredentialFactory(peer=peer)
        client.force_login(supervisor)
        assert client.get(reverse("peers:credential_document", args=[credential.pk])).status_code == 404


# --- weekly hours -------------------------------------------------------------------------------


class TestHours:
    def test_it_shows_the_current_windows(self, client, supervisor, peer):
        AvailabilityWindowFactory(peer=peer, weekday=2, start=dt.time(8, 30), end=dt.time(16))
        client.force_login(supervisor)
        page = client.get(reverse("peers:hours", args=[peer.pk])).content.decode()
        assert 'value="08:30"' in page and 'value="16:00"' in page

    def test_it_replaces_all_windows(self, client, supervisor, peer):
        AvailabilityWindowFactory(peer=peer, weekday=0)
        client.force_login(supervisor)
        response = client.post(
            reverse("peers:hours", args=[peer.pk]),
            hours_data(("4", "22:00", "06:00"), ("2", "00:00", "00:00"), ("5", "06:00", "12:00")),
        )
        assert response.status_code == 302
        assert [(w.weekday, w.start, w.end) for w in peer.windows.order_by("weekday")] == [
            (2, dt.time(0), dt.time(0)),
            (4, dt.time(22), dt.time(6)),
            (5, dt.time(6), dt.time(12)),
        ]

    def test_add_another_window_keeps_the_rows_typed_adds_one_and_saves_nothing(
        self, client, supervisor, peer
    ):
        AvailabilityWindowFactory(peer=peer, weekday=0)
        client.force_login(supervisor)
        data = hours_data(
            *[(str(day % 7), f"{8 + day // 7:02d}:00", f"{9 + day // 7:02d}:00") for day in range(4)]
        )
        data["add_window"] = "1"
        response = client.post(reverse("peers:hours", args=[peer.pk]), data)
        assert response.status_code == 200
        formset = response.context["formset"]
        assert len(formset.forms) == 6  # four typed, the blank row posted, one more
        page = response.content.decode()
        assert 'value="11:00"' not in page and 'value="08:00"' in page
        assert 'name="hours-5-weekday" id="id_hours-5-weekday"' in page
        assert page.count(" autofocus") == 1
        assert [w.weekday for w in peer.windows.all()] == [0]  # unchanged until saved

    def test_it_saves_more_than_three_new_windows_at_once(self, client, supervisor, peer):
        client.force_login(supervisor)
        rows = [(str(day), "09:00", "17:00") for day in range(7)] + [
            (str(day), "20:00", "22:00") for day in range(5)
        ]
        response = client.post(reverse("peers:hours", args=[peer.pk]), hours_data(*rows))
        assert response.status_code == 302
        assert peer.windows.count() == 12

    def test_add_another_window_with_a_broken_management_form_loses_nothing_and_answers(
        self, client, supervisor, peer
    ):
        AvailabilityWindowFactory(peer=peer, weekday=3)
        client.force_login(supervisor)
        response = client.post(
            reverse("peers:hours", args=[peer.pk]), {"hours-TOTAL_FORMS": "many", "add_window": "1"}
        )
        assert response.status_code == 200
        assert len(response.context["formset"].forms) == 4  # the saved window and three empty rows
        assert [w.weekday for w in peer.windows.all()] == [3]

    def test_adding_windows_stops_at_the_most_a_week_holds(self, client, supervisor, peer):
        client.force_login(supervisor)
        data = hours_data(extra_blank=MAX_WINDOWS)
        data["add_window"] = "1"
        response = client.post(reverse("peers:hours", args=[peer.pk]), data)
        assert response.status_code == 200
        assert len(response.context["formset"].forms) == MAX_WINDOWS

    def test_it_drops_rows_marked_for_removal(self, client, supervisor, peer):
        client.force_login(supervisor)
        data = hours_data(("0", "09:00", "17:00"), ("1", "09:00", "17:00"))
        data["hours-1-DELETE"] = "on"
        client.post(reverse("peers:hours", args=[peer.pk]), data)
        assert [w.weekday for w in peer.windows.all()] == [0]

    @pytest.mark.parametrize(
        ("rows", "message"),
        [
            (
                (("0", "09:00", "17:00"), ("0", "16:00", "18:00")),
                "Monday 09:00–17:00 overlaps Monday 16:00–18:00",
            ),
            ((("4", "22:00", "06:00"), ("5", "05:00", "07:00")), "overlaps"),
            ((("6", "22:00", "06:00"), ("0", "05:30", "07:00")), "overlaps"),  # Sunday night into Monday
            ((("2", "00:00", "00:00"), ("2", "12:00", "13:00")), "overlaps"),
            ((("0", "09:00", "09:00"),), "can&#x27;t start and end at the same time"),
            ((("0", "09:00", ""),), "Fill in the day, the start and the end"),
            ((("", "09:00", "10:00"),), "Fill in the day, the start and the end"),
            ((("0", "25:00", "10:00"),), "Enter a valid time"),
        ],
    )
    def test_it_refuses_bad_windows_and_keeps_the_old_ones(self, client, supervisor, peer, rows, message):
        AvailabilityWindowFactory(peer=peer, weekday=3, start=dt.time(9), end=dt.time(17))
        client.force_login(supervisor)
        response = client.post(reverse("peers:hours", args=[peer.pk]), hours_data(*rows))
        assert response.status_code == 200
        assert message in response.content.decode()
        assert [(w.weekday, w.start) for w in peer.windows.all()] == [(3, dt.time(9))]

    def test_touching_windows_are_fine(self, client, supervisor, peer):
        client.force_login(supervisor)
        response = client.post(
            reverse("peers:hours", args=[peer.pk]),
            hours_data(("0", "08:00", "12:00"), ("0", "12:00", "16:00")),
        )
        assert response.status_code == 302
        assert peer.windows.count() == 2

    def test_clearing_every_row_removes_all_hours(self, client, supervisor, peer):
        AvailabilityWindowFactory(peer=peer)
        client.force_login(supervisor)
        client.post(reverse("peers:hours", args=[peer.pk]), hours_data(extra_blank=3))
        assert not peer.windows.exists()


# --- overrides ------------------------------------------------------------------------------------


class TestOverrides:
    @freeze_time("2026-01-05 15:00:00")
    def test_available_now_for_n_hours(self, client, supervisor, peer):
        client.force_login(supervisor)
        client.post(
            reverse("peers:override_available", args=[peer.pk]), {"hours": "3", "reason": "extra shift"}
        )
        override = peer.overrides.get()
        assert override.is_available
        assert override.starts_at == dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC)
        assert override.ends_at == dt.datetime(2026, 1, 5, 18, tzinfo=dt.UTC)
        assert (override.source, override.created_by, override.reason) == (
            "supervisor",
            supervisor,
            "extra shift",
        )
        assert AuditEntry.objects.filter(action="override.set", actor=supervisor).exists()

    @freeze_time("2026-01-05 15:00:00")
    def test_unavailable_until_reads_the_agencys_time_zone(self, client, supervisor, peer, agency):
        agency.timezone = "America/Los_Angeles"
        agency.save()
        client.force_login(supervisor)
        client.post(reverse("peers:override_unavailable", args=[peer.pk]), {"until": "2026-01-06T08:00"})
        override = peer.overrides.get()
        assert not override.is_available
        assert override.ends_at == dt.datetime(2026, 1, 6, 16, tzinfo=dt.UTC)  # 08:00 PST

    @pytest.mark.parametrize("hours", ["0", "73", "abc", ""])
    def test_it_refuses_bad_hours(self, client, supervisor, peer, hours):
        client.force_login(supervisor)
        response = client.post(reverse("peers:override_available", args=[peer.pk]), {"hours": hours})
        assert response.status_code == 400
        assert not peer.overrides.exists()

    @freeze_time("2026-01-05 15:00:00")
    def test_it_refuses_an_until_in_the_past(self, client, supervisor, peer):
        client.force_login(supervisor)
        response = client.post(
            reverse("peers:override_unavailable", args=[peer.pk]), {"until": "2026-01-05T09:00"}
        )
        assert response.status_code == 400
        assert "Pick a time in the future." in response.content.decode()
        assert not peer.overrides.exists()

    def test_ending_a_running_override_cuts_it_short(self, client, supervisor, override):
        client.force_login(supervisor)
        client.post(reverse("peers:override_end", args=[override.pk]))
        override.refresh_from_db()
        assert override.ends_at <= timezone.now()
        assert AuditEntry.objects.filter(action="override.ended", actor=supervisor).exists()

    def test_ending_an_upcoming_override_deletes_it(self, client, supervisor, peer):
        later = timezone.now() + dt.timedelta(days=1)
        upcoming = AvailabilityOverrideFactory(
            peer=peer, starts_at=later, ends_at=later + dt.timedelta(hours=2)
        )
        client.force_login(supervisor)
        client.post(reverse("peers:override_end", args=[upcoming.pk]))
        assert not AvailabilityOverride.objects.filter(pk=upcoming.pk).exists()


def test_the_nav_links_to_the_roster_and_available_now(client, supervisor):
    client.force_login(supervisor)
    page = client.get(reverse("peers:roster")).content.decode()
    assert f'href="{reverse("peers:roster")}"' in page
    assert f'href="{reverse("peers:available")}"' in page
