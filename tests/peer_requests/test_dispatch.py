"""Dispatch that adapts while a request is live: late joiners, one reminder, the second wave,
busy peers, nobody available, replies counted by when they arrived, best matches first."""

import datetime as dt

import pytest

from accounts.models import AuditEntry
from core.choices import Need
from peer_requests import selectors, services
from peer_requests.models import Alert, PeerRequest, RequestEvent, RequestStatus
from peer_requests.services import DispatchError, YesOutcome
from peers.models import AvailabilityOverride
from sms.models import OutboundMessage
from sms.services import handle_inbound_message
from tests.accounts.factories import CountyFactory, StaffUserFactory
from tests.agencies.factories import AgencyFactory
from tests.peers.factories import AvailabilityOverrideFactory, CredentialFactory, credential_type, language
from tests.world import T0, eligible_peer, inbound, make_world, submit

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)
CHOICE = T0 + 10 * MINUTE


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    settings.PEERRX_REMINDER_SECONDS = 300
    settings.PEERRX_ASSIGNMENT_HOURS = 4


def unavailable_until(peer, until):
    """An override that keeps the peer unavailable from before T0 until ``until``."""
    return AvailabilityOverrideFactory(
        peer=peer, starts_at=T0 - dt.timedelta(hours=1), ends_at=until, is_available=False
    )


def texts(kind, **filters):
    return OutboundMessage.objects.filter(kind=kind, **filters)


def events(peer_request, kind):
    return list(peer_request.events.filter(kind=kind).values_list("detail", flat=True))


class TestLateJoiners:
    def test_a_peer_who_becomes_available_gets_the_alert_once(self):
        world = make_world(peers=2)
        late = world.peers[1]
        unavailable_until(late, T0 + 3 * MINUTE)
        peer_request = submit(world)
        assert list(peer_request.alerts.values_list("peer", flat=True)) == [world.peers[0].pk]

        assert services.alert_late_joiners(now=T0 + 2 * MINUTE) == 0
        assert services.alert_late_joiners(now=T0 + 4 * MINUTE) == 1
        assert services.alert_late_joiners(now=T0 + 5 * MINUTE) == 0
        alert = peer_request.alerts.get(peer=late)
        assert (alert.wave, alert.created_at) == (Alert.Wave.LATE, T0 + 4 * MINUTE)
        assert texts(OutboundMessage.Kind.ALERT, peer=late).count() == 1
        assert events(peer_request, RequestEvent.Kind.LATE_ALERTS) == ["Alerted 1 peers who became available"]

    def test_a_peer_who_texts_on_is_alerted_by_the_next_sweep_and_can_win(self):
        world = make_world(peers=1)
        late = eligible_peer(agency=world.agency)
        unavailable_until(late, T0 + dt.timedelta(hours=8))
        peer_request = submit(world)
        handle_inbound_message(inbound_id=inbound(late, "ON", at=T0 + MINUTE).pk, now=T0 + MINUTE)
        assert AvailabilityOverride.objects.filter(peer=late, is_available=True).exists()
        services.alert_late_joiners(now=T0 + MINUTE)
        alert = peer_request.alerts.get(peer=late)
        assert services.record_yes(alert=alert, now=T0 + 2 * MINUTE) == YesOutcome.RECORDED
        services.complete_selection(request_id=peer_request.pk, now=CHOICE)
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer == late

    def test_nobody_is_alerted_for_a_closed_request(self):
        world = make_world(peers=1)
        late = eligible_peer(agency=world.agency)
        unavailable_until(late, T0 + 3 * MINUTE)
        peer_request = submit(world)
        services.cancel_request(peer_request=peer_request, actor=None, now=T0 + MINUTE)
        assert services.alert_late_joiners(now=T0 + 4 * MINUTE) == 0
        assert not peer_request.alerts.filter(peer=late).exists()

    def test_a_peer_whose_credential_is_validated_joins(self):
        world = make_world(peers=1)
        newcomer = eligible_peer(agency=world.agency)
        credential = newcomer.credentials.get()
        credential.status = credential.Status.PENDING
        credential.save()
        peer_request = submit(world)
        credential.status = credential.Status.VALIDATED
        credential.save()
        assert services.alert_late_joiners(now=T0 + MINUTE) == 1
        assert peer_request.alerts.filter(peer=newcomer, wave=Alert.Wave.LATE).exists()


