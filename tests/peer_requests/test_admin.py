import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.choices import Need
from peer_requests import services
from peer_requests.models import PeerRequest, RequestEvent, RequestStatus
from tests.accounts.factories import OperatorFactory, StaffUserFactory
from tests.peer_requests.factories import AlertFactory, PeerRequestFactory, RequestEventFactory
from tests.world import T0, make_world

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:peer_requests_peerrequest_changelist")


@pytest.fixture
def staff(client):
    user = StaffUserFactory()
    client.force_login(user)
    return user


def change_url(peer_request):
    return reverse("admin:peer_requests_peerrequest_change", args=[peer_request.pk])


class TestChangelist:
    def test_it_lists_and_filters_follow_ups_due(self, client, staff):
        due = PeerRequestFactory(status=RequestStatus.EXPIRED)
        PeerRequestFactory()
        response = client.get(CHANGELIST, {"follow_up": "due"})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [due]

    def test_its_query_count_does_not_grow_with_the_rows(self, client, staff):
        PeerRequestFactory.create_batch(2)
        with CaptureQueriesContext(connection) as few:
            client.get(CHANGELIST)
        PeerRequestFactory.create_batch(8)
        with CaptureQueriesContext(connection) as many:
            client.get(CHANGELIST)
        assert len(many) == len(few)

    def test_it_counts_the_rows_once_a_page(self, client, staff):
        PeerRequestFactory.create_batch(3)
        with CaptureQueriesContext(connection) as queries:
            client.get(CHANGELIST)
        assert sum("COUNT(" in q["sql"].upper() for q in queries.captured_queries) == 1

    def test_it_finds_a_code_exactly(self, client, staff):
        wanted = PeerRequestFactory(code="4821")
        PeerRequestFactory(code="1482")  # contains the term, is not the code
        response = client.get(CHANGELIST, {"q": " 4821 "})
        assert list(response.context["cl"].result_list) == [wanted]

    def test_it_finds_a_location_by_part_of_its_name(self, client, staff):
        wanted = PeerRequestFactory(location__name="Hudson Valley ED")
        PeerRequestFactory(location__name="Orange Clinic")
        response = client.get(CHANGELIST, {"q": "valley"})
        assert list(response.context["cl"].result_list) == [wanted]


class TestChangePage:
    def scored_request(self):
        world = make_world(peers=2)
        peer_request = services.submit_request(
            location=world.location, need=Need.SUBSTANCE_USE, callback_contact="Desk", actor=None, now=T0
        )
        for alert in peer_request.alerts.all():
            services.record_yes(alert=alert, now=T0 + dt.timedelta(minutes=1))
        services.complete_selection(request_id=peer_request.pk, now=T0 + dt.timedelta(minutes=10))
        return peer_request

    def test_it_shows_alerts_with_their_score_breakdown_and_the_events(self, client, staff):
        peer_request = self.scored_request()
        body = client.get(change_url(peer_request)).content.decode()
        assert "Score breakdown" in body
        assert "Total" in body
        assert "Peer assigned" in body

    def test_its_query_count_does_not_grow_with_alerts_and_events(self, client, staff):
        peer_request = self.scored_request()
        # One row of each first: a staff member's permissions are read once rows are shown.
        alert = AlertFactory(request=peer_request)
        RequestEventFactory(request=peer_request, kind=RequestEvent.Kind.REPLY_NO, peer=alert.peer)
        with CaptureQueriesContext(connection) as few:
            assert client.get(change_url(peer_request)).status_code == 200
        for _ in range(6):
            alert = AlertFactory(request=peer_request)
            RequestEventFactory(request=peer_request, kind=RequestEvent.Kind.REPLY_NO, peer=alert.peer)
        with CaptureQueriesContext(connection) as many:
            assert client.get(change_url(peer_request)).status_code == 200
        assert len(many) == len(few)

    def test_nothing_but_the_follow_up_can_be_changed(self, client, staff):
        peer_request = PeerRequestFactory(status=RequestStatus.COLLECTING)
        response = client.get(change_url(peer_request))
        assert set(response.context["adminform"].form.fields) == set()
        client.post(change_url(peer_request), {"status": "assigned", "code": "9999"})
        peer_request.refresh_from_db()
        assert (peer_request.status, peer_request.code) == (RequestStatus.COLLECTING, peer_request.code)

    def test_staff_record_a_follow_up_in_the_admin(self, client, staff):
        peer_request = PeerRequestFactory(status=RequestStatus.EXPIRED)
        form = client.get(change_url(peer_request)).context["adminform"].form
        assert set(form.fields) == {"follow_up_outcome", "follow_up_note"}
        data = {
            "follow_up_outcome": PeerRequest.FollowUpOutcome.UNREACHABLE,
            "follow_up_note": "No answer twice",
            "alerts-TOTAL_FORMS": "0",
            "alerts-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        }
        response = client.post(change_url(peer_request), data)
        assert response.status_code == 302
        peer_request.refresh_from_db()
        assert peer_request.follow_up_outcome == "unreachable"
        assert peer_request.follow_up_note == "No answer twice"
        assert peer_request.followed_up_by == staff
        assert peer_request.events.filter(kind=RequestEvent.Kind.FOLLOWED_UP).exists()

    def test_requests_cannot_be_added_or_deleted_here(self, client, staff):
        assert client.get(reverse("admin:peer_requests_peerrequest_add")).status_code == 403
        peer_request = PeerRequestFactory()
        assert (
            client.get(reverse("admin:peer_requests_peerrequest_delete", args=[peer_request.pk])).status_code
            == 403
        )


class TestHeartbeatAdmin:
    def test_it_lists_the_heartbeats_to_operators(self, client):
        client.force_login(OperatorFactory())
        from peer_requests.models import Heartbeat

        Heartbeat.objects.create(name="sweeper", beat_at=T0)
        response = client.get(reverse("admin:peer_requests_heartbeat_changelist"))
        assert response.status_code == 200
        assert "sweeper" in response.content.decode()


class TestTimesInTheLocationsZone:
    def test_the_timeline_shows_local_times_with_the_zone_and_no_utc_beside_them(self, client, staff):
        peer_request = PeerRequestFactory(location__timezone="America/Chicago")
        RequestEventFactory(request=peer_request, at=dt.datetime(2026, 1, 5, 15, 4, 5, tzinfo=dt.UTC))
        page = client.get(change_url(peer_request)).content.decode()
        assert "Jan 5, 2026, 09:04:05 CST" in page
        assert "15:04:05" not in page  # the event's str(), a bare UTC time, is left out

    def test_every_time_on_the_page_is_in_the_locations_zone(self, client, staff):
        peer_request = PeerRequestFactory(
            location__timezone="America/Los_Angeles",
            created_at=dt.datetime(2026, 7, 1, 18, 30, tzinfo=dt.UTC),
        )
        page = client.get(change_url(peer_request)).content.decode()
        assert "11:30" in page  # created at, in Pacific daylight time
