"""The loop closed: on the way, arrived, finished and its outcome; the acknowledgement and
late-arrival watch; a peer who has not come; busy until done."""

import datetime as dt

import pytest
from django.core import mail

from accounts.models import AuditEntry
from peer_requests import selectors, services
from peer_requests.models import Alert, EncounterOutcome, PeerRequest, RequestEvent, RequestStatus
from peer_requests.services import DispatchError, EncounterOutcomeRecorded, WithdrawOutcome
from sms.models import OutboundMessage
from sms.services import handle_inbound_message
from tests.accounts.factories import UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.world import T0, inbound, make_world, submit

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)
ASSIGNED = T0 + 10 * MINUTE


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    settings.PEERRX_ACK_SECONDS = 300
    settings.PEERRX_ARRIVAL_GRACE_SECONDS = 900
    settings.PEERRX_ASSIGNMENT_HOURS = 4


def assigned(world, *yes_peers):
    peer_request = submit(world)
    for peer in yes_peers or world.peers[:1]:
        services.record_yes(alert=peer_request.alerts.get(peer=peer), now=T0 + MINUTE)
    services.complete_selection(request_id=peer_request.pk, now=ASSIGNED)
    peer_request.refresh_from_db()
    return peer_request


def text(peer, body, at):
    reply = handle_inbound_message(inbound_id=inbound(peer, body, at=at).pk, now=at)
    return reply


def kinds(peer_request):
    return list(peer_request.events.values_list("kind", flat=True))


def texts(kind, **filters):
    return OutboundMessage.objects.filter(kind=kind, **filters)


class TestStagesBySms:
    def test_omw_here_done_and_the_outcome(self):
        world = make_world(peers=1)
        peer = world.peers[0]
        peer_request = assigned(world)
        code = peer_request.code
        assert "OMW" in texts(OutboundMessage.Kind.CONFIRMATION).get().body

        assert "on the way" in text(peer, f"OMW {code} 20", ASSIGNED + MINUTE)
        peer_request.refresh_from_db()
        assert (peer_request.stage, peer_request.on_way_at) == ("on_the_way", ASSIGNED + MINUTE)
        assert peer_request.eta_at == ASSIGNED + 21 * MINUTE
        told = texts(OutboundMessage.Kind.LOCATION_ON_THE_WAY).get()
        assert f"{peer.full_name} is on the way, about 20 min" in told.body
        assert str(peer.phone) not in told.body

        assert "arrival recorded" in text(peer, f"HERE {code}", ASSIGNED + 18 * MINUTE)
        assert text(peer, "DONE", ASSIGNED + 60 * MINUTE) is None  # the menu is its own text
        peer_request.refresh_from_db()
        assert peer_request.stage == "finished"
        assert peer_request.finished_how == PeerRequest.FinishedHow.PEER
        assert peer_request.assignment_ended_at == ASSIGNED + 60 * MINUTE
        menu = texts(OutboundMessage.Kind.OUTCOME_MENU, peer=peer).get()
        assert "1 engaged with support" in menu.body and "naloxone" in menu.body

        assert "outcome recorded" in text(peer, "1Y", ASSIGNED + 62 * MINUTE)
        peer_request.refresh_from_db()
        assert (peer_request.encounter_outcome, peer_request.naloxone_kit_given) == (
            EncounterOutcome.ENGAGED,
            True,
        )
        assert peer_request.outcome_recorded_by is None
        assert kinds(peer_request)[-4:] == [
            RequestEvent.Kind.ON_THE_WAY,
            RequestEvent.Kind.ARRIVED,
            RequestEvent.Kind.FINISHED,
            RequestEvent.Kind.OUTCOME,
        ]

    def test_a_second_omw_updates_the_eta_and_stages_are_recorded_once(self):
        world = make_world(peers=1)
        peer = world.peers[0]
        peer_request = assigned(world)
        text(peer, "OMW", ASSIGNED + MINUTE)
        assert "new arrival time" in text(peer, "OMW 10", ASSIGNED + 2 * MINUTE)
        assert "recorded already" in text(peer, "OMW", ASSIGNED + 3 * MINUTE)
        peer_request.refresh_from_db()
        assert (peer_request.on_way_at, peer_request.eta_at) == (ASSIGNED + MINUTE, ASSIGNED + 12 * MINUTE)
        text(peer, "HERE", ASSIGNED + 5 * MINUTE)
        assert "recorded already" in text(peer, "HERE", ASSIGNED + 6 * MINUTE)
        assert peer_request.events.filter(kind=RequestEvent.Kind.ARRIVED).count() == 1

    def test_a_bare_digit_after_done_is_the_outcome_not_a_no_reason(self):
        world = make_world(peers=1)
        peer = world.peers[0]
        other = submit(world, at=ASSIGNED - MINUTE)  # alerted before the assignment
        peer_request = assigned(world)
        text(peer, f"NO {other.code}", ASSIGNED)  # a NO menu is pending
        text(peer, "DONE", ASSIGNED + 30 * MINUTE)  # then the DONE menu: the latest wins
        reply = text(peer, "2", ASSIGNED + 31 * MINUTE)
        assert "Was a naloxone kit given?" in reply
        peer_request.refresh_from_db()
        assert (peer_request.encounter_outcome, peer_request.naloxone_kit_given) == ("declined", None)
        assert other.alerts.get(peer=peer).decline_reason == ""

    def test_replies_about_no_assignment_or_a_wrong_code(self, settings):
        settings.PEERRX_PASSIVE_REPLIES_PER_HOUR = 10  # four hints in a row; the limit has its own tests
        world = make_world(peers=1)
        peer = world.peers[0]
        assert "no assignment under way" in text(peer, "HERE", T0)
        peer_request = assigned(world)
        assert "not an assignment of yours" in text(peer, "DONE 9999", ASSIGNED + MINUTE)
        assert "1 to 240" in text(peer, f"OMW {peer_request.code} 500", ASSIGNED + MINUTE)
        assert "no finished encounter" in text(peer, "1Y", ASSIGNED + MINUTE)


