"""Consent to texts: the opt-in on joining, JOIN, every way of opting out, the record of each,
the supervisor's resend and CSV, and the roster migrated as consented."""

import csv
import datetime as dt
import importlib
import io

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from peers import consent, services
from peers.models import ConsentRecord, Peer
from peers.selectors import eligible_peers
from sms.handlers import Refusal
from sms.models import OutboundMessage
from sms.services import handle_inbound_message
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.peers.factories import CredentialFactory, PeerFactory, always_available
from tests.world import T0, inbound

pytestmark = pytest.mark.django_db


def new_peer(agency=None, phone="+18455550142"):
    agency = agency or AgencyFactory()
    peer = services.create_peer(
        agency=agency, first_name="Dana", last_name="Reyes", phone=phone, age_range="18_35", gender="female"
    )
    CredentialFactory(peer=peer)
    always_available(peer)
    return peer


def eligible(peer, at=T0) -> bool:
    county = peer.agency.counties.first()
    return eligible_peers(need="substance_use", county=county, at=at).filter(pk=peer.pk).exists()


def text(peer, body, at=T0):
    return handle_inbound_message(inbound_id=inbound(peer, body, at=at).pk, now=at)


class TestOptInOnJoining:
    def test_a_new_peer_is_texted_the_opt_in_and_gets_no_alert_until_join(self):
        peer = new_peer()
        message = OutboundMessage.objects.get(kind=OutboundMessage.Kind.OPT_IN_REQUEST)
        assert message.to == str(peer.phone)
        assert peer.agency.name in message.body
        assert (
            "Reply JOIN to start, STOP to stop" in message.body
            and "Msg & data rates may apply" in message.body
        )
        record = peer.consent_records.get()
        assert (record.action, record.source, record.text) == ("requested", "roster", message.body)
        assert not eligible(peer)

        reply = text(peer, "Join", at=T0 + dt.timedelta(minutes=3))
        assert "subscribed to peer support alerts" in reply
        peer.refresh_from_db()
        assert peer.consented_at == T0 + dt.timedelta(minutes=3)
        assert eligible(peer, at=T0 + dt.timedelta(minutes=4))
        opt_in = peer.consent_records.filter(action="opt_in").get()
        assert (opt_in.source, opt_in.text, opt_in.phone) == ("keyword", "Join", "+18455550142")

    @pytest.mark.parametrize("word", ["START", "unstop"])
    def test_start_and_unstop_opt_in_too(self, word):
        peer = new_peer()
        text(peer, word)
        peer.refresh_from_db()
        assert peer.consented_at is not None

    def test_a_new_number_is_asked_again(self):
        peer = PeerFactory()
        services.update_peer(
            peer=peer,
            first_name=peer.first_name,
            last_name=peer.last_name,
            phone="+18455550177",
            age_range=peer.age_range,
            gender=peer.gender,
            languages=[],
        )
        peer.refresh_from_db()
        assert peer.consented_at is None
        assert OutboundMessage.objects.get(kind=OutboundMessage.Kind.OPT_IN_REQUEST).to == "+18455550177"


class TestOptOut:
    @pytest.mark.parametrize(
        ("body", "source"),
        [
            ("STOP", "keyword"),
            ("unsubscribe", "keyword"),
            ("please stop texting me", "natural"),
            ("remove me", "natural"),
        ],
    )
    def test_every_way_of_saying_stop_is_recorded_with_how_and_the_text(self, body, source):
        peer = PeerFactory()
        reply = text(peer, body)
        assert "unsubscribed" in reply
        peer.refresh_from_db()
        assert peer.opted_out_at == T0
        record = peer.consent_records.get()
        assert (record.action, record.source, record.text) == ("opt_out", source, body)

    def test_the_carriers_21610_is_recorded_once(self):
        from peer_requests.refusals import handle_refusal

        peer = PeerFactory()
        for _ in range(2):
            handle_refusal(
                refusal=Refusal(
                    message_id=1,
                    to=str(peer.phone),
                    kind="alert",
                    kind_label="Alert",
                    code="21610",
                    text="Attempt to send to unsubscribed recipient",
                    at=T0,
                    peer_id=peer.pk,
                )
            )
        record = peer.consent_records.get()
        assert (record.action, record.source) == ("opt_out", "carrier")
        assert "21610" in record.text

    def test_staff_record_an_opt_out_the_peer_asked_for_by_phone(self):
        from tests.accounts.factories import StaffUserFactory

        peer = PeerFactory()
        staff = StaffUserFactory()
        consent.record_opt_out(
            peer=peer, source=ConsentRecord.Source.STAFF, text="Asked by phone", actor=staff
        )
        assert peer.consent_records.get().actor == staff


