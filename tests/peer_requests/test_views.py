import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from core.choices import Need, OrganisationStatus
from peer_requests import services
from peer_requests.models import Alert, PeerRequest, RequestEvent, RequestStatus
from sms.models import OutboundMessage, OutboundStatus
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationFactory, LocationMembershipFactory
from tests.peer_requests.factories import AlertFactory, PeerRequestFactory, RequestEventFactory
from tests.peers.factories import PeerFactory, language
from tests.world import T0, make_world, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800


@pytest.fixture
def world():
    return make_world(peers=2)


@pytest.fixture
def owner(world):
    return LocationMembershipFactory(location=world.location).user


@pytest.fixture
def outsider():
    """Staff of another, verified location."""
    return LocationMembershipFactory(location=LocationFactory()).user


@pytest.fixture
def supervisor():
    return AgencyMembershipFactory().user


@pytest.fixture
def staff():
    return StaffUserFactory()


VALID_FORM = {"need": Need.MENTAL_HEALTH, "age_range": "", "gender": "", "callback_contact": "Sam at triage"}


class TestRequestCreate:
    url = reverse("peer_requests:create")

    def test_it_shows_the_form_without_any_patient_field_and_says_why(self, client, owner):
        client.force_login(owner)
        response = client.get(self.url)
        assert response.status_code == 200
        form = response.context["form"]
        assert set(form.fields) == {"need", "age_range", "gender", "languages", "callback_contact"}
        assert all(field.label for field in form.fields.values())
        body = response.content.decode()
        assert "There is no field for the patient on purpose" in body
        assert "never the patient" in body

    def test_it_submits_a_request_and_alerts_the_peers(self, client, owner, world):
        client.force_login(owner)
        data = VALID_FORM | {"languages": [language("es").pk]}
        response = client.post(self.url, data)
        peer_request = PeerRequest.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("peer_requests:detail", args=[peer_request.pk])
        assert peer_request.location == world.location
        assert peer_request.need == Need.MENTAL_HEALTH
        assert peer_request.callback_contact == "Sam at triage"
        assert peer_request.created_by == owner
        assert list(peer_request.languages.values_list("code", flat=True)) == ["es"]
        # The world's peers hold CRPA only: nobody qualifies for mental health support.
        assert peer_request.alerts.count() == 0

    def test_it_alerts_peers_who_qualify(self, client, owner, world):
        client.force_login(owner)
        client.post(self.url, VALID_FORM | {"need": Need.SUBSTANCE_USE})
        assert PeerRequest.objects.get().alerts.count() == 2

    def test_it_shows_errors_for_a_blank_contact(self, client, owner):
        client.force_login(owner)
        response = client.post(self.url, VALID_FORM | {"callback_contact": "   "})
        assert response.status_code == 200
        assert response.context["form"].errors["callback_contact"]
        assert not PeerRequest.objects.exists()

    @pytest.mark.parametrize("status", [OrganisationStatus.PENDING, OrganisationStatus.SUSPENDED])
    def test_a_location_that_is_not_verified_cannot_submit(self, client, owner, world, status):
        world.location.status = status
        world.location.save()
        client.force_login(owner)
        assert client.get(self.url).status_code == 403
        assert client.post(self.url, VALID_FORM).status_code == 403
        assert not PeerRequest.objects.exists()

    def test_other_roles_are_refused_and_anonymous_users_sent_to_log_in(self, client, supervisor, staff):
        client.force_login(supervisor)
        assert client.get(self.url).status_code == 403
        client.force_login(staff)
        assert client.get(self.url).status_code == 403
        client.logout()
        response = client.get(self.url)
        assert response.status_code == 302
        assert reverse("login") in response.url


