"""The phone simulator's pages: who may open them, what they show, replies typed as a peer."""

import datetime as dt

import pytest
from django.urls import reverse

from sms import transport
from sms.models import InboundMessage, OutboundMessage
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationFactory, LocationMembershipFactory
from tests.peers.factories import PeerFactory
from tests.sms.factories import T0, InboundMessageFactory, OutboundMessageFactory

pytestmark = pytest.mark.django_db


class TestSimulatorAccess:
    def urls(self, peer, location):
        return [
            reverse("demo:simulator"),
            reverse("demo:simulator_peer", args=[peer.pk]),
            reverse("demo:simulator_peer_inbox", args=[peer.pk]),
            reverse("demo:simulator_location", args=[location.pk]),
            reverse("demo:simulator_location_inbox", args=[location.pk]),
        ]

    def test_it_sends_anonymous_users_to_login(self, client):
        for url in self.urls(PeerFactory(), LocationFactory()):
            response = client.get(url)
            assert response.status_code == 302
            assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize(
        "make_user",
        [lambda: LocationMembershipFactory().user, lambda: AgencyMembershipFactory().user, UserFactory],
        ids=["location staff", "agency supervisor", "no role"],
    )
    def test_it_refuses_everyone_but_peerrx_staff(self, client, make_user):
        client.force_login(make_user())
        for url in self.urls(PeerFactory(), LocationFactory()):
            assert client.get(url).status_code == 403
        assert (
            client.post(reverse("demo:simulator_peer", args=[PeerFactory().pk]), {"body": "YES"}).status_code
            == 403
        )
        assert not InboundMessage.objects.exists()

    def test_it_lets_peerrx_staff_in(self, client):
        client.force_login(StaffUserFactory())
        for url in self.urls(PeerFactory(), LocationFactory()):
            assert client.get(url).status_code == 200

    def test_it_lets_anyone_signed_in_use_it_in_debug(self, client, settings):
        settings.DEBUG = True
        client.force_login(LocationMembershipFactory().user)
        assert client.get(reverse("demo:simulator")).status_code == 200

    def test_it_does_not_exist_when_switched_off(self, client, settings):
        settings.PEERRX_PHONE_SIMULATOR = False
        client.force_login(StaffUserFactory())
        for url in self.urls(PeerFactory(), LocationFactory()):
            assert client.get(url).status_code == 404

    def test_it_answers_404_for_an_unknown_peer_or_location(self, client):
        client.force_login(StaffUserFactory())
        assert client.get(reverse("demo:simulator_peer", args=[999999])).status_code == 404
        assert client.get(reverse("demo:simulator_location", args=[999999])).status_code == 404


