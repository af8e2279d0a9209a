import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from accounts.models import AuditEntry
from core.choices import OrganisationStatus
from peer_requests import services
from peer_requests.models import Alert, PeerRequest, RequestEvent, RequestStatus
from peer_requests.services import DispatchError, NoOutcome, WithdrawOutcome, YesOutcome
from peers.models import Peer
from sms.models import OutboundMessage
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import CountyFactory, LocationFactory
from tests.peer_requests.factories import AlertFactory, PeerRequestFactory
from tests.peers.factories import PeerFactory, language
from tests.world import T0, eligible_peer, make_world, submit

pytestmark = pytest.mark.django_db

SELECTION = dt.timedelta(seconds=600)
EXPIRY = dt.timedelta(seconds=1800)


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800


def kinds(peer_request):
    return list(peer_request.events.values_list("kind", flat=True))


def texts(kind, **filters):
    return list(OutboundMessage.objects.filter(kind=kind, **filters))


class TestSubmitRequest:
    def test_it_alerts_every_eligible_peer_once(self):
        world = make_world(peers=3)
        other_county_agency = AgencyFactory(counties=[CountyFactory(name="Ulster")])
        eligible_peer(agency=other_county_agency)
        opted_out = eligible_peer(agency=world.agency, opted_out_at=T0)
        PeerFactory(agency=world.agency)  # no credential, no hours

        peer_request = submit(world)

        assert peer_request.status == RequestStatus.COLLECTING
        assert len(peer_request.code) == 4
        assert peer_request.code.isdigit()
        assert peer_request.selection_due_at == T0 + SELECTION
        assert peer_request.expires_at == T0 + EXPIRY
        alerted = set(peer_request.alerts.values_list("peer_id", flat=True))
        assert alerted == {p.pk for p in world.peers}
        assert opted_out.pk not in alerted
        alerts = texts(OutboundMessage.Kind.ALERT, request=peer_request)
        assert len(alerts) == 3
        assert {m.alert.peer_id for m in alerts} == alerted
        assert all(m.valid_until == peer_request.expires_at for m in alerts)
        assert all(m.to == str(m.peer.phone) for m in alerts)
        assert all(f"YES {peer_request.code}" in m.body for m in alerts)
        assert kinds(peer_request) == [RequestEvent.Kind.SUBMITTED, RequestEvent.Kind.ALERTS_SENT]
        assert peer_request.events.get(kind=RequestEvent.Kind.ALERTS_SENT).detail == "3 peers alerted"

    def test_it_stores_the_answers(self):
        world = make_world(peers=0)
        nurse = UserFactory()
        peer_request = submit(
            world,
            age_range="36_plus",
            gender="male",
            languages=[language("es"), language("fr")],
            actor=nurse,
        )
        peer_request.refresh_from_db()
        assert peer_request.age_range == "36_plus"
        assert peer_request.gender == "male"
        assert set(peer_request.languages.values_list("code", flat=True)) == {"es", "fr"}
        assert peer_request.created_by == nurse
        assert peer_request.events.get(kind=RequestEvent.Kind.SUBMITTED).actor == nurse

    def test_it_says_when_nobody_is_available(self):
        world = make_world(peers=0)
        peer_request = submit(world)
        assert peer_request.alerts.count() == 0
        assert (
            peer_request.events.get(kind=RequestEvent.Kind.ALERTS_SENT).detail
            == "No peer is available right now"
        )

    def test_it_notes_a_submission_by_staff_on_behalf_of_the_location(self):
        world = make_world(peers=0)
        peer_request = submit(world, actor=StaffUserFactory())
        assert "Peer-RX staff" in peer_request.events.get(kind=RequestEvent.Kind.SUBMITTED).detail

    @pytest.mark.parametrize("status", [OrganisationStatus.PENDING, OrganisationStatus.SUSPENDED])
    def test_it_refuses_a_location_that_is_not_verified(self, status):
        world = make_world(peers=1)
        world.location.status = status
        world.location.save()
        with pytest.raises(DispatchError):
            submit(world)
        assert not PeerRequest.objects.exists()

    def test_it_retries_when_another_live_request_took_the_code(self, monkeypatch):
        world = make_world(peers=0)
        PeerRequestFactory(code="1111", location=world.location)
        codes = iter(["1111", "2222"])
        # Simulate a race: the code looked free but another submit inserted it first.
        monkeypatch.setattr(services, "_free_code", lambda taken: next(codes))
        peer_request = submit(world)
        assert peer_request.code == "2222"

    def test_it_reuses_the_code_of_a_closed_request(self, monkeypatch):
        world = make_world(peers=0)
        PeerRequestFactory(code="1111", location=world.location, status=RequestStatus.EXPIRED)
        monkeypatch.setattr(services, "_free_code", lambda taken: "1111")
        assert submit(world).code == "1111"

    def test_it_picks_codes_no_live_request_uses(self):
        taken = {str(code) for code in range(1000, 9999)}
        assert services._free_code(taken) == "9999"

    def test_it_enqueues_the_deadline_tasks_only_after_commit(
        self, monkeypatch, django_capture_on_commit_callbacks
    ):
        from peer_requests import tasks

        calls = []
        monkeypatch.setattr(
            tasks.complete_selection, "apply_async", lambda **kw: calls.append(("choice", kw))
        )
        monkeypatch.setattr(tasks.expire, "apply_async", lambda **kw: calls.append(("expire", kw)))
        world = make_world(peers=1)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            peer_request = submit(world)
        assert calls == []
        for callback in callbacks:
            callback()
        assert ("choice", {"args": [peer_request.pk], "eta": peer_request.selection_due_at}) in calls
        assert ("expire", {"args": [peer_request.pk], "eta": peer_request.expires_at}) in calls

    def test_it_survives_a_broker_outage_at_commit(self, monkeypatch, django_capture_on_commit_callbacks):
        from peer_requests import tasks

        def down(**kwargs):
            raise ConnectionError("broker down")

        monkeypatch.setattr(tasks.complete_selection, "apply_async", down)
        monkeypatch.setattr(tasks.expire, "apply_async", down)
        monkeypatch.setattr("sms.tasks.send_message.delay", lambda *a: down())
        world = make_world(peers=2)
        with django_capture_on_commit_callbacks(execute=True):
            peer_request = submit(world)
        assert PeerRequest.objects.filter(pk=peer_request.pk, status=RequestStatus.COLLECTING).exists()
        # The deadlines are in the database, so the sweeper alone finishes the request.
        services.complete_due_requests(now=T0 + SELECTION)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN


def submitted_with_yes(world, *yes_peers, at=T0 + dt.timedelta(minutes=1)):
    peer_request = submit(world)
    for offset, peer in enumerate(yes_peers):
        alert = peer_request.alerts.get(peer=peer)
        assert services.record_yes(alert=alert, now=at + dt.timedelta(seconds=offset)) == YesOutcome.RECORDED
    return peer_request


class TestCompleteSelection:
    def test_it_assigns_the_best_ranked_yes_and_tells_everyone(self):
        world = make_world(peers=3)
        first, second, silent = world.peers
        second.languages.add(language("es"))
        peer_request = submit(world, languages=[language("es")])
        services.record_yes(alert=peer_request.alerts.get(peer=first), now=T0 + dt.timedelta(minutes=1))
        services.record_yes(alert=peer_request.alerts.get(peer=second), now=T0 + dt.timedelta(minutes=2))

        assert services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION) is True

        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.ASSIGNED
        assert peer_request.assigned_peer == second
        assert peer_request.assigned_at == T0 + SELECTION
        assert "Spanish" in peer_request.assignment_reason
        winner = peer_request.alerts.get(peer=second)
        loser = peer_request.alerts.get(peer=first)
        assert winner.is_assigned and not loser.is_assigned
        assert (winner.rank, loser.rank) == (1, 2)
        assert winner.score > loser.score
        assert winner.score_breakdown and loser.score_breakdown
        assert peer_request.alerts.get(peer=silent).rank is None

        confirmation = texts(OutboundMessage.Kind.CONFIRMATION, request=peer_request)
        assert [m.peer for m in confirmation] == [second]
        assert world.location.address in confirmation[0].body
        assert "Charge nurse, ext. 4410" in confirmation[0].body
        assert f"CANCEL {peer_request.code}" in confirmation[0].body
        assert [m.peer for m in texts(OutboundMessage.Kind.FILLED, request=peer_request)] == [first]
        to_location = texts(OutboundMessage.Kind.LOCATION_ASSIGNED, request=peer_request)
        assert len(to_location) == 1
        assert to_location[0].to == str(world.location.notification_phone)
        assert second.full_name in to_location[0].body
        assert world.agency.name in to_location[0].body

        event = peer_request.events.get(kind=RequestEvent.Kind.ASSIGNED)
        assert event.peer == second
        audit = AuditEntry.objects.get(action="request.assigned")
        assert audit.target_id == str(peer_request.pk)

    def test_it_opens_the_request_without_any_yes(self):
        world = make_world(peers=2)
        peer_request = submit(world)
        services.record_no(alert=peer_request.alerts.first(), now=T0 + dt.timedelta(minutes=1))
        assert services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION) is True
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN
        assert peer_request.assigned_peer is None
        # Opened, and the net widened to the backup agencies (of which this county has none).
        assert kinds(peer_request)[-2:] == [RequestEvent.Kind.OPENED, RequestEvent.Kind.WIDENED]

    def test_it_does_nothing_before_the_choice_time(self):
        world = make_world(peers=1)
        peer_request = submitted_with_yes(world, world.peers[0])
        assert (
            services.complete_selection(
                request_id=peer_request.pk, now=T0 + SELECTION - dt.timedelta(seconds=1)
            )
            is False
        )
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.COLLECTING

    def test_it_assigns_once_when_run_twice(self):
        world = make_world(peers=2)
        peer_request = submitted_with_yes(world, *world.peers)
        assert services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION) is True
        assert (
            services.complete_selection(
                request_id=peer_request.pk, now=T0 + SELECTION + dt.timedelta(seconds=5)
            )
            is False
        )
        assert peer_request.alerts.filter(is_assigned=True).count() == 1
        assert kinds(peer_request).count(RequestEvent.Kind.ASSIGNED) == 1
        assert len(texts(OutboundMessage.Kind.CONFIRMATION, request=peer_request)) == 1
        assert len(texts(OutboundMessage.Kind.LOCATION_ASSIGNED, request=peer_request)) == 1

    def test_it_does_nothing_to_a_cancelled_request_or_an_unknown_id(self):
        world = make_world(peers=1)
        peer_request = submitted_with_yes(world, world.peers[0])
        services.cancel_request(peer_request=peer_request, actor=None, now=T0 + dt.timedelta(minutes=2))
        assert services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION) is False
        assert services.complete_selection(request_id=999_999, now=T0 + SELECTION) is False

    def test_it_skips_a_yes_from_a_peer_who_opted_out_since(self):
        world = make_world(peers=2)
        gone, staying = world.peers
        peer_request = submitted_with_yes(world, gone, staying)
        Peer.objects.filter(pk=gone.pk).update(opted_out_at=T0 + dt.timedelta(minutes=3))
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer == staying


