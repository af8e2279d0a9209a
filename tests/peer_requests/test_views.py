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
from tests.accounts.factories import CountyFactory, StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
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

    def test_failed_texts_are_a_count_for_the_location_and_details_for_staff_only(
        self, client, owner, outsider, staff, world
    ):
        peer_request = submit(world, at=None)
        failing = world.peers[1]
        OutboundMessage.objects.filter(peer=failing).update(
            status=OutboundStatus.FAILED, error_code="21211", error_message="Invalid phone number."
        )
        # The refusal handler's timeline entry carries the number and the provider's error.
        RequestEventFactory(
            request=peer_request,
            kind=RequestEvent.Kind.SMS_FAILED,
            peer=failing,
            detail=f"Alert to {failing.phone}: 21211 Invalid phone number.",
        )
        supervisor_of_the_peer = AgencyMembershipFactory(agency=world.agency).user
        client.force_login(owner)
        response = client.get(self.url(peer_request))
        assert response.context["progress"].failed == 1
        body = response.content.decode()
        assert "1 text could not be delivered." in body
        assert "Text failed" in body
        for secret in (
            failing.full_name,
            failing.phone.as_national,
            str(failing.phone),
            "21211",
            "Invalid phone",
        ):
            assert secret not in body, secret
        # Peer-RX staff see which text failed, to whom and why.
        client.force_login(staff)
        body = client.get(self.url(peer_request)).content.decode()
        assert "Texts that failed" in body
        assert "error 21211" in body and failing.full_name in body
        # The peer's agency reads its peers' texts on its own pages; the request page is not one.
        client.force_login(supervisor_of_the_peer)
        assert client.get(self.url(peer_request)).status_code == 403
        client.force_login(outsider)
        assert client.get(self.url(peer_request)).status_code == 404

    def test_an_expired_request_offers_resubmit(self, client, owner, world):
        peer_request = submit(world, at=T0)
        services.expire(request_id=peer_request.pk, now=T0 + dt.timedelta(minutes=30))
        client.force_login(owner)
        body = client.get(self.url(peer_request)).content.decode()
        assert "Expired: no peer was found in time." in body
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
        # Session, user, membership, the most requested languages, the languages, and one count
        # per kind of support.
        with django_assert_num_queries(9):
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


HTMX = {"HTTP_HX_REQUEST": "true"}


def _assigned(world, *, at=T0, yes=(0,), **fields):
    """A request with YES from the world's peers at ``yes`` and the choice made."""
    peer_request = submit(world, at=at, **fields)
    for index in yes:
        services.record_yes(
            alert=peer_request.alerts.get(peer=world.peers[index]), now=at + dt.timedelta(minutes=1 + index)
        )
    services.complete_selection(request_id=peer_request.pk, now=at + dt.timedelta(minutes=10))
    peer_request.refresh_from_db()
    return peer_request