class TestStaffRequestCreate:
    url = reverse("peer_requests:staff_create")

    def test_staff_submit_on_behalf_of_a_verified_location(self, client, staff, world):
        client.force_login(staff)
        pending = LocationFactory(status=OrganisationStatus.PENDING)
        response = client.get(self.url)
        choices = [value for value, _label in response.context["form"].fields["location"].choices]
        assert pending.pk not in [getattr(v, "value", v) for v in choices]
        response = client.post(
            self.url, VALID_FORM | {"location": world.location.pk, "need": Need.SUBSTANCE_USE}
        )
        peer_request = PeerRequest.objects.get()
        assert response.status_code == 302
        assert peer_request.location == world.location
        assert peer_request.created_by == staff
        assert "Peer-RX staff" in peer_request.events.get(kind=RequestEvent.Kind.SUBMITTED).detail
        assert peer_request.alerts.count() == 2

    def test_it_refuses_a_pending_location(self, client, staff):
        client.force_login(staff)
        pending = LocationFactory(status=OrganisationStatus.PENDING)
        response = client.post(self.url, VALID_FORM | {"location": pending.pk})
        assert response.status_code == 200
        assert response.context["form"].errors["location"]

    def test_location_staff_are_refused(self, client, owner):
        client.force_login(owner)
        assert client.get(self.url).status_code == 403


class TestRequestList:
    url = reverse("peer_requests:list")

    def test_location_staff_see_their_own_requests_only(self, client, owner, outsider, world):
        mine = PeerRequestFactory(location=world.location)
        theirs = PeerRequestFactory(location=outsider.location_membership.location)
        client.force_login(owner)
        assert list(client.get(self.url).context["page"].object_list) == [mine]
        client.force_login(outsider)
        assert list(client.get(self.url).context["page"].object_list) == [theirs]

    def test_staff_see_every_request(self, client, staff, world):
        requests = [PeerRequestFactory(location=world.location), PeerRequestFactory()]
        client.force_login(staff)
        assert set(client.get(self.url).context["page"].object_list) == set(requests)

    def test_it_filters_by_status(self, client, owner, world):
        collecting = PeerRequestFactory(location=world.location)
        opened = PeerRequestFactory(location=world.location, status=RequestStatus.OPEN)
        expired = PeerRequestFactory(location=world.location, status=RequestStatus.EXPIRED)
        client.force_login(owner)
        assert set(client.get(self.url, {"status": "active"}).context["page"].object_list) == {
            collecting,
            opened,
        }
        assert list(client.get(self.url, {"status": "expired"}).context["page"].object_list) == [expired]
        assert len(client.get(self.url, {"status": "bogus"}).context["page"].object_list) == 3

    def test_it_counts_alerts_and_yes(self, client, owner, world):
        peer_request = PeerRequestFactory(location=world.location)
        AlertFactory(request=peer_request, response=Alert.Response.YES)
        AlertFactory(request=peer_request, response=Alert.Response.NO)
        AlertFactory(request=peer_request)
        client.force_login(owner)
        [row] = client.get(self.url).context["page"].object_list
        assert (row.alert_count, row.yes_count) == (3, 1)

    def test_other_roles_are_refused(self, client, supervisor):
        client.force_login(supervisor)
        assert client.get(self.url).status_code == 403
        client.logout()
        assert client.get(self.url).status_code == 302

    def test_its_query_count_does_not_grow_with_the_rows(self, client, owner, staff, world):
        def fill(n):
            for _ in range(n):
                peer = PeerFactory(agency=world.agency)
                peer_request = PeerRequestFactory(
                    location=world.location, status=RequestStatus.ASSIGNED, assigned_peer=peer
                )
                AlertFactory(request=peer_request, peer=peer, response=Alert.Response.YES, is_assigned=True)

        for user in (owner, staff):
            client.force_login(user)
            fill(2)
            with CaptureQueriesContext(connection) as few:
                assert client.get(self.url).status_code == 200
            fill(8)
            with CaptureQueriesContext(connection) as many:
                assert client.get(self.url).status_code == 200
            assert len(many) == len(few)