class TestReminder:
    def test_one_reminder_to_the_silent_peers_only(self):
        world = make_world(peers=3)
        peer_request = submit(world)
        yes, no, silent = world.peers
        services.record_yes(alert=peer_request.alerts.get(peer=yes), now=T0 + MINUTE)
        services.record_no(alert=peer_request.alerts.get(peer=no), now=T0 + MINUTE)

        assert services.send_reminders(now=T0 + 4 * MINUTE) == 0
        assert services.send_reminders(now=T0 + 5 * MINUTE) == 1
        assert services.send_reminders(now=T0 + 6 * MINUTE) == 0
        reminder = texts(OutboundMessage.Kind.REMINDER).get()
        assert reminder.peer == silent
        assert f"YES {peer_request.code}" in reminder.body
        assert reminder.valid_until == peer_request.expires_at
        assert peer_request.alerts.get(peer=silent).reminded_at == T0 + 5 * MINUTE
        assert events(peer_request, RequestEvent.Kind.REMINDED) == ["Reminded 1 peers who had not replied"]

    def test_no_reminder_once_the_request_closed_or_when_turned_off(self, settings):
        world = make_world(peers=1)
        closed = submit(world)
        services.cancel_request(peer_request=closed, actor=None, now=T0 + MINUTE)
        assert services.send_reminders(now=T0 + 6 * MINUTE) == 0
        submit(world)
        settings.PEERRX_REMINDER_SECONDS = 0
        assert services.send_reminders(now=T0 + 6 * MINUTE) == 0
        assert not texts(OutboundMessage.Kind.REMINDER).exists()

    def test_a_late_joiner_is_reminded_counting_from_their_own_alert(self):
        world = make_world(peers=1)
        late = eligible_peer(agency=world.agency)
        unavailable_until(late, T0 + 3 * MINUTE)
        submit(world)
        services.alert_late_joiners(now=T0 + 4 * MINUTE)
        assert services.send_reminders(now=T0 + 6 * MINUTE) == 1  # the first wave's peer
        assert services.send_reminders(now=T0 + 9 * MINUTE) == 1  # the late joiner
        assert set(texts(OutboundMessage.Kind.REMINDER).values_list("peer", flat=True)) == {
            world.peers[0].pk,
            late.pk,
        }


class TestWidening:
    @pytest.fixture
    def backup(self):
        world = make_world(peers=1)
        backup_agency = AgencyFactory(name="Backup Peers", counties=[CountyFactory(name="Ulster")])
        backup_agency.backup_counties.add(world.location.county)
        return world, eligible_peer(agency=backup_agency)

    def test_no_yes_at_the_choice_opens_the_request_and_alerts_the_backup_agencies(self, backup):
        world, backup_peer = backup
        peer_request = submit(world)
        assert not peer_request.alerts.filter(peer=backup_peer).exists()
        services.complete_selection(request_id=peer_request.pk, now=CHOICE)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN
        assert peer_request.widened_at == CHOICE
        alert = peer_request.alerts.get(peer=backup_peer)
        assert alert.wave == Alert.Wave.WIDENED
        assert events(peer_request, RequestEvent.Kind.WIDENED) == ["1 peers of backup agencies alerted"]
        # The backup agency's peer can take the open request.
        assert services.record_yes(alert=alert, now=CHOICE + MINUTE) == YesOutcome.ASSIGNED
        # Widening happens once.
        services.alert_late_joiners(now=CHOICE + 2 * MINUTE)
        assert peer_request.alerts.count() == 2

    def test_a_request_that_alerted_nobody_widens_at_submit(self, backup):
        world, backup_peer = backup
        unavailable_until(world.peers[0], T0 + dt.timedelta(hours=8))
        peer_request = submit(world)
        assert peer_request.widened_at == T0
        assert list(peer_request.alerts.values_list("peer", "wave")) == [(backup_peer.pk, Alert.Wave.WIDENED)]
        assert peer_request.urgent_since is None

    def test_staff_can_widen_a_live_request_at_once_and_only_once(self, backup):
        world, _backup_peer = backup
        peer_request = submit(world)
        staff = StaffUserFactory()
        assert services.widen(peer_request=peer_request, actor=staff, now=T0 + MINUTE) == 1
        with pytest.raises(DispatchError):
            services.widen(peer_request=peer_request, actor=staff, now=T0 + 2 * MINUTE)
        assert peer_request.events.get(kind=RequestEvent.Kind.WIDENED).actor == staff
        assert AuditEntry.objects.filter(action="request.widened", actor=staff).exists()