class TestSimulatorPages:
    @pytest.fixture
    def staff_client(self, client):
        client.force_login(StaffUserFactory())
        return client

    def test_it_lists_and_searches_peers_and_locations(self, staff_client):
        wanted = PeerFactory(first_name="Rosa", last_name="Quintana")
        PeerFactory(first_name="Other", last_name="Person")
        location = LocationFactory(name="Quintana Clinic")
        response = staff_client.get(reverse("demo:simulator"), {"q": "quintana"})
        content = response.content.decode()
        assert response.status_code == 200
        assert reverse("demo:simulator_peer", args=[wanted.pk]) in content
        assert "Other Person" not in content
        assert reverse("demo:simulator_location", args=[location.pk]) in content
        assert 'for="id_q"' in content

    def test_it_lists_peers_in_constant_queries(self, staff_client, django_assert_num_queries):
        PeerFactory.create_batch(2)
        LocationFactory.create_batch(2)
        staff_client.get(reverse("demo:simulator"))  # warm up the session
        with django_assert_num_queries(5) as few:
            staff_client.get(reverse("demo:simulator"))
        PeerFactory.create_batch(10)
        LocationFactory.create_batch(10)
        with django_assert_num_queries(len(few)):
            assert staff_client.get(reverse("demo:simulator")).status_code == 200

    def test_it_shows_a_peers_inbox_newest_first_in_constant_queries(
        self, staff_client, django_assert_num_queries
    ):
        peer = PeerFactory(first_name="<script>alert(1)</script>")
        phone = str(peer.phone)
        OutboundMessageFactory(to=phone, body="Alert for 4821", created_at=T0)
        InboundMessageFactory(from_number=phone, body="YES 4821", received_at=T0 + dt.timedelta(minutes=1))
        OutboundMessageFactory(
            to=phone,
            body="You are assigned <b>4821</b>",
            kind=OutboundMessage.Kind.CONFIRMATION,
            created_at=T0 + dt.timedelta(minutes=2),
        )
        OutboundMessageFactory(to="+19995550000", body="Someone else's text")
        url = reverse("demo:simulator_peer", args=[peer.pk])
        staff_client.get(url)
        with django_assert_num_queries(5) as few:
            response = staff_client.get(url)
        content = response.content.decode()
        inbox = content[content.index('id="inbox"') :]
        assert inbox.index("You are assigned") < inbox.index("YES 4821") < inbox.index("Alert for 4821")
        assert "Someone else" not in content
        assert "<script>alert(1)</script>" not in content
        assert "&lt;b&gt;4821&lt;/b&gt;" in content
        assert 'hx-get="{}"'.format(reverse("demo:simulator_peer_inbox", args=[peer.pk])) in content
        assert 'hx-trigger="every 2s"' in content
        assert 'for="id_body"' in content
        OutboundMessageFactory.create_batch(5, to=phone)
        InboundMessageFactory.create_batch(5, from_number=phone)
        with django_assert_num_queries(len(few)):
            staff_client.get(url)

    def test_it_refreshes_the_inbox_as_a_fragment(self, staff_client):
        peer = PeerFactory()
        OutboundMessageFactory(to=str(peer.phone), body="Alert for 4821", error_code="30003")
        response = staff_client.get(reverse("demo:simulator_peer_inbox", args=[peer.pk]))
        content = response.content.decode()
        assert "Alert for 4821" in content
        assert "30003" in content
        assert "<html" not in content

    def test_it_replies_through_the_signed_webhook_path(self, staff_client, reply_handler, monkeypatch):
        checked = []
        real = transport.is_valid_signature

        def spy(*, url, params, signature):
            checked.append((url, signature))
            return real(url=url, params=params, signature=signature)

        monkeypatch.setattr(transport, "is_valid_signature", spy)
        peer = PeerFactory()
        url = reverse("demo:simulator_peer", args=[peer.pk])
        response = staff_client.post(url, {"body": "  YES 4821 "})
        assert response.status_code == 302
        assert response.url == url
        inbound = InboundMessage.objects.get()
        assert inbound.message_sid.startswith("SIM")
        assert (inbound.from_number, inbound.body) == (str(peer.phone), "YES 4821")
        assert checked == [("http://testserver/sms/inbound/", checked[0][1])]
        assert checked[0][1]
        assert reply_handler.calls[0][1] == "YES 4821"
        inbox = staff_client.get(reverse("demo:simulator_peer_inbox", args=[peer.pk])).content.decode()
        assert "Thanks, got it." in inbox
        assert "YES 4821" in inbox

    def test_it_refuses_an_empty_reply(self, staff_client, reply_handler):
        peer = PeerFactory()
        response = staff_client.post(reverse("demo:simulator_peer", args=[peer.pk]), {"body": "   "})
        assert response.status_code == 200
        assert "This field is required" in response.content.decode()
        assert not InboundMessage.objects.exists()

    def test_it_shows_texts_sent_to_a_locations_notification_phone(self, staff_client):
        location = LocationFactory()
        OutboundMessageFactory(
            to=str(location.notification_phone),
            body="Peer-RX: Dana Smith is on the way",
            kind=OutboundMessage.Kind.LOCATION_ASSIGNED,
        )
        response = staff_client.get(reverse("demo:simulator_location", args=[location.pk]))
        content = response.content.decode()
        assert "Dana Smith is on the way" in content
        assert "Location: peer assigned" in content
        assert 'name="body"' not in content  # a location's phone only receives