class TestRequestDetail:
    def url(self, peer_request, name="detail"):
        return reverse(f"peer_requests:{name}", args=[peer_request.pk])

    def test_the_owner_and_staff_see_it_others_get_404_or_403(
        self, client, owner, outsider, supervisor, staff, world
    ):
        peer_request = submit(world, at=None)
        for name in ("detail", "live"):
            client.force_login(owner)
            assert client.get(self.url(peer_request, name)).status_code == 200
            client.force_login(staff)
            assert client.get(self.url(peer_request, name)).status_code == 200
            client.force_login(outsider)
            assert client.get(self.url(peer_request, name)).status_code == 404
            client.force_login(supervisor)
            assert client.get(self.url(peer_request, name)).status_code == 403
            client.logout()
            assert client.get(self.url(peer_request, name)).status_code == 302

    def test_a_live_request_polls_its_partial_and_shows_the_counts_and_countdowns(self, client, owner, world):
        with freeze_time(T0):
            peer_request = submit(world, at=T0)
        OutboundMessage.objects.filter(peer=world.peers[0]).update(status=OutboundStatus.DELIVERED)
        services.record_yes(
            alert=peer_request.alerts.get(peer=world.peers[0]), now=T0 + dt.timedelta(minutes=1)
        )
        services.record_no(
            alert=peer_request.alerts.get(peer=world.peers[1]), now=T0 + dt.timedelta(minutes=2)
        )
        client.force_login(owner)
        with freeze_time(T0 + dt.timedelta(minutes=2, seconds=30)):
            response = client.get(self.url(peer_request))
        body = response.content.decode()
        assert f'hx-get="{self.url(peer_request, "live")}"' in body
        assert 'hx-trigger="every 2s"' in body
        progress = response.context["progress"]
        assert (progress.alerts, progress.delivered, progress.yes, progress.no, progress.no_reply) == (
            2,
            1,
            1,
            1,
            0,
        )
        assert 'data-countdown="450"' in body  # 7:30 to the choice
        assert "7:30" in body
        assert "27:30" in body
        # Location staff see that peers replied, not who.
        assert world.peers[0].full_name not in body
        assert "Peer replied YES" in body

    def test_an_assigned_request_shows_the_peer_and_polls_until_the_encounter_is_finished(
        self, client, owner, world
    ):
        peer_request = submit(world, at=T0)
        services.record_yes(
            alert=peer_request.alerts.get(peer=world.peers[0]), now=T0 + dt.timedelta(minutes=1)
        )
        services.complete_selection(request_id=peer_request.pk, now=T0 + dt.timedelta(minutes=10))
        peer = world.peers[0]
        client.force_login(owner)
        body = client.get(self.url(peer_request, "live")).content.decode()
        assert peer.full_name in body
        assert world.agency.name in body
        assert peer.phone.as_national in body
        peer_request.refresh_from_db()
        assert peer_request.assignment_reason in body
        assert "hx-trigger" in body  # the encounter is still under way: on the way, arrived, done
        assert "Cancel the request" not in body
        services.record_finished(peer_request=peer_request, peer=peer, now=T0 + dt.timedelta(minutes=50))
        body = client.get(self.url(peer_request, "live")).content.decode()
        assert "encounter finished" in body
        assert "hx-trigger" not in body

    def test_staff_see_the_responders_ranked(self, client, staff, world):
        peer_request = submit(world, at=T0)
        for peer in world.peers:
            services.record_yes(alert=peer_request.alerts.get(peer=peer), now=T0 + dt.timedelta(minutes=1))
        services.complete_selection(request_id=peer_request.pk, now=T0 + dt.timedelta(minutes=10))
        client.force_login(staff)
        response = client.get(self.url(peer_request))
        assert [a.rank for a in response.context["responders"]] == [1, 2]
        body = response.content.decode()
        assert all(peer.full_name in body for peer in world.peers)

    def test_failed_texts_are_shown(self, client, owner, world):
        peer_request = submit(world, at=None)
        OutboundMessage.objects.filter(peer=world.peers[1]).update(
            status=OutboundStatus.FAILED, error_code="21211", error_message="Invalid phone number."
        )
        client.force_login(owner)
        response = client.get(self.url(peer_request))
        assert response.context["progress"].failed == 1
        body = response.content.decode()
        assert "Texts that failed" in body
        assert "error 21211" in body

    def test_an_expired_request_offers_resubmit(self, client, owner, world):
        peer_request = submit(world, at=T0)
        services.expire(request_id=peer_request.pk, now=T0 + dt.timedelta(minutes=30))
        client.force_login(owner)
        body = client.get(self.url(peer_request)).content.decode()
        assert "No peer was found in time" in body
        assert self.url(peer_request, "resubmit") in body
        assert "hx-trigger" not in body

    def test_its_query_counts_do_not_grow_with_alerts_and_events(self, client, owner, staff, world):
        peer_request = submit(world, at=T0)

        def grow(n):
            for _ in range(n):
                alert = AlertFactory(
                    request=peer_request, peer=PeerFactory(agency=world.agency), response=Alert.Response.YES
                )
                RequestEventFactory(request=peer_request, kind=RequestEvent.Kind.REPLY_YES, peer=alert.peer)
                OutboundMessage.objects.create(
                    to="+15005550009",
                    body="x",
                    kind=OutboundMessage.Kind.ALERT,
                    request=peer_request,
                    peer=alert.peer,
                    status=OutboundStatus.FAILED,
                    next_attempt_at=T0,
                    created_at=T0,
                )

        for user in (owner, staff):
            client.force_login(user)
            for name in ("detail", "live"):
                grow(1)
                with CaptureQueriesContext(connection) as few:
                    assert client.get(self.url(peer_request, name)).status_code == 200
                grow(6)
                with CaptureQueriesContext(connection) as many:
                    assert client.get(self.url(peer_request, name)).status_code == 200
                assert len(many) == len(few), name