class TestNobodyAvailable:
    def test_the_location_is_told_and_staff_follow_up_urgently(self):
        world = make_world(peers=1)
        unavailable_until(world.peers[0], T0 + dt.timedelta(hours=8))
        peer_request = submit(world)
        peer_request.refresh_from_db()
        assert peer_request.alerts.count() == 0
        assert peer_request.urgent_since == T0
        assert peer_request.status == RequestStatus.COLLECTING
        text = texts(OutboundMessage.Kind.LOCATION_NOBODY).get()
        assert text.to == str(world.location.notification_phone)
        assert list(selectors.follow_up_queue()) == [peer_request]
        assert selectors.staff_counts().follow_ups_due == 1

    def test_a_late_joiner_takes_it_off_the_urgent_list(self):
        world = make_world(peers=1)
        unavailable_until(world.peers[0], T0 + 5 * MINUTE)
        peer_request = submit(world)
        services.alert_late_joiners(now=T0 + 6 * MINUTE)
        peer_request.refresh_from_db()
        assert peer_request.urgent_since is None
        assert list(selectors.follow_up_queue()) == []

    def test_the_form_counts_the_peers_available_for_each_kind_of_support(self):
        world = make_world(peers=2)
        eligible_peer(agency=world.agency, credential="NYCPS")
        counts = selectors.available_counts(location=world.location, at=T0)
        assert counts == {Need.SUBSTANCE_USE: 2, Need.MENTAL_HEALTH: 1, Need.CO_OCCURRING: 3}


class TestBusyPeers:
    def assigned(self, world, peer, *, at=T0):
        peer_request = submit(world, at=at)
        services.record_yes(alert=peer_request.alerts.get(peer=peer), now=at + MINUTE)
        services.complete_selection(request_id=peer_request.pk, now=at + 10 * MINUTE)
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer == peer
        return peer_request

    def test_an_assigned_peer_is_not_alerted_for_another_request(self):
        world = make_world(peers=2)
        busy = world.peers[0]
        self.assigned(world, busy)
        second = submit(world, at=T0 + 15 * MINUTE)
        assert list(second.alerts.values_list("peer", flat=True)) == [world.peers[1].pk]

    def test_a_busy_peers_yes_is_answered_with_why_and_not_assigned(self):
        world = make_world(peers=2)
        busy = world.peers[0]
        other = submit(world)  # alerted before the first assignment
        first = self.assigned(world, busy)
        alert = other.alerts.get(peer=busy)
        assert services.record_yes(alert=alert, now=T0 + 11 * MINUTE) == YesOutcome.BUSY
        reply = handle_inbound_message(
            inbound_id=inbound(busy, f"YES {other.code}", at=T0 + 12 * MINUTE).pk, now=T0 + 12 * MINUTE
        )
        assert f"still assigned to request {first.code}" in reply
        services.complete_selection(request_id=other.pk, now=T0 + 20 * MINUTE)
        other.refresh_from_db()
        assert other.assigned_peer != busy

    def test_the_assignment_ends_after_the_busy_window_and_the_peer_joins_again(self):
        world = make_world(peers=1)
        busy = world.peers[0]
        first = self.assigned(world, busy)
        later = T0 + dt.timedelta(hours=4, minutes=15)  # assigned at T0 + 10 min
        pending = submit(world, at=later - MINUTE)
        assert not pending.alerts.exists()
        assert services.end_assignments(now=later - 10 * MINUTE) == 0
        assert services.end_assignments(now=later) == 1
        first.refresh_from_db()
        assert first.assignment_ended_at == later
        assert (first.finished_at, first.finished_how) == (later, PeerRequest.FinishedHow.AUTOMATIC)
        assert first.events.filter(kind=RequestEvent.Kind.FINISHED, peer=busy).get().detail == (
            "Closed automatically 4 h after assignment"
        )
        assert services.alert_late_joiners(now=later) == 1
        assert pending.alerts.get().peer == busy

    def test_a_withdrawal_frees_the_peer(self):
        world = make_world(peers=2)
        peer = world.peers[0]
        first = self.assigned(world, peer)
        services.withdraw(alert=first.alerts.get(peer=peer), now=T0 + 12 * MINUTE)
        second = submit(world, at=T0 + 13 * MINUTE)
        assert second.alerts.filter(peer=peer).exists()