class TestStagesFromTheLocation:
    def test_the_location_marks_arrival_and_finish_with_who_and_when(self):
        world = make_world(peers=1)
        nurse = UserFactory()
        peer_request = assigned(world)
        assert services.record_arrival(peer_request=peer_request, actor=nurse, now=ASSIGNED + 9 * MINUTE) == (
            EncounterOutcomeRecorded.ARRIVED
        )
        assert services.record_arrival(peer_request=peer_request, now=ASSIGNED + 10 * MINUTE) == (
            EncounterOutcomeRecorded.ALREADY
        )
        services.record_finished(
            peer_request=peer_request,
            actor=nurse,
            how=PeerRequest.FinishedHow.LOCATION,
            now=ASSIGNED + 40 * MINUTE,
        )
        peer_request.refresh_from_db()
        assert (peer_request.arrived_by, peer_request.finished_by) == (nurse, nurse)
        assert peer_request.finished_how == PeerRequest.FinishedHow.LOCATION
        # The peer still gets the outcome menu.
        assert texts(OutboundMessage.Kind.OUTCOME_MENU).count() == 1

    def test_the_peer_has_not_come_offers_the_next_best_yes(self):
        world = make_world(peers=2)
        first, second = world.peers
        peer_request = assigned(world, first, second)
        gone = peer_request.assigned_peer
        nurse = UserFactory()
        assert services.peer_has_not_come(
            peer_request=peer_request, actor=nurse, now=ASSIGNED + 20 * MINUTE
        ) == (WithdrawOutcome.REASSIGNED)
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer not in (None, gone)
        assert peer_request.events.get(kind=RequestEvent.Kind.NOT_COME).actor == nurse
        assert AuditEntry.objects.filter(action="request.peer_not_come", actor=nurse).exists()

    def test_the_peer_has_not_come_reopens_without_another_yes_and_not_after_arrival(self):
        world = make_world(peers=1)
        peer_request = assigned(world)
        services.peer_has_not_come(peer_request=peer_request, actor=None, now=ASSIGNED + 5 * MINUTE)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN
        world2 = make_world(peers=1)
        arrived = assigned(world2)
        services.record_arrival(peer_request=arrived, now=ASSIGNED + MINUTE)
        with pytest.raises(DispatchError):
            services.peer_has_not_come(peer_request=arrived, actor=None, now=ASSIGNED + 2 * MINUTE)

    def test_a_peer_cannot_withdraw_once_arrived(self):
        world = make_world(peers=1)
        peer = world.peers[0]
        peer_request = assigned(world)
        text(peer, "HERE", ASSIGNED + MINUTE)
        alert = peer_request.alerts.get(peer=peer)
        assert services.withdraw(alert=alert, now=ASSIGNED + 2 * MINUTE) == WithdrawOutcome.NOT_ASSIGNED


class TestOutcome:
    def test_a_supervisor_sets_or_corrects_it_with_an_audit_entry(self):
        world = make_world(peers=1)
        peer_request = assigned(world)
        with pytest.raises(DispatchError):
            services.record_outcome(peer_request=peer_request, outcome="engaged", naloxone_kit_given=None)
        services.record_finished(peer_request=peer_request, peer=world.peers[0], now=ASSIGNED + 30 * MINUTE)
        supervisor = AgencyMembershipFactory(agency=world.agency).user
        services.record_outcome(
            peer_request=peer_request, outcome="referred", naloxone_kit_given=False, actor=supervisor
        )
        peer_request.refresh_from_db()
        assert (peer_request.encounter_outcome, peer_request.outcome_recorded_by) == ("referred", supervisor)
        assert AuditEntry.objects.filter(action="request.outcome", actor=supervisor).exists()
        with pytest.raises(DispatchError):
            services.record_outcome(peer_request=peer_request, outcome="a name", naloxone_kit_given=None)