class TestCancel:
    def url(self, peer_request):
        return reverse("peer_requests:cancel", args=[peer_request.pk])

    def test_the_owner_cancels_a_live_request(self, client, owner, world):
        peer_request = submit(world, at=None)
        client.force_login(owner)
        response = client.post(self.url(peer_request))
        assert response.status_code == 302
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.CANCELLED
        assert peer_request.events.get(kind=RequestEvent.Kind.CANCELLED).actor == owner

    def test_another_location_gets_404_and_get_is_not_allowed(self, client, owner, outsider, world):
        peer_request = submit(world, at=None)
        client.force_login(outsider)
        assert client.post(self.url(peer_request)).status_code == 404
        client.force_login(owner)
        assert client.get(self.url(peer_request)).status_code == 405
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.COLLECTING

    def test_an_assigned_request_cannot_be_cancelled(self, client, owner, world):
        peer_request = submit(world, at=T0)
        services.record_yes(alert=peer_request.alerts.first(), now=T0 + dt.timedelta(minutes=1))
        services.complete_selection(request_id=peer_request.pk, now=T0 + dt.timedelta(minutes=10))
        client.force_login(owner)
        response = client.post(self.url(peer_request), follow=True)
        assert "can no longer be cancelled" in response.content.decode()
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.ASSIGNED


class TestResubmit:
    def url(self, peer_request):
        return reverse("peer_requests:resubmit", args=[peer_request.pk])

    def test_the_owner_resubmits_an_expired_request(self, client, owner, world):
        old = submit(world, at=T0, age_range="36_plus")
        services.expire(request_id=old.pk, now=T0 + dt.timedelta(minutes=30))
        client.force_login(owner)
        response = client.post(self.url(old))
        new = PeerRequest.objects.get(resubmitted_from=old)
        assert response.status_code == 302
        assert response.url == reverse("peer_requests:detail", args=[new.pk])
        assert new.age_range == "36_plus"
        assert new.status == RequestStatus.COLLECTING
        assert "Resubmitted as" in client.get(reverse("peer_requests:detail", args=[old.pk])).content.decode()

    def test_a_live_request_cannot_be_resubmitted(self, client, owner, world):
        peer_request = submit(world, at=None)
        client.force_login(owner)
        response = client.post(self.url(peer_request), follow=True)
        assert "Only an expired request" in response.content.decode()
        assert PeerRequest.objects.count() == 1

    def test_another_location_gets_404(self, client, outsider, world):
        old = submit(world, at=T0)
        services.expire(request_id=old.pk, now=T0 + dt.timedelta(minutes=30))
        client.force_login(outsider)
        assert client.post(self.url(old)).status_code == 404