class TestRecordYes:
    def test_it_records_a_yes_while_collecting(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        alert = peer_request.alerts.get()
        at = T0 + dt.timedelta(minutes=3)
        assert services.record_yes(alert=alert, now=at) == YesOutcome.RECORDED
        alert.refresh_from_db()
        assert (alert.response, alert.responded_at) == (Alert.Response.YES, at)
        assert (
            services.record_yes(alert=alert, now=at + dt.timedelta(seconds=9)) == YesOutcome.ALREADY_RECORDED
        )
        alert.refresh_from_db()
        assert alert.responded_at == at
        assert kinds(peer_request).count(RequestEvent.Kind.REPLY_YES) == 1

    def test_the_first_yes_wins_an_open_request(self):
        world = make_world(peers=2)
        first, second = world.peers
        peer_request = submit(world)
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        at = T0 + dt.timedelta(minutes=15)
        assert services.record_yes(alert=peer_request.alerts.get(peer=first), now=at) == YesOutcome.ASSIGNED
        assert services.record_yes(alert=peer_request.alerts.get(peer=second), now=at) == YesOutcome.FILLED
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer == first
        assert peer_request.assignment_reason == services.OPEN_WINDOW_REASON
        # The late YES still counts for the record (and for a withdrawal).
        assert peer_request.alerts.get(peer=second).response == Alert.Response.YES
        assert len(texts(OutboundMessage.Kind.CONFIRMATION, request=peer_request)) == 1

    def test_a_yes_after_the_choice_time_whose_task_is_late_is_an_open_window_yes(self):
        world = make_world(peers=2)
        early, late = world.peers
        peer_request = submitted_with_yes(world, early)
        assert (
            services.record_yes(alert=peer_request.alerts.get(peer=late), now=T0 + SELECTION)
            == YesOutcome.FILLED
        )
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer == early

    def test_a_late_yes_with_nobody_else_wins_once_the_overdue_choice_ran(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        outcome = services.record_yes(
            alert=peer_request.alerts.get(), now=T0 + SELECTION + dt.timedelta(seconds=1)
        )
        assert outcome == YesOutcome.ASSIGNED
        assert kinds(peer_request)[-4:] == [
            RequestEvent.Kind.OPENED,
            RequestEvent.Kind.WIDENED,
            RequestEvent.Kind.REPLY_YES,
            RequestEvent.Kind.ASSIGNED,
        ]

    def test_a_yes_after_expiry_finds_the_request_closed(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        assert services.record_yes(alert=peer_request.alerts.get(), now=T0 + EXPIRY) == YesOutcome.CLOSED
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.EXPIRED
        assert peer_request.alerts.get().response == ""

    def test_a_yes_from_the_assigned_peer_changes_nothing(self):
        world = make_world(peers=1)
        peer_request = submitted_with_yes(world, world.peers[0])
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        alert = peer_request.alerts.get()
        assert services.record_yes(alert=alert, now=T0 + SELECTION) == YesOutcome.ALREADY_ASSIGNED

    def test_a_yes_may_follow_a_no(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        alert = peer_request.alerts.get()
        services.record_no(alert=alert, reason="in_transit", now=T0 + dt.timedelta(minutes=1))
        assert services.record_yes(alert=alert, now=T0 + dt.timedelta(minutes=2)) == YesOutcome.RECORDED
        alert.refresh_from_db()
        assert (alert.response, alert.decline_reason) == (Alert.Response.YES, "")


class TestRecordNo:
    def test_it_records_a_no_with_or_without_a_reason(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        alert = peer_request.alerts.get()
        assert services.record_no(alert=alert, now=T0 + dt.timedelta(minutes=1)) == NoOutcome.RECORDED
        alert.refresh_from_db()
        assert (alert.response, alert.decline_reason) == (Alert.Response.NO, "")
        assert services.record_decline_reason(alert=alert, reason="off_shift") is True
        assert services.record_decline_reason(alert=alert, reason="personal") is False
        alert.refresh_from_db()
        assert alert.decline_reason == "off_shift"
        assert kinds(peer_request).count(RequestEvent.Kind.REPLY_NO) == 1

    def test_a_no_replaces_a_yes_before_the_choice(self):
        world = make_world(peers=1)
        peer_request = submitted_with_yes(world, world.peers[0])
        alert = peer_request.alerts.get()
        assert (
            services.record_no(alert=alert, reason="personal", now=T0 + dt.timedelta(minutes=4))
            == NoOutcome.RECORDED
        )
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN

    def test_the_assigned_peer_must_cancel_instead(self):
        world = make_world(peers=1)
        peer_request = submitted_with_yes(world, world.peers[0])
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        alert = peer_request.alerts.get()
        assert services.record_no(alert=alert, now=T0 + SELECTION) == NoOutcome.ASSIGNED_TO_YOU
        alert.refresh_from_db()
        assert alert.is_assigned

    def test_a_no_to_a_closed_request_is_not_recorded(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        services.cancel_request(peer_request=peer_request, actor=None, now=T0)
        assert services.record_no(alert=peer_request.alerts.get(), now=T0) == NoOutcome.CLOSED
        assert peer_request.alerts.get().response == ""


class TestExpire:
    def test_it_expires_an_open_request_and_texts_the_location(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        assert services.expire(request_id=peer_request.pk, now=T0 + EXPIRY - dt.timedelta(seconds=1)) is False
        assert services.expire(request_id=peer_request.pk, now=T0 + EXPIRY) is True
        assert services.expire(request_id=peer_request.pk, now=T0 + EXPIRY) is False
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.EXPIRED
        assert peer_request.closed_at == T0 + EXPIRY
        assert kinds(peer_request).count(RequestEvent.Kind.EXPIRED) == 1
        [text] = texts(OutboundMessage.Kind.LOCATION_EXPIRED, request=peer_request)
        assert text.to == str(world.location.notification_phone)
        assert f"/requests/{peer_request.pk}/" in text.body
        assert "Resubmit" in text.body

    def test_a_collecting_request_with_no_yes_expires_straight_away_when_its_choice_never_ran(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        assert services.expire(request_id=peer_request.pk, now=T0 + EXPIRY) is True
        assert kinds(peer_request)[-3:] == [
            RequestEvent.Kind.OPENED,
            RequestEvent.Kind.WIDENED,
            RequestEvent.Kind.EXPIRED,
        ]

    def test_a_collecting_request_with_a_yes_is_assigned_rather_than_expired(self):
        world = make_world(peers=1)
        peer_request = submitted_with_yes(world, world.peers[0])
        assert services.expire(request_id=peer_request.pk, now=T0 + EXPIRY) is False
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.ASSIGNED

    def test_it_leaves_an_assigned_request_alone(self):
        world = make_world(peers=1)
        peer_request = submitted_with_yes(world, world.peers[0])
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        assert services.expire(request_id=peer_request.pk, now=T0 + EXPIRY) is False
        assert services.expire(request_id=999_999, now=T0 + EXPIRY) is False


class TestCancelRequest:
    @pytest.mark.parametrize("opened", [False, True])
    def test_it_cancels_a_collecting_or_open_request_and_tells_the_yes_responders(self, opened):
        world = make_world(peers=2)
        responder, _silent = world.peers
        peer_request = submit(world)
        if opened:
            services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
            assert peer_request.alerts.count() == 2
        else:
            services.record_yes(
                alert=peer_request.alerts.get(peer=responder), now=T0 + dt.timedelta(minutes=1)
            )
        nurse = UserFactory()
        services.cancel_request(peer_request=peer_request, actor=nurse, now=T0 + dt.timedelta(minutes=11))
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.CANCELLED
        assert peer_request.closed_at == T0 + dt.timedelta(minutes=11)
        assert peer_request.events.get(kind=RequestEvent.Kind.CANCELLED).actor == nurse
        assert AuditEntry.objects.filter(action="request.cancelled", actor=nurse).exists()
        told = [m.peer for m in texts(OutboundMessage.Kind.CANCELLED, request=peer_request)]
        assert told == ([] if opened else [responder])

    def test_it_refuses_an_assigned_request(self):
        world = make_world(peers=1)
        peer_request = submitted_with_yes(world, world.peers[0])
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        with pytest.raises(DispatchError):
            services.cancel_request(peer_request=peer_request, actor=None, now=T0 + SELECTION)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.ASSIGNED


class TestWithdraw:
    def assigned(self, world, *yes_peers):
        peer_request = submitted_with_yes(world, *yes_peers)
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        peer_request.refresh_from_db()
        return peer_request

    def test_the_next_best_yes_takes_over(self):
        world = make_world(peers=3)
        peer_request = self.assigned(world, *world.peers[:2])
        leaving = peer_request.assigned_peer
        staying = next(p for p in world.peers[:2] if p != leaving)
        alert = peer_request.alerts.get(peer=leaving)
        at = T0 + dt.timedelta(minutes=12)

        assert services.withdraw(alert=alert, now=at) == WithdrawOutcome.REASSIGNED

        peer_request.refresh_from_db()
        alert.refresh_from_db()
        assert peer_request.status == RequestStatus.ASSIGNED
        assert peer_request.assigned_peer == staying
        assert peer_request.assignment_reason.startswith("Next best after a withdrawal")
        assert (alert.is_assigned, alert.withdrawn_at) == (False, at)
        assert peer_request.alerts.filter(is_assigned=True).get().peer == staying
        assert kinds(peer_request)[-2:] == [RequestEvent.Kind.WITHDRAWN, RequestEvent.Kind.ASSIGNED]
        confirmations = texts(OutboundMessage.Kind.CONFIRMATION, request=peer_request)
        assert {m.peer for m in confirmations} == {leaving, staying}
        # The filled text went out once, at the first assignment.
        assert len(texts(OutboundMessage.Kind.FILLED, request=peer_request)) == 1
        latest = (
            OutboundMessage.objects.filter(kind=OutboundMessage.Kind.LOCATION_ASSIGNED)
            .order_by("-id")
            .first()
        )
        assert leaving.full_name in latest.body
        assert staying.full_name in latest.body

    def test_the_request_reopens_without_another_yes(self):
        world = make_world(peers=2)
        peer_request = self.assigned(world, world.peers[0])
        alert = peer_request.alerts.get(peer=world.peers[0])
        assert services.withdraw(alert=alert, now=T0 + dt.timedelta(minutes=12)) == WithdrawOutcome.REOPENED
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN
        assert peer_request.assigned_peer is None
        assert peer_request.closed_at is None
        assert kinds(peer_request)[-1] == RequestEvent.Kind.REOPENED
        latest = (
            OutboundMessage.objects.filter(kind=OutboundMessage.Kind.LOCATION_REOPENED)
            .order_by("-id")
            .first()
        )
        assert "can no longer come" in latest.body
        # The withdrawn peer's YES no longer counts; another peer's YES now wins.
        assert services.record_yes(alert=alert, now=T0 + dt.timedelta(minutes=13)) == YesOutcome.CLOSED
        other = peer_request.alerts.get(peer=world.peers[1])
        assert services.record_yes(alert=other, now=T0 + dt.timedelta(minutes=14)) == YesOutcome.ASSIGNED

    def test_the_request_expires_when_a_withdrawal_comes_after_its_expiry(self):
        world = make_world(peers=1)
        peer_request = self.assigned(world, world.peers[0])
        alert = peer_request.alerts.get()
        assert (
            services.withdraw(alert=alert, now=T0 + EXPIRY + dt.timedelta(minutes=1))
            == WithdrawOutcome.EXPIRED
        )
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.EXPIRED

    def test_only_the_assigned_peer_can_withdraw_and_only_once(self):
        world = make_world(peers=2)
        peer_request = self.assigned(world, *world.peers)
        other = peer_request.alerts.get(is_assigned=False)
        assert services.withdraw(alert=other, now=T0 + SELECTION) == WithdrawOutcome.NOT_ASSIGNED
        mine = peer_request.alerts.get(is_assigned=True)
        assert services.withdraw(alert=mine, now=T0 + SELECTION) == WithdrawOutcome.REASSIGNED
        assert services.withdraw(alert=mine, now=T0 + SELECTION) == WithdrawOutcome.NOT_ASSIGNED


class TestResubmit:
    def expired(self, world, **kwargs):
        peer_request = submit(world, **kwargs)
        services.expire(request_id=peer_request.pk, now=T0 + EXPIRY)
        peer_request.refresh_from_db()
        return peer_request

    def test_it_creates_a_new_request_with_the_same_answers(self):
        world = make_world(peers=1)
        old = self.expired(world, age_range="18_35", gender="female", languages=[language("es")])
        nurse = UserFactory()
        later = T0 + dt.timedelta(hours=1)
        new = services.resubmit(peer_request=old, actor=nurse, now=later)
        assert new.pk != old.pk
        assert new.resubmitted_from == old
        assert (new.need, new.age_range, new.gender, new.callback_contact) == (
            old.need,
            old.age_range,
            old.gender,
            old.callback_contact,
        )
        assert list(new.languages.all()) == [language("es")]
        assert new.status == RequestStatus.COLLECTING
        assert new.expires_at == later + EXPIRY
        assert new.alerts.count() == 1
        assert old.events.get(kind=RequestEvent.Kind.RESUBMITTED).detail == f"New request {new.code}"
        assert services.resubmit(peer_request=old, actor=nurse, now=later) == new

    def test_it_refuses_a_request_that_has_not_expired(self):
        world = make_world(peers=0)
        with pytest.raises(DispatchError):
            services.resubmit(peer_request=submit(world), actor=None, now=T0)


class TestRecordFollowUp:
    def test_it_records_outcome_note_who_and_when(self):
        world = make_world(peers=0)
        peer_request = submit(world)
        services.expire(request_id=peer_request.pk, now=T0 + EXPIRY)
        staff = StaffUserFactory()
        at = T0 + dt.timedelta(hours=2)
        services.record_follow_up(
            peer_request=peer_request,
            actor=staff,
            outcome=PeerRequest.FollowUpOutcome.PEER_FOUND_BY_PHONE,
            note="  Called HVPS directly ",
            now=at,
        )
        peer_request.refresh_from_db()
        assert peer_request.followed_up_at == at
        assert peer_request.followed_up_by == staff
        assert peer_request.follow_up_outcome == "found_by_phone"
        assert peer_request.follow_up_note == "Called HVPS directly"
        event = peer_request.events.get(kind=RequestEvent.Kind.FOLLOWED_UP)
        assert event.actor == staff
        assert "Called HVPS directly" in event.detail
        assert AuditEntry.objects.filter(action="request.followed_up", actor=staff).exists()
        with pytest.raises(DispatchError):
            services.record_follow_up(peer_request=peer_request, actor=staff, outcome="other", now=at)

    def test_it_refuses_a_request_that_is_not_expired_or_a_bad_outcome(self):
        world = make_world(peers=1)  # alerted someone, so not urgent
        peer_request = submit(world)
        staff = StaffUserFactory()
        with pytest.raises(DispatchError):
            services.record_follow_up(peer_request=peer_request, actor=staff, outcome="other", now=T0)
        services.expire(request_id=peer_request.pk, now=T0 + EXPIRY)
        with pytest.raises(DispatchError):
            services.record_follow_up(peer_request=peer_request, actor=staff, outcome="nonsense", now=T0)


class TestCompleteDueRequests:
    def test_the_sweeper_alone_finishes_due_requests(self):
        world = make_world(peers=2)
        with_yes = submitted_with_yes(world, world.peers[0])
        without = submit(world)
        assert (
            services.complete_due_requests(now=T0 + SELECTION - dt.timedelta(seconds=1))
            == services.SweepResult()
        )
        assert services.complete_due_requests(now=T0 + SELECTION) == services.SweepResult(
            selected=2, expired=0
        )
        assert services.complete_due_requests(now=T0 + EXPIRY) == services.SweepResult(selected=0, expired=1)
        with_yes.refresh_from_db()
        without.refresh_from_db()
        assert with_yes.status == RequestStatus.ASSIGNED
        assert without.status == RequestStatus.EXPIRED
        assert services.complete_due_requests(now=T0 + EXPIRY) == services.SweepResult()

    def test_one_failing_request_does_not_stop_the_others(self, monkeypatch):
        world = make_world(peers=0)
        broken = submit(world)
        fine = submit(world)
        real = services.complete_selection

        def flaky(*, request_id, now):
            if request_id == broken.pk:
                raise RuntimeError("boom")
            return real(request_id=request_id, now=now)

        monkeypatch.setattr(services, "complete_selection", flaky)
        assert services.complete_due_requests(now=T0 + SELECTION).selected == 1
        fine.refresh_from_db()
        assert fine.status == RequestStatus.OPEN


class TestDatabaseConstraints:
    def test_the_database_refuses_a_second_assigned_alert(self):
        peer_request = PeerRequestFactory(location=LocationFactory())
        AlertFactory(request=peer_request, is_assigned=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            AlertFactory(request=peer_request, is_assigned=True)

    def test_the_database_refuses_two_live_requests_with_one_code(self):
        PeerRequestFactory(code="4821")
        with pytest.raises(IntegrityError), transaction.atomic():
            PeerRequestFactory(code="4821", status=RequestStatus.OPEN)
        PeerRequestFactory(code="4821", status=RequestStatus.EXPIRED)