class TestReceiptTime:
    def test_a_yes_received_before_the_choice_is_ranked_though_handled_after_it(self):
        world = make_world(peers=2)
        peer_request = submit(world, languages=[language("es")])
        early, better = world.peers
        better.languages.add(language("es"))
        services.record_yes(alert=peer_request.alerts.get(peer=early), now=T0 + MINUTE)
        late_text = inbound(better, f"YES {peer_request.code}", at=CHOICE - dt.timedelta(seconds=1))
        # The worker was down: the choice runs first, then the text is handled.
        services.complete_selection(request_id=peer_request.pk, now=CHOICE + MINUTE)
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer == better
        alert = peer_request.alerts.get(peer=better)
        assert alert.responded_at == CHOICE - dt.timedelta(seconds=1)
        late_text.refresh_from_db()
        assert late_text.handled_at is not None and late_text.outcome == YesOutcome.RECORDED
        assert peer_request.events.filter(kind=RequestEvent.Kind.ASSIGNED).count() == 1

    def test_a_yes_handled_after_the_choice_time_before_the_choice_ran_is_ranked(self):
        world = make_world(peers=2)
        peer_request = submit(world, languages=[language("es")])
        early, better = world.peers
        better.languages.add(language("es"))
        services.record_yes(alert=peer_request.alerts.get(peer=early), now=T0 + MINUTE)
        text = inbound(better, f"YES {peer_request.code}", at=CHOICE - dt.timedelta(seconds=6))
        reply = handle_inbound_message(inbound_id=text.pk, now=CHOICE + 2 * MINUTE)
        assert reply is None  # the confirmation is its own text
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer == better
        text.refresh_from_db()
        assert text.outcome == YesOutcome.RANKED
        assert texts(OutboundMessage.Kind.CONFIRMATION, peer=better).count() == 1
        assert texts(OutboundMessage.Kind.FILLED, peer=early).count() == 1

    def test_in_an_open_request_the_first_yes_received_wins_whoever_is_handled_first(self):
        world = make_world(peers=2)
        peer_request = submit(world)
        services.complete_selection(request_id=peer_request.pk, now=CHOICE)
        first, second = world.peers
        first_text = inbound(first, f"YES {peer_request.code}", at=CHOICE + MINUTE)
        second_text = inbound(second, f"YES {peer_request.code}", at=CHOICE + 2 * MINUTE)
        handle_inbound_message(inbound_id=second_text.pk, now=CHOICE + 3 * MINUTE)
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer == first
        first_text.refresh_from_db()
        second_text.refresh_from_db()
        assert (first_text.outcome, second_text.outcome) == ("assigned", "filled")

    def test_a_no_counts_from_its_receipt_too(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        text = inbound(world.peers[0], f"NO {peer_request.code}", at=T0 + 2 * MINUTE)
        handle_inbound_message(inbound_id=text.pk, now=T0 + 4 * MINUTE)
        alert = peer_request.alerts.get()
        assert (alert.response, alert.responded_at) == (Alert.Response.NO, T0 + 2 * MINUTE)


class TestBestMatchesFirst:
    def test_alerts_are_queued_best_static_match_first_with_the_order_explained(self):
        world = make_world(peers=0)
        plain = eligible_peer(agency=world.agency)
        speaks = eligible_peer(agency=world.agency)
        speaks.languages.add(language("es"))
        both = eligible_peer(agency=world.agency, credential="NYCPS")
        CredentialFactory(peer=both, type=credential_type("CRPA"))
        both.languages.add(language("es"))
        peer_request = submit(world, need=Need.CO_OCCURRING, languages=[language("es")])
        alerts = list(peer_request.alerts.order_by("pk"))
        assert [alert.peer for alert in alerts] == [both, speaks, plain]
        assert alerts[0].prescore > alerts[1].prescore > alerts[2].prescore
        assert alerts[0].prescore_breakdown["reply_speed"] == 0
        assert alerts[0].prescore_breakdown["total"] == alerts[0].prescore
        sent = list(texts(OutboundMessage.Kind.ALERT, request=peer_request).order_by("pk"))
        assert [message.peer for message in sent] == [both, speaks, plain]

    def test_under_a_rate_limit_the_best_matches_hold_the_first_send_slots(self, settings):
        settings.PEERRX_SMS_MAX_PER_SECOND = 1
        world = make_world(peers=0)
        peers = [eligible_peer(agency=world.agency) for _ in range(3)]
        peers[2].languages.add(language("es"))
        peer_request = submit(world, languages=[language("es")])
        sent = list(texts(OutboundMessage.Kind.ALERT, request=peer_request).order_by("rate_slot_at"))
        assert sent[0].peer == peers[2]
        slots = [message.rate_slot_at for message in sent]
        assert slots == sorted(slots) and len(set(slots)) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestRacesOnPostgres:
    def test_two_sweeps_at_once_alert_a_late_joiner_once(self, require_postgres):
        from tests.peer_requests.test_concurrency import all_at_once
        from tests.world import seed_reference_data

        seed_reference_data()
        world = make_world(peers=1)
        late = eligible_peer(agency=world.agency)
        unavailable_until(late, T0 + 3 * MINUTE)
        peer_request = submit(world)
        at = T0 + 4 * MINUTE
        all_at_once(lambda _: services.alert_late_joiners(now=at), [1, 2, 3])
        assert peer_request.alerts.filter(peer=late).count() == 1
        assert texts(OutboundMessage.Kind.ALERT, peer=late).count() == 1

    def test_an_on_text_racing_the_sweeper_gets_one_alert(self, require_postgres):
        from tests.peer_requests.test_concurrency import all_at_once
        from tests.world import seed_reference_data

        seed_reference_data()
        world = make_world(peers=1)
        late = eligible_peer(agency=world.agency)
        unavailable_until(late, T0 + dt.timedelta(hours=8))
        peer_request = submit(world)
        at = T0 + MINUTE
        text = inbound(late, "ON", at=at)

        def act(which: str) -> None:
            if which == "text":
                handle_inbound_message(inbound_id=text.pk, now=at)
            services.alert_late_joiners(now=at)

        all_at_once(act, ["text", "sweep", "sweep"])
        services.alert_late_joiners(now=at + MINUTE)
        assert peer_request.alerts.filter(peer=late).count() == 1

    def test_a_busy_peer_is_never_assigned_twice_when_two_choices_run_at_once(self, require_postgres):
        from tests.peer_requests.test_concurrency import all_at_once
        from tests.world import seed_reference_data

        seed_reference_data()
        world = make_world(peers=1)
        peer = world.peers[0]
        requests = [submit(world), submit(world)]
        for peer_request in requests:
            services.record_yes(alert=peer_request.alerts.get(peer=peer), now=T0 + MINUTE)
        all_at_once(
            lambda pk: services.complete_selection(request_id=pk, now=CHOICE), [r.pk for r in requests]
        )
        statuses = sorted(PeerRequest.objects.values_list("status", flat=True))
        assert statuses == [RequestStatus.ASSIGNED, RequestStatus.OPEN]
        assert PeerRequest.objects.filter(assigned_peer=peer).count() == 1


class TestRequestLimits:
    def test_a_location_has_at_most_so_many_live_requests_and_staff_are_told(self, settings, mailoutbox):
        from tests.accounts.factories import StaffUserFactory

        settings.PEERRX_MAX_LIVE_REQUESTS_PER_LOCATION = 3
        StaffUserFactory(email="ops@peer-rx.test")
        world = make_world(peers=1)
        for n in range(3):
            submit(world, at=T0 + n * 2 * MINUTE)
        with pytest.raises(DispatchError, match="already has 3 requests looking for a peer"):
            submit(world, at=T0 + 7 * MINUTE)
        assert PeerRequest.objects.count() == 3
        assert AuditEntry.objects.filter(action="request.limit_reached").count() == 1
        assert mailoutbox[-1].to == ["ops@peer-rx.test"]
        # Once one is cancelled there is room again.
        services.cancel_request(peer_request=PeerRequest.objects.first(), actor=None, now=T0 + 8 * MINUTE)
        submit(world, at=T0 + 9 * MINUTE)

    def test_twenty_rapid_submits_are_stopped_after_the_minutes_allowance(self, settings):
        settings.PEERRX_MAX_SUBMITS_PER_MINUTE = 5
        world = make_world(peers=1)
        made, refused = 0, 0
        for n in range(20):
            try:
                submit(world, at=T0 + n * dt.timedelta(seconds=1))
                made += 1
            except DispatchError as exc:
                assert "wait a minute" in str(exc)
                refused += 1
        assert (made, refused) == (5, 15)
        submit(world, at=T0 + 2 * MINUTE)  # a minute on, the allowance is back

    def test_code_allocation_never_loops_and_says_so_when_every_code_is_taken(self):
        from peer_requests.services import CODES, _free_code

        taken = {str(code) for code in CODES}
        with pytest.raises(DispatchError, match="Every request code is in use"):
            _free_code(taken)
        one_left = taken - {"4821"}
        assert _free_code(one_left) == "4821"