class TestLivePage:
    def url(self, peer_request, name="detail"):
        return reverse(f"peer_requests:{name}", args=[peer_request.pk])

    def test_a_withdrawal_says_who_can_no_longer_come_and_the_reassignment_who_comes(
        self, client, owner, world
    ):
        peer_request = _assigned(world, yes=(0, 1))
        first, second = (
            peer_request.assigned_peer,
            next(p for p in world.peers if p != peer_request.assigned_peer),
        )
        client.force_login(owner)
        assert (
            client.get(self.url(peer_request, "live")).context["headline"]
            == f"{first.full_name} is assigned."
        )
        services.withdraw(alert=peer_request.alerts.get(peer=first), now=T0 + dt.timedelta(minutes=12))
        response = client.get(self.url(peer_request, "live"))
        assert response.context["headline"] == (
            f"{first.first_name} can no longer come. {second.full_name} is assigned."
        )
        # The second withdraws too: nobody else said YES, so it reopens and looks for another peer.
        services.withdraw(alert=peer_request.alerts.get(peer=second), now=T0 + dt.timedelta(minutes=13))
        response = client.get(self.url(peer_request, "live"), **HTMX)
        body = response.content.decode()
        assert response.status_code == 200
        assert f"{second.first_name} can no longer come — looking for another peer." in body
        assert 'role="status"' in body and "headline-warning" in body
        assert 'hx-trigger="every 2s"' in body
        assert second.full_name not in body.split('id="timeline"')[0]  # no longer shown as coming

    def test_the_live_region_holds_the_state_sentence_and_no_countdown(self, client, owner, world):
        peer_request = submit(world, at=None)
        client.force_login(owner)
        body = client.get(self.url(peer_request, "live")).content.decode()
        live_regions = body.count('role="status"') + body.count("aria-live")
        assert live_regions == 1
        region = body.split('role="status"', 1)[1].split("</p>", 1)[0]
        assert "Looking for a peer" in region and "data-countdown" not in region
        assert body.count('data-countdown="') == body.count('aria-hidden="true">') - body.count("<svg")

    def test_nobody_alerted_says_so_what_happens_next_and_whom_to_call(self, client):
        world = make_world(peers=0)
        other_county = AgencyFactory(name="Far Away Peers", counties=[CountyFactory(name="Putnam")])
        membership = LocationMembershipFactory(location=world.location)
        peer_request = submit(world, at=None)
        client.force_login(membership.user)
        body = client.get(self.url(peer_request)).content.decode()
        assert "No peer is available right now." in body
        assert "What happens next:" in body and "What you can do:" in body
        assert world.agency.name in body and world.agency.phone.as_national in body
        assert other_county.name not in body
        assert "Looking for a peer" not in body

    def test_an_expired_request_gives_the_on_call_numbers_and_says_staff_follow_up(
        self, client, owner, world, django_assert_num_queries
    ):
        pending = AgencyFactory(
            name="Pending Peers", counties=[world.location.county], status=OrganisationStatus.PENDING
        )
        peer_request = submit(world, at=T0)
        services.expire(request_id=peer_request.pk, now=T0 + dt.timedelta(minutes=30))
        client.force_login(owner)
        response = client.get(self.url(peer_request, "live"), **HTMX)
        assert response.status_code == 286  # htmx stops polling: the request is over
        body = response.content.decode()
        assert "Peer-RX staff have been told and will follow up with you." in body
        assert f'href="tel:{world.agency.phone.as_e164}"' in body
        assert pending.name not in body
        assert "hx-trigger" not in body

    def test_unmet_preferences_are_said_plainly(self, client, owner, world):
        peer_request = _assigned(world, languages=[language("es")], gender="male", age_range="36_plus")
        peer = peer_request.assigned_peer
        assert "es" not in set(peer.languages.values_list("code", flat=True))
        client.force_login(owner)
        body = client.get(self.url(peer_request)).content.decode()
        assert "<strong>Not matched:</strong> Spanish — arrange an interpreter" in body
        if peer.gender != "male":
            assert "<strong>Not matched:</strong> a male peer" in body
        if peer.age_range != "36_plus":
            assert "<strong>Not matched:</strong> a peer aged 36+" in body

    def test_a_met_preference_is_not_listed(self, client, owner, world):
        peer = world.peers[0]
        peer.languages.add(language("es"))
        peer_request = _assigned(world, languages=[language("es")])
        client.force_login(owner)
        assert "Not matched" not in client.get(self.url(peer_request)).content.decode()

    def test_the_page_and_its_partial_run_a_fixed_number_of_queries(
        self, client, owner, world, django_assert_num_queries
    ):
        peer_request = _assigned(world, yes=(0, 1))
        client.force_login(owner)
        client.get(self.url(peer_request))  # warm up the session
        # Session, user, membership, location, the request (with its resubmission links), its
        # languages, progress (2), timeline, YES replies and the failed texts' count.
        with django_assert_num_queries(11):
            assert client.get(self.url(peer_request)).status_code == 200
        with django_assert_num_queries(11):
            assert client.get(self.url(peer_request, "live"), **HTMX).status_code == 200


class TestRequestListRefresh:
    url = reverse("peer_requests:list")

    def test_it_polls_while_a_listed_request_is_live_and_stops_after(self, client, owner, world):
        peer_request = submit(world, at=T0)
        client.force_login(owner)
        assert 'hx-trigger="every 5s"' in client.get(self.url).content.decode()
        partial = client.get(self.url, **HTMX)
        assert partial.status_code == 200
        assert "<html" not in partial.content.decode()
        services.expire(request_id=peer_request.pk, now=T0 + dt.timedelta(minutes=30))
        assert client.get(self.url, **HTMX).status_code == 286
        assert "hx-trigger" not in client.get(self.url).content.decode()

    def test_it_links_an_expired_request_and_its_resubmission_both_ways(self, client, owner, world):
        first = submit(world, at=T0)
        services.expire(request_id=first.pk, now=T0 + dt.timedelta(minutes=30))
        second = services.resubmit(peer_request=first, actor=owner, now=T0 + dt.timedelta(minutes=31))
        client.force_login(owner)
        body = client.get(self.url).content.decode()
        assert (
            f'resubmitted as <a href="{reverse("peer_requests:detail", args=[second.pk])}">{second.code}</a>'
            in body
        )
        assert (
            f'resubmission of <a href="{reverse("peer_requests:detail", args=[first.pk])}">{first.code}</a>'
            in body
        )


