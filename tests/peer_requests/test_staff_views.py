import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry
from core.choices import OrganisationStatus
from peer_requests.models import PeerRequest, RequestEvent, RequestStatus
from peers.models import Credential
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import LocationFactory, LocationMembershipFactory
from tests.peer_requests.factories import PeerRequestFactory
from tests.peers.factories import CredentialFactory
from tests.world import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return StaffUserFactory()


def expired(**kwargs):
    return PeerRequestFactory(status=RequestStatus.EXPIRED, closed_at=T0 + dt.timedelta(minutes=30), **kwargs)


class TestPermissions:
    @pytest.mark.parametrize("name", ["home", "follow_ups"])
    def test_only_peer_rx_staff_get_in(self, client, staff, name):
        url = reverse(f"staff:{name}")
        client.force_login(LocationMembershipFactory().user)
        assert client.get(url).status_code == 403
        client.force_login(AgencyMembershipFactory().user)
        assert client.get(url).status_code == 403
        client.logout()
        assert client.get(url).status_code == 302
        client.force_login(staff)
        assert client.get(url).status_code == 200

    def test_only_staff_record_a_follow_up(self, client):
        peer_request = expired()
        url = reverse("staff:record_follow_up", args=[peer_request.pk])
        client.force_login(LocationMembershipFactory(location=peer_request.location).user)
        assert client.post(url, {"outcome": "other"}).status_code == 403
        peer_request.refresh_from_db()
        assert peer_request.followed_up_at is None


class TestHome:
    def test_it_counts_active_requests_follow_ups_due_and_pending_organisations(self, client, staff):
        PeerRequestFactory()
        PeerRequestFactory(status=RequestStatus.OPEN)
        expired()
        expired(followed_up_at=T0, follow_up_outcome="other")
        LocationFactory(status=OrganisationStatus.PENDING)
        AgencyFactory(status=OrganisationStatus.PENDING)
        AgencyFactory(status=OrganisationStatus.PENDING)
        client.force_login(staff)
        counts = client.get(reverse("staff:home")).context["counts"]
        assert (counts.active_requests, counts.follow_ups_due) == (2, 1)
        assert (counts.pending_locations, counts.pending_agencies, counts.pending_organisations) == (1, 2, 3)

    def test_it_counts_credentials_awaiting_validation_and_links_each_count_to_its_admin_list(
        self, client, staff, django_assert_num_queries
    ):
        CredentialFactory(status=Credential.Status.PENDING)
        CredentialFactory(status=Credential.Status.PENDING)
        CredentialFactory(status=Credential.Status.VALIDATED)
        CredentialFactory(status=Credential.Status.REJECTED)
        client.force_login(staff)
        client.get(reverse("staff:home"))  # the session and the user are cached from here
        with django_assert_num_queries(7):  # the counts, and whether texts reach the SMS provider
            response = client.get(reverse("staff:home"))
        assert response.context["credentials_awaiting_validation"] == 2
        body = response.content.decode()
        assert f"{reverse('admin:peers_credential_changelist')}?status__exact=pending" in body
        assert f"{reverse('admin:locations_location_changelist')}?status__exact=pending" in body
        assert f"{reverse('admin:agencies_agency_changelist')}?status__exact=pending" in body
        assert 'display-6">2</div><div class="staff-count-label">credentials awaiting validation' in body


class TestFollowUps:
    def test_the_queue_lists_expired_requests_not_followed_up_oldest_first(self, client, staff):
        older = expired(expires_at=T0)
        newer = expired(expires_at=T0 + dt.timedelta(hours=1))
        expired(followed_up_at=T0, follow_up_outcome="other")
        PeerRequestFactory()
        client.force_login(staff)
        response = client.get(reverse("staff:follow_ups"))
        assert list(response.context["page"].object_list) == [older, newer]
        body = response.content.decode()
        assert 'for="outcome-' in body and 'for="note-' in body

    def test_staff_mark_a_request_followed_up_with_outcome_and_note(self, client, staff):
        peer_request = expired()
        client.force_login(staff)
        response = client.post(
            reverse("staff:record_follow_up", args=[peer_request.pk]),
            {"outcome": PeerRequest.FollowUpOutcome.NO_LONGER_NEEDED, "note": "Patient discharged"},
        )
        assert response.status_code == 302
        peer_request.refresh_from_db()
        assert peer_request.followed_up_by == staff
        assert peer_request.followed_up_at is not None
        assert peer_request.follow_up_outcome == "no_longer_needed"
        assert peer_request.follow_up_note == "Patient discharged"
        assert peer_request.events.filter(kind=RequestEvent.Kind.FOLLOWED_UP, actor=staff).exists()
        assert AuditEntry.objects.filter(action="request.followed_up").count() == 1
        # It has left the queue; a second post finds nothing to follow up.
        assert (
            client.post(
                reverse("staff:record_follow_up", args=[peer_request.pk]), {"outcome": "other"}
            ).status_code
            == 404
        )

    def test_an_outcome_is_required(self, client, staff):
        peer_request = expired()
        client.force_login(staff)
        response = client.post(
            reverse("staff:record_follow_up", args=[peer_request.pk]), {"note": "x"}, follow=True
        )
        assert "choose an outcome" in response.content.decode()
        peer_request.refresh_from_db()
        assert peer_request.followed_up_at is None

    def test_a_live_request_is_not_in_the_queue(self, client, staff):
        peer_request = PeerRequestFactory()
        client.force_login(staff)
        url = reverse("staff:record_follow_up", args=[peer_request.pk])
        assert client.post(url, {"outcome": "other"}).status_code == 404

    def test_its_query_count_does_not_grow_with_the_queue(self, client, staff):
        client.force_login(staff)
        for _ in range(2):
            expired()
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("staff:follow_ups"))
        for _ in range(8):
            expired()
        with CaptureQueriesContext(connection) as many:
            client.get(reverse("staff:follow_ups"))
        assert len(many) == len(few)
