import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEntry
from peers import services
from peers.models import AvailabilityOverride, AvailabilityWindow, Credential, Peer
from peers.services import WindowSpec
from tests.peers.conftest import pdf_upload
from tests.peers.factories import (
    AvailabilityOverrideFactory,
    AvailabilityWindowFactory,
    CredentialFactory,
    PeerFactory,
    credential_type,
    language,
)

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def t(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


def peer_fields(**overrides) -> dict:
    fields = {
        "first_name": " Luis ",
        "last_name": "Ortega",
        "phone": "845 555 0199",
        "age_range": "36_plus",
        "gender": "male",
        "languages": [language("es")],
    }
    fields.update(overrides)
    return fields


class TestCreatePeer:
    def test_it_creates_a_peer_with_a_normalised_number(self, agency, supervisor):
        peer = services.create_peer(agency=agency, actor=supervisor, **peer_fields())
        peer.refresh_from_db()
        assert (peer.first_name, str(peer.phone), peer.agency) == ("Luis", "+18455550199", agency)
        assert [lang.code for lang in peer.languages.all()] == ["es"]
        assert AuditEntry.objects.get(action="peer.created").actor == supervisor

    @pytest.mark.parametrize("phone", ["hello", "+1 555", "+44 20 7946"])
    def test_it_refuses_an_invalid_number(self, agency, phone):
        with pytest.raises(ValidationError) as error:
            services.create_peer(agency=agency, **peer_fields(phone=phone))
        assert "phone" in error.value.error_dict
        assert not Peer.objects.exists()

    def test_it_refuses_a_duplicate_number_in_any_format(self, agency):
        PeerFactory(phone="+18455550199")
        with pytest.raises(ValidationError, match="already registered"):
            services.create_peer(agency=agency, **peer_fields(phone="(845) 555-0199"))

    def test_it_refuses_bad_choices_and_saves_nothing(self, agency):
        with pytest.raises(ValidationError) as error:
            services.create_peer(agency=agency, **peer_fields(gender="unknown"))
        assert "gender" in error.value.error_dict
        assert not Peer.objects.exists()


class TestUpdatePeer:
    def test_it_updates_fields_and_languages(self, peer, supervisor):
        services.update_peer(peer=peer, actor=supervisor, **peer_fields(phone="+18455550101", languages=[]))
        peer.refresh_from_db()
        assert peer.last_name == "Ortega"
        assert not peer.languages.exists()

    def test_a_new_number_clears_the_carrier_flag(self, peer):
        Peer.objects.filter(pk=peer.pk).update(phone_flagged_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
        services.update_peer(peer=peer, **peer_fields(phone="+18455550102"))
        peer.refresh_from_db()
        assert peer.phone_flagged_at is None

    def test_keeping_the_number_keeps_the_flag(self, peer):
        Peer.objects.filter(pk=peer.pk).update(phone_flagged_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
        services.update_peer(peer=peer, **peer_fields(phone="+1 845-555-0101"))
        peer.refresh_from_db()
        assert peer.phone_flagged_at is not None

    def test_it_refuses_another_peers_number(self, peer):
        PeerFactory(phone="+18455550177")
        with pytest.raises(ValidationError, match="already registered"):
            services.update_peer(peer=peer, **peer_fields(phone="+18455550177"))


class TestDeactivatePeer:
    def test_it_deactivates_once_and_audits_once(self, peer, supervisor):
        services.deactivate_peer(peer=peer, actor=supervisor)
        services.deactivate_peer(peer=peer, actor=supervisor)
        peer.refresh_from_db()
        assert not peer.is_active
        assert AuditEntry.objects.filter(action="peer.deactivated").count() == 1
        services.reactivate_peer(peer=peer, actor=supervisor)
        peer.refresh_from_db()
        assert peer.is_active


class TestAddCredential:
    def test_it_adds_a_pending_credential(self, peer, supervisor):
        credential = services.add_credential(
            peer=peer,
            type=credential_type("NYCPS"),
            number=" 123 ",
            issued_on=dt.date(2025, 1, 1),
            expires_on=dt.date(2027, 1, 1),
            document=pdf_upload(),
            actor=supervisor,
        )
        credential.refresh_from_db()
        assert (credential.status, credential.number) == (Credential.Status.PENDING, "123")
        assert credential.document.read().startswith(b"%PDF-")

    @pytest.mark.parametrize("expires_on", [dt.date(2025, 1, 1), dt.date(2024, 6, 1)])
    def test_it_refuses_an_expiry_on_or_before_issue(self, peer, expires_on):
        with pytest.raises(ValidationError) as error:
            services.add_credential(
                peer=peer,
                type=credential_type("CRPA"),
                number="1",
                issued_on=dt.date(2025, 1, 1),
                expires_on=expires_on,
            )
        assert "expires_on" in error.value.error_dict
        assert not Credential.objects.exists()

    def test_it_refuses_a_bad_document(self, peer):
        with pytest.raises(ValidationError, match="PDF, JPG or PNG"):
            services.add_credential(
                peer=peer,
                type=credential_type("CRPA"),
                number="1",
                issued_on=dt.date(2025, 1, 1),
                document=pdf_upload(name="notes.txt", content=b"hello"),
            )
        assert not Credential.objects.exists()


class TestUpdateCredential:
    def test_changing_a_validated_credential_sends_it_back(self, peer, staff_user):
        credential = CredentialFactory(peer=peer, validated_by=staff_user)
        services.update_credential(
            credential=credential,
            type=credential.type,
            number=credential.number,
            issued_on=credential.issued_on,
            expires_on=dt.date(2031, 1, 1),
        )
        credential.refresh_from_db()
        assert (credential.status, credential.validated_by) == (Credential.Status.PENDING, None)

    def test_saving_without_changes_keeps_the_validation(self, peer):
        credential = CredentialFactory(peer=peer)
        services.update_credential(
            credential=credential,
            type=credential.type,
            number=credential.number,
            issued_on=credential.issued_on,
            expires_on=credential.expires_on,
        )
        credential.refresh_from_db()
        assert credential.status == Credential.Status.VALIDATED


class TestReviewCredential:
    def test_staff_validate_with_who_and_when(self, credential, staff_user):
        now = dt.datetime(2026, 2, 1, 12, tzinfo=UTC)
        services.validate_credential(
            credential=credential, actor=staff_user, now=now, note="checked with NYCB"
        )
        credential.refresh_from_db()
        assert (credential.status, credential.validated_by, credential.validated_at) == (
            Credential.Status.VALIDATED,
            staff_user,
            now,
        )
        entry = AuditEntry.objects.get(action="credential.validated")
        assert (entry.actor, entry.target_id, entry.detail) == (
            staff_user,
            str(credential.pk),
            "checked with NYCB",
        )

    def test_staff_reject(self, credential, staff_user):
        services.reject_credential(credential=credential, actor=staff_user, note="number not found")
        credential.refresh_from_db()
        assert (credential.status, credential.review_note) == (Credential.Status.REJECTED, "number not found")
        assert AuditEntry.objects.filter(action="credential.rejected", actor=staff_user).exists()

    def test_a_supervisor_cannot_validate(self, credential, supervisor):
        with pytest.raises(PermissionDenied):
            services.validate_credential(credential=credential, actor=supervisor)
        credential.refresh_from_db()
        assert credential.status == Credential.Status.PENDING


class TestValidateWeeklyHours:
    @pytest.mark.parametrize(
        "windows",
        [
            [],
            [WindowSpec(0, t(9), t(17)), WindowSpec(0, t(17), t(22))],  # touching
            [WindowSpec(4, t(22), t(6)), WindowSpec(5, t(6), t(14))],  # touching across midnight
            [WindowSpec(6, t(22), t(6)), WindowSpec(0, t(6), t(8))],  # touching across the week's end
            [WindowSpec(d, t(0), t(0)) for d in range(7)],  # the whole week
        ],
    )
    def test_it_accepts_windows_that_do_not_overlap(self, windows):
        services.validate_weekly_hours(windows)

    @pytest.mark.parametrize(
        "windows",
        [
            [WindowSpec(0, t(9), t(17)), WindowSpec(0, t(9), t(17))],
            [WindowSpec(0, t(9), t(17)), WindowSpec(0, t(12), t(13))],  # inside
            [WindowSpec(4, t(22), t(6)), WindowSpec(5, t(5), t(7))],
            [WindowSpec(6, t(23), t(1)), WindowSpec(0, t(0), t(2))],  # Sunday night into Monday
            [WindowSpec(2, t(0), t(0)), WindowSpec(1, t(23), t(0, 30))],
        ],
    )
    def test_it_refuses_overlapping_windows(self, windows):
        with pytest.raises(ValidationError, match="overlaps"):
            services.validate_weekly_hours(windows)

    def test_it_names_the_overlapping_windows(self):
        with pytest.raises(ValidationError) as error:
            services.validate_weekly_hours([WindowSpec(0, t(9), t(17)), WindowSpec(0, t(16), t(18))])
        assert error.value.messages == ["Monday 09:00–17:00 overlaps Monday 16:00–18:00."]

    def test_it_refuses_zero_length_windows(self):
        with pytest.raises(ValidationError, match="same time"):
            services.validate_weekly_hours([WindowSpec(3, t(9), t(9))])

    def test_it_refuses_a_day_that_is_not_a_weekday(self):
        with pytest.raises(ValidationError, match="not a weekday"):
            services.validate_weekly_hours([WindowSpec(7, t(9), t(10))])


class TestSetWeeklyHours:
    def test_it_replaces_every_window(self, peer, supervisor):
        AvailabilityWindowFactory(peer=peer, weekday=0)
        services.set_weekly_hours(
            peer=peer, windows=[WindowSpec(1, t(8), t(12)), WindowSpec(4, t(22), t(6))], actor=supervisor
        )
        assert sorted((w.weekday, w.start, w.end) for w in peer.windows.all()) == [
            (1, t(8), t(12)),
            (4, t(22), t(6)),
        ]
        assert "Friday 22:00–06:00" in AuditEntry.objects.get(action="peer.hours_set").detail

    def test_it_keeps_the_old_windows_when_the_new_ones_are_refused(self, peer):
        AvailabilityWindowFactory(peer=peer, weekday=0)
        with pytest.raises(ValidationError):
            services.set_weekly_hours(
                peer=peer, windows=[WindowSpec(1, t(8), t(12)), WindowSpec(1, t(11), t(13))]
            )
        assert [w.weekday for w in AvailabilityWindow.objects.filter(peer=peer)] == [0]


class TestSetAvailabilityOverride:
    START = dt.datetime(2026, 1, 5, 12, tzinfo=UTC)

    def test_a_supervisor_override_is_audited(self, peer, supervisor):
        override = services.set_availability_override(
            peer=peer,
            is_available=False,
            starts_at=self.START,
            ends_at=self.START + dt.timedelta(hours=2),
            reason="training",
            source=AvailabilityOverride.Source.SUPERVISOR,
            actor=supervisor,
        )
        assert (override.created_by, override.is_available, override.reason) == (
            supervisor,
            False,
            "training",
        )
        assert AuditEntry.objects.get(action="override.set").actor == supervisor

    def test_an_sms_override_is_not_audited(self, peer):
        override = services.set_availability_override(
            peer=peer,
            is_available=True,
            starts_at=self.START,
            ends_at=self.START + dt.timedelta(hours=4),
            source=AvailabilityOverride.Source.SMS,
        )
        assert (override.source, override.created_by) == ("sms", None)
        assert not AuditEntry.objects.exists()

    def test_it_refuses_an_end_before_the_start(self, peer):
        with pytest.raises(ValidationError, match="after the start"):
            services.set_availability_override(
                peer=peer, is_available=True, starts_at=self.START, ends_at=self.START, source="sms"
            )

    def test_it_refuses_naive_times_and_unknown_sources(self, peer):
        with pytest.raises(ValueError, match="aware"):
            services.set_availability_override(
                peer=peer,
                is_available=True,
                starts_at=dt.datetime(2026, 1, 5, 12),
                ends_at=dt.datetime(2026, 1, 5, 13),
                source="sms",
            )
        with pytest.raises(ValueError, match="source"):
            services.set_availability_override(
                peer=peer,
                is_available=True,
                starts_at=self.START,
                ends_at=self.START + dt.timedelta(hours=1),
                source="email",
            )


class TestEndAndClearOverrides:
    NOW = dt.datetime(2026, 1, 5, 12, tzinfo=UTC)

    def test_end_override_cuts_a_running_one_and_deletes_an_upcoming_one(self, peer, supervisor):
        running = AvailabilityOverrideFactory(peer=peer, starts_at=self.NOW - dt.timedelta(hours=1))
        upcoming = AvailabilityOverrideFactory(peer=peer, starts_at=self.NOW + dt.timedelta(hours=1))
        assert services.end_override(override=running, now=self.NOW, actor=supervisor)
        assert services.end_override(override=upcoming, now=self.NOW, actor=supervisor)
        running.refresh_from_db()
        assert running.ends_at == self.NOW
        assert not AvailabilityOverride.objects.filter(pk=upcoming.pk).exists()
        assert AuditEntry.objects.filter(action="override.ended").count() == 2

    def test_ending_a_finished_override_changes_nothing(self, peer):
        over = AvailabilityOverrideFactory(
            peer=peer, starts_at=self.NOW - dt.timedelta(hours=3), ends_at=self.NOW - dt.timedelta(hours=1)
        )
        assert not services.end_override(override=over, now=self.NOW)
        over.refresh_from_db()
        assert over.ends_at == self.NOW - dt.timedelta(hours=1)