class TestStartPage:
    url = reverse("locations:home")

    def test_it_offers_one_primary_action_the_live_requests_and_the_recent_ones(
        self, client, owner, outsider, world
    ):
        live = submit(world, at=T0)
        done = submit(world, at=T0)
        services.cancel_request(peer_request=done, actor=owner, now=T0 + dt.timedelta(minutes=1))
        theirs = PeerRequestFactory(location=outsider.location_membership.location)
        client.force_login(owner)
        response = client.get(self.url)
        assert [r.pk for r in response.context["live"]] == [live.pk]
        assert [r.pk for r in response.context["recent"]] == [done.pk]
        body = response.content.decode()
        assert body.count("btn-primary") == 1
        assert body.count(f'href="{reverse("peer_requests:create")}"') == 1
        assert f'href="{reverse("peer_requests:detail", args=[live.pk])}"' in body
        assert theirs.code not in body or f"args=[{theirs.pk}]" not in body
        assert f'href="{reverse("locations:details")}">Organisation details' in body
        assert world.location.address not in body  # the details are one link away

    def test_a_pending_location_sees_its_status_and_no_requests(self, client):
        pending = LocationMembershipFactory(location__status=OrganisationStatus.PENDING)
        client.force_login(pending.user)
        body = client.get(self.url).content.decode()
        assert "Awaiting verification" in body
        assert reverse("peer_requests:create") not in body

    def test_it_tells_a_suspended_location_it_is_suspended(self, client):
        membership = LocationMembershipFactory(location__status=OrganisationStatus.SUSPENDED)
        client.force_login(membership.user)
        assert "is suspended and cannot act" in client.get(self.url).content.decode()

    def test_its_rows_refresh_while_one_is_live_and_its_queries_are_fixed(
        self, client, owner, world, django_assert_num_queries
    ):
        live = submit(world, at=T0)
        client.force_login(owner)
        client.get(self.url)
        for _ in range(3):
            PeerRequestFactory(location=world.location, status=RequestStatus.EXPIRED)
        # Session, user, membership, location, the live requests, the recent ones.
        with django_assert_num_queries(6):
            assert client.get(self.url).status_code == 200
        assert client.get(self.url, **HTMX).status_code == 200
        services.cancel_request(peer_request=live, actor=owner, now=T0 + dt.timedelta(minutes=1))
        assert client.get(self.url, **HTMX).status_code == 286

    def test_other_roles_are_refused(self, client, supervisor, staff):
        for user in (supervisor, staff):
            client.force_login(user)
            assert client.get(self.url).status_code == 403


class TestRequestFormErrors:
    url = reverse("peer_requests:create")

    def test_no_kind_of_support_is_chosen_for_the_nurse(self, client, owner):
        client.force_login(owner)
        body = client.get(self.url).content.decode()
        assert (
            'name="need"' in body and "checked" not in body.split('name="need"', 1)[1].split("</fieldset>")[0]
        )

    def test_errors_get_a_summary_linking_each_field_and_the_title_says_error(self, client, owner):
        client.force_login(owner)
        response = client.post(self.url, {"callback_contact": ""})
        body = response.content.decode()
        assert "<title>Error: Request a peer" in body
        assert "data-error-summary" in body
        assert '<a href="#id_need_0">Choose the kind of support</a>' in body
        assert (
            '<a href="#id_callback_contact">Say whom the peer should ask for: a staff name or extension</a>'
            in body
        )
        assert '<span class="visually-hidden">Error: </span>Choose the kind of support' in body
        assert "This field is required" not in body

    def test_the_contact_comes_before_the_preferences_and_five_languages_before_the_others(
        self, client, owner, world
    ):
        spanish = language("es")
        submit(world, at=T0, languages=[spanish])
        client.force_login(owner)
        body = client.get(self.url).content.decode()
        assert body.index('name="callback_contact"') < body.index('name="age_range"')
        common, others = body.split("Other languages")
        assert common.count('name="languages"') == 5
        assert (
            f'value="{spanish.pk}"'
            in common.split('class="language-choices"', 1)[1].split("</div>")[0] + common
        )
        assert others.count('name="languages"') >= 1