class TestWatch:
    def test_one_ack_reminder_then_the_location_and_supervisors_are_told(self):
        world = make_world(peers=1)
        supervisor = AgencyMembershipFactory(agency=world.agency, user__email="sup@example.org").user
        peer_request = assigned(world)
        assert services.watch_encounters(now=ASSIGNED + 4 * MINUTE)["reminded"] == 0
        assert services.watch_encounters(now=ASSIGNED + 5 * MINUTE)["reminded"] == 1
        assert services.watch_encounters(now=ASSIGNED + 6 * MINUTE)["reminded"] == 0
        assert "OMW" in texts(OutboundMessage.Kind.ACK_REMINDER).get().body
        assert services.watch_encounters(now=ASSIGNED + 10 * MINUTE)["told_no_ack"] == 1
        assert services.watch_encounters(now=ASSIGNED + 11 * MINUTE)["told_no_ack"] == 0
        told = texts(OutboundMessage.Kind.LOCATION_ACK_MISSING).get()
        assert told.to == str(world.location.notification_phone)
        [message] = mail.outbox
        assert message.to == [supervisor.email]
        assert peer_request.code in message.subject
        assert kinds(peer_request)[-2:] == [RequestEvent.Kind.ACK_REMINDED, RequestEvent.Kind.ACK_MISSING]
        # Nothing is reassigned without a person deciding.
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.ASSIGNED

    def test_no_reminder_once_the_peer_is_on_the_way(self):
        world = make_world(peers=1)
        assigned(world)
        text(world.peers[0], "OMW 30", ASSIGNED + 2 * MINUTE)
        assert services.watch_encounters(now=ASSIGNED + 20 * MINUTE) == {
            "reminded": 0,
            "told_no_ack": 0,
            "told_late": 0,
        }

    def test_late_after_the_eta_and_grace_or_an_hour_without_an_eta(self):
        world = make_world(peers=2)
        with_eta = assigned(world, world.peers[0])
        text(world.peers[0], "OMW 10", ASSIGNED + MINUTE)  # expected at ASSIGNED + 11 min
        world2 = make_world(peers=1)
        without_eta = assigned(world2)
        text(world2.peers[0], "OMW", ASSIGNED + MINUTE)
        assert services.watch_encounters(now=ASSIGNED + 25 * MINUTE)["told_late"] == 0
        assert services.watch_encounters(now=ASSIGNED + 26 * MINUTE)["told_late"] == 1
        assert services.watch_encounters(now=ASSIGNED + 60 * MINUTE)["told_late"] == 1
        assert services.watch_encounters(now=ASSIGNED + 90 * MINUTE)["told_late"] == 0
        assert {m.request_id for m in texts(OutboundMessage.Kind.LOCATION_LATE)} == {
            with_eta.pk,
            without_eta.pk,
        }


class TestBusyUntilDone:
    def test_the_peer_is_alerted_again_once_done(self):
        world = make_world(peers=1)
        peer = world.peers[0]
        assigned(world)
        waiting = submit(world, at=ASSIGNED + 5 * MINUTE)
        assert not waiting.alerts.exists()
        text(peer, "DONE", ASSIGNED + 15 * MINUTE)
        services.alert_late_joiners(now=ASSIGNED + 16 * MINUTE)
        assert waiting.alerts.filter(peer=peer, wave=Alert.Wave.LATE).exists()
        assert selectors.live_assignment_of(peer=peer) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_here_and_peer_arrived_at_once_record_one_arrival(require_postgres):
    from tests.peer_requests.test_concurrency import all_at_once
    from tests.world import seed_reference_data

    seed_reference_data()
    world = make_world(peers=1)
    peer = world.peers[0]
    peer_request = assigned(world)
    nurse = UserFactory()
    at = ASSIGNED + 15 * MINUTE
    here = inbound(peer, "HERE", at=at)

    def act(who: str):
        if who == "peer":
            return handle_inbound_message(inbound_id=here.pk, now=at)
        return services.record_arrival(peer_request=peer_request, actor=nurse, now=at)

    all_at_once(act, ["peer", "nurse", "nurse"])
    assert peer_request.events.filter(kind=RequestEvent.Kind.ARRIVED).count() == 1
    peer_request.refresh_from_db()
    assert peer_request.arrived_at == at