class TestNavigation:
    def test_location_staff_and_staff_get_their_links(self, client, owner, staff):
        client.force_login(owner)
        body = client.get(reverse("peer_requests:list")).content.decode()
        assert reverse("peer_requests:create") in body
        client.force_login(staff)
        body = client.get(reverse("peer_requests:list")).content.decode()
        assert reverse("staff:follow_ups") in body
        assert reverse("peer_requests:staff_create") in body

    def test_a_pending_location_has_no_request_link(self, client):
        user = UserFactory()
        LocationMembershipFactory(user=user, location=LocationFactory(status=OrganisationStatus.PENDING))
        client.force_login(user)
        body = client.get(reverse("peer_requests:list")).content.decode()
        assert reverse("peer_requests:create") not in body


class TestAvailableNow:
    def test_the_form_counts_the_peers_available_now_for_each_kind_of_support(
        self, client, owner, world, django_assert_num_queries
    ):
        client.force_login(owner)
        client.get(reverse("peer_requests:create"))  # warm up the session
        # Session, user, membership, languages, and one count per kind of support.
        with django_assert_num_queries(8):
            response = client.get(reverse("peer_requests:create"))
        assert response.context["available"] == [
            ("Mental health", 0),
            ("Substance use", 2),
            ("Co-occurring", 2),
        ]
        assert "Peers available now:" in response.content.decode()
        assert "Substance use 2" in response.content.decode()


class TestNobodyAvailable:
    def test_the_page_says_so_at_once_instead_of_peers_are_replying(self, client):
        world = make_world(peers=0)
        membership = LocationMembershipFactory(location=world.location)
        peer_request = submit(world, at=None)
        client.force_login(membership.user)
        body = client.get(reverse("peer_requests:detail", args=[peer_request.pk])).content.decode()
        assert "No peer is available right now" in body
        assert "not even from the backup agencies" in body
        assert "Peer-RX staff have been told" in body
        assert "Peers are replying" not in body


class TestWiden:
    def url(self, peer_request):
        return reverse("peer_requests:widen", args=[peer_request.pk])

    def test_staff_widen_a_live_request_the_location_and_outsiders_cannot(
        self, client, owner, outsider, staff, world
    ):
        peer_request = submit(world, at=None)
        for user in (owner, outsider):
            client.force_login(user)
            assert client.post(self.url(peer_request)).status_code == 403
        client.force_login(staff)
        page = client.get(reverse("peer_requests:detail", args=[peer_request.pk])).content.decode()
        assert "Alert the backup agencies now" in page
        response = client.post(self.url(peer_request), follow=True)
        assert response.status_code == 200
        assert "widened: 0 peers of backup agencies alerted" in response.content.decode()
        peer_request.refresh_from_db()
        assert peer_request.widened_at is not None
        assert "Alert the backup agencies now" not in response.content.decode()
        client.post(self.url(peer_request))
        assert peer_request.events.filter(kind=RequestEvent.Kind.WIDENED).count() == 1

    def test_get_is_refused_and_a_closed_request_cannot_be_widened(self, client, staff, world):
        peer_request = submit(world, at=None)
        services.cancel_request(peer_request=peer_request, actor=None)
        client.force_login(staff)
        assert client.get(self.url(peer_request)).status_code == 405
        response = client.post(self.url(peer_request), follow=True)
        assert "Only a request still looking for a peer can be widened." in response.content.decode()
        assert client.post(reverse("peer_requests:widen", args=[999999])).status_code == 404


