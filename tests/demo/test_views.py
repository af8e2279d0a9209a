"""The phone simulator's pages: who may open them, what they show, replies typed as a peer."""

import datetime as dt

import pytest
from django.urls import reverse

from core.choices import OrganisationStatus
from peer_requests.models import Alert, RequestStatus
from sms import transport
from sms.models import InboundMessage, OutboundMessage
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationFactory, LocationMembershipFactory
from tests.peer_requests.factories import AlertFactory, PeerRequestFactory
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
        AlertFactory(request=PeerRequestFactory(), peer=PeerFactory())
        staff_client.get(reverse("demo:simulator"))  # warm up the session
        with django_assert_num_queries(7) as few:
            staff_client.get(reverse("demo:simulator"))
        PeerFactory.create_batch(10)
        LocationFactory.create_batch(10)
        for _ in range(3):
            AlertFactory(request=PeerRequestFactory(), peer=PeerFactory())
        with django_assert_num_queries(len(few)):
            assert staff_client.get(reverse("demo:simulator")).status_code == 200

    def test_it_marks_which_peers_were_alerted_for_each_live_request(self, staff_client):
        alerted = PeerFactory(first_name="Alerted", last_name="Peer")
        replied = PeerFactory(first_name="Replied", last_name="Peer")
        PeerFactory(first_name="Quiet", last_name="Peer")
        live = PeerRequestFactory(code="4821", status=RequestStatus.OPEN)
        AlertFactory(request=live, peer=alerted)
        AlertFactory(request=live, peer=replied, response=Alert.Response.YES)
        over = PeerRequestFactory(code="5555", status=RequestStatus.EXPIRED)
        AlertFactory(request=over, peer=PeerFactory(first_name="Earlier", last_name="Peer"))
        response = staff_client.get(reverse("demo:simulator"))
        [entry] = response.context["live"]
        assert entry.request == live
        assert {alert.peer for alert in entry.alerts} == {alerted, replied}
        marks = {peer.first_name: codes for peer, codes in response.context["peers"]}
        assert marks == {"Alerted": ["4821"], "Replied": ["4821"], "Quiet": [], "Earlier": []}
        content = response.content.decode()
        assert "Request 4821" in content and "Alerted · 4821" in content
        assert "Request 5555" not in content

    def test_it_shows_what_peer_rx_made_of_a_reply_in_words(self, staff_client):
        peer = PeerFactory()
        InboundMessageFactory(
            from_number=str(peer.phone), body="YES 4821", outcome="yes_recorded", handled_at=T0
        )
        InboundMessageFactory(
            from_number=str(peer.phone), body="hello?", outcome="unknown_silenced", handled_at=T0
        )
        content = staff_client.get(reverse("demo:simulator_peer", args=[peer.pk])).content.decode()
        assert "YES recorded: in the running for the choice" in content
        assert "Not understood: usage hint sent (no reply: too many unasked-for replies)" in content
        assert "yes_recorded" not in content

    def test_the_navigation_links_the_simulator_only_when_it_is_on(self, client, settings):
        client.force_login(StaffUserFactory())
        link = f'href="{reverse("demo:simulator")}"'
        assert link in client.get(reverse("staff:home")).content.decode()
        settings.PEERRX_PHONE_SIMULATOR = False
        assert link not in client.get(reverse("staff:home")).content.decode()

    def test_the_navigation_links_it_for_a_supervisor_in_debug_only(self, client, settings):
        membership = AgencyMembershipFactory(agency__status=OrganisationStatus.VERIFIED)
        client.force_login(membership.user)
        link = f'href="{reverse("demo:simulator")}"'
        settings.DEBUG = False
        assert link not in client.get(reverse("peers:roster")).content.decode()
        settings.DEBUG = True
        assert link in client.get(reverse("peers:roster")).content.decode()

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