class TestResend:
    def test_once_a_day_while_waiting(self):
        peer = new_peer()
        supervisor = AgencyMembershipFactory(agency=peer.agency).user
        later = peer.consent_requested_at + dt.timedelta(hours=23)
        with pytest.raises(ValidationError, match="less than a day ago"):
            consent.resend_consent_request(peer=peer, actor=supervisor, now=later)
        consent.resend_consent_request(peer=peer, actor=supervisor, now=later + dt.timedelta(hours=2))
        assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.OPT_IN_REQUEST).count() == 2
        text(peer, "JOIN")
        with pytest.raises(ValidationError, match="already agreed"):
            consent.resend_consent_request(peer=peer, actor=supervisor, now=later + dt.timedelta(days=3))


class TestPages:
    def test_the_roster_shows_the_waiting_state_and_the_supervisor_resends(self, client):
        peer = new_peer()
        owner = AgencyMembershipFactory(agency=peer.agency).user
        client.force_login(owner)
        assert "Waiting for the peer's consent" in client.get(reverse("peers:roster")).content.decode()
        page = client.get(reverse("peers:peer_detail", args=[peer.pk])).content.decode()
        assert "Send the opt-in text again" in page and "Opt-in text sent" in page
        Peer.objects.filter(pk=peer.pk).update(consent_requested_at=T0 - dt.timedelta(days=2))
        response = client.post(reverse("peers:consent_resend", args=[peer.pk]), follow=True)
        assert "The opt-in text was sent to Dana Reyes again." in response.content.decode()
        response = client.post(reverse("peers:consent_resend", args=[peer.pk]), follow=True)
        assert "less than a day ago" in response.content.decode()

    def test_the_csv_has_the_agencys_records_only_others_are_refused(self, client):
        peer = new_peer()
        other = new_peer(phone="+18455550143")
        owner = AgencyMembershipFactory(agency=peer.agency).user
        colleague = AgencyMembershipFactory(agency=peer.agency).user
        outsider = AgencyMembershipFactory(agency=other.agency).user
        for user in (owner, colleague):
            client.force_login(user)
            rows = list(csv.reader(io.StringIO(client.get(reverse("peers:consent_csv")).content.decode())))
            assert rows[0][:5] == ["when (UTC)", "peer", "number", "what", "how"]
            assert {row[2] for row in rows[1:]} == {"+18455550142"}
        client.force_login(outsider)
        rows = list(csv.reader(io.StringIO(client.get(reverse("peers:consent_csv")).content.decode())))
        assert {row[2] for row in rows[1:]} == {"+18455550143"}
        assert client.post(reverse("peers:consent_resend", args=[peer.pk])).status_code == 404


class TestMigration:
    def test_the_roster_before_consent_was_recorded_is_consented_with_the_migration_as_source(self):
        peer = PeerFactory(consented_at=None)
        migration = importlib.import_module("peers.migrations.0004_consent")
        migration.consent_of_the_roster(apps, None)
        peer.refresh_from_db()
        assert peer.consented_at is not None
        record = peer.consent_records.get()
        assert (record.action, record.source) == ("opt_in", "migration")