class TestEncounterButtons:
    def assigned(self, world):
        peer_request = submit(world, at=None)
        services.record_yes(alert=peer_request.alerts.get(peer=world.peers[0]))
        services.complete_selection(request_id=peer_request.pk, now=peer_request.selection_due_at)
        peer_request.refresh_from_db()
        return peer_request

    def test_the_owner_marks_the_arrival_and_the_finish(self, client, owner, world):
        peer_request = self.assigned(world)
        client.force_login(owner)
        page = client.get(reverse("peer_requests:detail", args=[peer_request.pk])).content.decode()
        assert "Peer arrived" in page and "The peer has not come" in page
        assert "waiting for them to say they are on the way" in page
        response = client.post(reverse("peer_requests:arrived", args=[peer_request.pk]), follow=True)
        assert "Arrival recorded." in response.content.decode()
        peer_request.refresh_from_db()
        assert peer_request.arrived_by == owner
        assert "arrived at" in response.content.decode()
        assert "The peer has not come" not in response.content.decode()
        response = client.post(reverse("peer_requests:finished", args=[peer_request.pk]), follow=True)
        assert "Encounter finished. Thank you." in response.content.decode()
        peer_request.refresh_from_db()
        assert (peer_request.finished_by, peer_request.finished_how) == (
            owner,
            PeerRequest.FinishedHow.LOCATION,
        )

    def test_others_cannot_and_get_is_refused(self, client, outsider, supervisor, world):
        peer_request = self.assigned(world)
        for name in ("arrived", "finished", "not_come"):
            url = reverse(f"peer_requests:{name}", args=[peer_request.pk])
            client.force_login(outsider)
            assert client.post(url).status_code == 404
            client.force_login(supervisor)
            assert client.post(url).status_code == 403
            assert client.get(url).status_code == 405
        peer_request.refresh_from_db()
        assert (peer_request.arrived_at, peer_request.finished_at) == (None, None)

    def test_the_peer_has_not_come_reopens_the_request(self, client, staff, world):
        peer_request = self.assigned(world)
        client.force_login(staff)
        response = client.post(reverse("peer_requests:not_come", args=[peer_request.pk]), follow=True)
        assert "open again" in response.content.decode()
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN
        response = client.post(reverse("peer_requests:not_come", args=[peer_request.pk]), follow=True)
        assert "No peer is on the way to this request." in response.content.decode()


class TestEncountersPage:
    url = reverse("encounters:list")

    def finished(self, world):
        peer_request = submit(world, at=None)
        services.record_yes(alert=peer_request.alerts.get(peer=world.peers[0]))
        services.complete_selection(request_id=peer_request.pk, now=peer_request.selection_due_at)
        peer_request.refresh_from_db()
        services.record_finished(peer_request=peer_request, peer=world.peers[0])
        return peer_request

    def test_supervisors_of_the_agency_see_and_correct_outcomes_others_cannot(
        self, client, owner, world, django_assert_num_queries
    ):
        encounter = self.finished(world)
        supervisor = AgencyMembershipFactory(agency=world.agency).user
        colleague = AgencyMembershipFactory(agency=world.agency).user
        other_agency = AgencyMembershipFactory().user
        client.force_login(supervisor)
        client.get(self.url)
        self.finished(world)  # more rows, the same queries
        with django_assert_num_queries(7):
            page = client.get(self.url).content.decode()
        assert f"Request {encounter.code}" in page and "no outcome yet" in page
        client.force_login(colleague)
        response = client.post(
            reverse("encounters:outcome", args=[encounter.pk]),
            {"outcome": "referred", "kit": "yes"},
            follow=True,
        )
        assert f"Outcome of request {encounter.code} saved." in response.content.decode()
        encounter.refresh_from_db()
        assert (encounter.encounter_outcome, encounter.naloxone_kit_given) == ("referred", True)
        assert encounter.outcome_recorded_by == colleague
        client.force_login(other_agency)
        assert f"Request {encounter.code}" not in client.get(self.url).content.decode()
        assert (
            client.post(reverse("encounters:outcome", args=[encounter.pk]), {"outcome": "left"}).status_code
            == 404
        )
        client.force_login(owner)
        assert client.get(self.url).status_code == 403
        encounter.refresh_from_db()
        assert encounter.encounter_outcome == "referred"

    def test_a_bad_outcome_is_refused_with_a_message(self, client, world):
        encounter = self.finished(world)
        client.force_login(AgencyMembershipFactory(agency=world.agency).user)
        response = client.post(
            reverse("encounters:outcome", args=[encounter.pk]), {"outcome": "Jane Doe"}, follow=True
        )
        assert "Choose how the encounter ended." in response.content.decode()
        encounter.refresh_from_db()
        assert encounter.encounter_outcome == ""
