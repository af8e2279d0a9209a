import datetime as dt
import itertools

import pytest
from django.db import OperationalError
from django.utils import timezone

from accounts.models import AuditEntry
from peer_requests.models import RequestEvent
from sms import ratelimit, services, tasks, transport
from sms.models import InboundMessage, OutboundMessage, OutboundStatus
from sms.ratelimit import LocalRateLimiter
from tests.peer_requests.factories import PeerRequestFactory
from tests.peers.factories import PeerFactory
from tests.sms.factories import T0, InboundMessageFactory, OutboundMessageFactory

pytest_plugins = ["tests.fake_twilio"]
pytestmark = pytest.mark.django_db


class ScriptedTransport:
    """Replaces transport.send: raises the scripted errors in order, then succeeds."""

    def __init__(self, *errors: transport.SendError):
        self.errors = list(errors)
        self.sent: list[transport.Outgoing] = []
        self.calls = 0

    def __call__(self, message: transport.Outgoing) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)
        return f"SM{self.calls:032x}"


def error(code: str, *, retryable: bool) -> transport.SendError:
    return transport.SendError(code=code, message=f"provider said {code}", retryable=retryable)


@pytest.fixture
def scripted(monkeypatch):
    def install(*errors: transport.SendError) -> ScriptedTransport:
        fake = ScriptedTransport(*errors)
        monkeypatch.setattr(transport, "send", fake)
        return fake

    return install


class TestQueueMessage:
    def test_it_saves_the_row_and_enqueues_delivery_on_commit(
        self, enqueued, django_capture_on_commit_callbacks
    ):
        peer = PeerFactory()
        with django_capture_on_commit_callbacks(execute=True):
            message = services.queue_message(
                to=peer.phone, body="Hello", kind=OutboundMessage.Kind.ALERT, peer_id=peer.pk, now=T0
            )
            assert enqueued.ids == []  # not before commit
        message.refresh_from_db()
        assert message.to == str(peer.phone)
        assert message.status == OutboundStatus.QUEUED
        assert message.created_at == T0
        assert message.next_attempt_at == T0
        assert message.provider_sid is None
        assert enqueued.single == [(message.pk, None)]

    def test_it_keeps_the_row_queued_when_the_broker_is_down(
        self, monkeypatch, django_capture_on_commit_callbacks
    ):
        from sms import tasks

        def broker_down(*args, **kwargs):
            raise ConnectionError("broker down")

        monkeypatch.setattr(tasks.send_message, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            message = services.queue_message(to="+12125550101", body="Hi", kind="alert", now=T0)
        message.refresh_from_db()
        assert message.status == OutboundStatus.QUEUED


class TestQueueBulk:
    def test_it_inserts_once_and_enqueues_batches_on_commit(
        self, enqueued, django_assert_num_queries, django_capture_on_commit_callbacks
    ):
        messages = [
            OutboundMessage(to=f"+1212555{i:04d}", body=f"Alert {i}", kind=OutboundMessage.Kind.ALERT)
            for i in range(120)
        ]
        with django_capture_on_commit_callbacks(execute=True):
            with django_assert_num_queries(1):
                saved = services.queue_bulk(messages=messages[:40], now=T0)
            saved += services.queue_bulk(messages=messages[40:], now=T0)
        assert [len(batch) for batch in enqueued.batches] == [40, 50, 30]
        assert sorted(enqueued.ids) == sorted(m.pk for m in saved)
        assert OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, created_at=T0).count() == 120

    def test_it_enqueues_nothing_for_no_messages(self, enqueued, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.queue_bulk(messages=[], now=T0) == []
        assert enqueued.batches == []


class TestDeliver:
    def test_it_sends_and_stores_the_provider_id(self, settings):
        settings.SMS_BACKEND = "console"
        message = OutboundMessageFactory()
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.SENT
        message.refresh_from_db()
        assert message.status == OutboundStatus.SENT
        assert message.provider_sid.startswith("console-")
        assert message.sent_at == T0
        assert message.attempts == 1

    def test_it_never_sends_a_message_twice(self, scripted):
        fake = scripted()
        message = OutboundMessageFactory()
        services.deliver(message_id=message.pk, now=T0)
        assert services.deliver(message_id=message.pk, now=T0) is None
        assert fake.calls == 1

    def test_it_never_sends_a_message_that_has_a_provider_id(self, scripted):
        fake = scripted()
        message = OutboundMessageFactory(provider_sid="SMalready", status=OutboundStatus.QUEUED)
        assert services.deliver(message_id=message.pk, now=T0) is None
        assert fake.calls == 0

    def test_it_leaves_a_message_another_worker_claimed(self, scripted):
        fake = scripted()
        message = OutboundMessageFactory(status=OutboundStatus.SENDING)
        assert services.deliver(message_id=message.pk, now=T0) is None
        assert fake.calls == 0

    def test_it_passes_the_time_left_as_validity_period(self, scripted):
        fake = scripted()
        message = OutboundMessageFactory(valid_until=T0 + dt.timedelta(minutes=10))
        services.deliver(message_id=message.pk, now=T0)
        assert fake.sent[0].validity_seconds == 600

    def test_it_sends_without_validity_period_when_there_is_no_deadline(self, scripted):
        fake = scripted()
        services.deliver(message_id=OutboundMessageFactory().pk, now=T0)
        assert fake.sent[0].validity_seconds is None

    @pytest.mark.parametrize(
        "left", [dt.timedelta(0), dt.timedelta(milliseconds=500), dt.timedelta(minutes=-1)]
    )
    def test_it_fails_a_message_whose_deadline_passed_without_sending_it(self, scripted, left):
        fake = scripted()
        message = OutboundMessageFactory(valid_until=T0 + left)
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.FAILED
        message.refresh_from_db()
        assert message.status == OutboundStatus.FAILED
        assert message.error_code == "expired"
        assert message.error_message == "Expired before sending."
        assert message.attempts == 0
        assert fake.calls == 0

    def test_it_keeps_an_expired_text_off_the_requests_timeline(self, scripted):
        scripted()
        request = PeerRequestFactory()
        message = OutboundMessageFactory(request=request, valid_until=T0 - dt.timedelta(seconds=1))
        services.deliver(message_id=message.pk, now=T0)
        assert not RequestEvent.objects.filter(request=request, kind=RequestEvent.Kind.SMS_FAILED).exists()

    def test_it_retries_an_unexpected_error_instead_of_staying_in_sending(self, monkeypatch, enqueued):
        def boom(message):
            raise RuntimeError("library bug")

        monkeypatch.setattr(transport, "send", boom)
        message = OutboundMessageFactory()
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.QUEUED
        message.refresh_from_db()
        assert message.status == OutboundStatus.QUEUED
        assert message.error_code == "error"
        assert "library bug" in message.error_message

    def test_it_gives_up_on_a_message_requeued_past_the_maximum(self, settings, scripted):
        settings.PEERRX_SMS_MAX_ATTEMPTS = 3
        fake = scripted()
        message = OutboundMessageFactory(attempts=3, error_code="timeout")
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.FAILED
        message.refresh_from_db()
        assert message.error_code == "timeout"
        assert fake.calls == 0


class TestDeliverErrors:
    @pytest.mark.parametrize("code", ["20429", "429", "500", "503", "timeout", "connection"])
    def test_it_requeues_a_retryable_error_with_backoff(
        self, scripted, enqueued, code, django_capture_on_commit_callbacks
    ):
        scripted(error(code, retryable=True))
        message = OutboundMessageFactory()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.QUEUED
        message.refresh_from_db()
        assert message.status == OutboundStatus.QUEUED
        assert message.attempts == 1
        assert message.provider_sid is None
        assert message.error_code == code
        delay = (message.next_attempt_at - T0).total_seconds()
        assert 2.0 <= delay <= 2.2  # base * 2**1, plus at most 10% jitter
        [(message_id, countdown)] = enqueued.single
        assert message_id == message.pk
        assert countdown == pytest.approx(delay, abs=1e-3)

    def test_it_doubles_the_wait_after_each_failure(self, scripted, enqueued):
        scripted(*[error("20429", retryable=True)] * 4)
        message = OutboundMessageFactory()
        now, waits = T0, []
        for _ in range(4):
            services.deliver(message_id=message.pk, now=now)
            message.refresh_from_db()
            waits.append((message.next_attempt_at - now).total_seconds())
            now = message.next_attempt_at
        for attempt, wait in enumerate(waits, start=1):
            assert 2**attempt <= wait <= 2**attempt * 1.1

    def test_it_fails_after_the_maximum_attempts(self, settings, scripted, enqueued):
        settings.PEERRX_SMS_MAX_ATTEMPTS = 3
        fake = scripted(*[error("503", retryable=True)] * 5)
        message = OutboundMessageFactory()
        now = T0
        for _ in range(3):
            services.deliver(message_id=message.pk, now=now)
            message.refresh_from_db()
            now = message.next_attempt_at
        assert message.status == OutboundStatus.FAILED
        assert message.attempts == 3
        assert message.error_code == "503"
        assert message.error_message.startswith("Gave up after 3 attempts")
        assert services.deliver(message_id=message.pk, now=now + dt.timedelta(hours=1)) is None
        assert fake.calls == 3

    def test_it_opts_the_peer_out_on_21610_and_never_retries(self, scripted, enqueued):
        fake = scripted(error("21610", retryable=False))
        peer = PeerFactory()
        message = OutboundMessageFactory(to=str(peer.phone), peer=peer)
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.FAILED
        message.refresh_from_db()
        peer.refresh_from_db()
        assert message.status == OutboundStatus.FAILED
        assert message.error_code == "21610"
        assert peer.opted_out_at == T0
        assert peer.phone_flagged_at is None
        assert enqueued.ids == []
        assert services.send_due_messages(now=T0 + dt.timedelta(hours=1)) == 0
        assert services.deliver(message_id=message.pk, now=T0 + dt.timedelta(hours=1)) is None
        assert fake.calls == 1
        audit = AuditEntry.objects.get(action="peer.opted_out_by_provider")
        assert audit.target_id == str(peer.pk)

    def test_it_finds_the_peer_by_number_when_the_message_names_none(self, scripted):
        scripted(error("21610", retryable=False))
        peer = PeerFactory()
        message = OutboundMessageFactory(to=str(peer.phone), kind=OutboundMessage.Kind.REPLY)
        services.deliver(message_id=message.pk, now=T0)
        peer.refresh_from_db()
        assert peer.opted_out_at == T0

    def test_it_keeps_the_first_opt_out_time(self, scripted):
        scripted(error("21610", retryable=False))
        peer = PeerFactory(opted_out_at=T0 - dt.timedelta(days=1))
        services.deliver(message_id=OutboundMessageFactory(to=str(peer.phone), peer=peer).pk, now=T0)
        peer.refresh_from_db()
        assert peer.opted_out_at == T0 - dt.timedelta(days=1)
        assert not AuditEntry.objects.filter(action="peer.opted_out_by_provider").exists()

    @pytest.mark.parametrize("code", ["21211", "21614"])
    def test_it_flags_the_peers_number_when_it_is_invalid(self, scripted, enqueued, code):
        scripted(error(code, retryable=False))
        peer = PeerFactory()
        message = OutboundMessageFactory(to=str(peer.phone), peer=peer)
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.FAILED
        peer.refresh_from_db()
        assert peer.phone_flagged_at == T0
        assert peer.opted_out_at is None
        assert enqueued.ids == []
        assert AuditEntry.objects.filter(action="peer.phone_flagged", target_id=str(peer.pk)).exists()

    def test_it_fails_other_client_errors_without_touching_the_peer(self, scripted, enqueued):
        scripted(error("21606", retryable=False))
        peer = PeerFactory()
        message = OutboundMessageFactory(to=str(peer.phone), peer=peer)
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.FAILED
        peer.refresh_from_db()
        assert (peer.opted_out_at, peer.phone_flagged_at) == (None, None)
        assert enqueued.ids == []

    def test_it_puts_a_failure_on_the_requests_timeline(self, scripted):
        scripted(error("21211", retryable=False))
        request = PeerRequestFactory()
        peer = PeerFactory()
        message = OutboundMessageFactory(to=str(peer.phone), peer=peer, request=request)
        services.deliver(message_id=message.pk, now=T0)
        event = RequestEvent.objects.get(request=request, kind=RequestEvent.Kind.SMS_FAILED)
        assert event.peer == peer
        assert event.at == T0
        assert "21211" in event.detail


class TestRetryStormAgainstFakeTwilio:
    """The real SDK against the fake Twilio: each message ends sent exactly once."""

    def run_until_settled(self, messages, enqueued, start):
        now = start
        for message in messages:
            services.deliver(message_id=message.pk, now=now)
        for _ in range(20):
            if not OutboundMessage.objects.filter(status__in=["queued", "sending"]).exists():
                return
            now += dt.timedelta(minutes=10)
            enqueued.clear()
            services.send_due_messages(now=now)
            for message_id in enqueued.ids:
                services.deliver(message_id=message_id, now=now)
        raise AssertionError("messages still queued after 20 sweeps")

    def test_it_sends_each_message_exactly_once_through_a_20429_storm(self, twilio_settings, enqueued):
        peers = PeerFactory.create_batch(12)
        messages = [OutboundMessageFactory(to=str(p.phone), peer=p) for p in peers]
        twilio_settings.script(*["429"] * 30, "500", "timeout", "drop")
        twilio_settings.hang_seconds = 0.2
        self.run_until_settled(messages, enqueued, T0)

        assert sorted(m.to for m in twilio_settings.messages) == sorted(str(p.phone) for p in peers)
        for message in OutboundMessage.objects.all():
            assert message.status == OutboundStatus.SENT
            assert twilio_settings.message(message.provider_sid).to == message.to
        assert len(twilio_settings.calls) == 12 + 33

    def test_it_opts_out_on_21610_and_flags_on_21211_without_retrying(self, twilio_settings, enqueued):
        opted_out, invalid, fine = PeerFactory.create_batch(3)
        twilio_settings.script("21610", to=str(opted_out.phone))
        twilio_settings.script("21211", to=str(invalid.phone))
        messages = [OutboundMessageFactory(to=str(p.phone), peer=p) for p in (opted_out, invalid, fine)]
        self.run_until_settled(messages, enqueued, T0)

        for peer in (opted_out, invalid, fine):
            peer.refresh_from_db()
        assert opted_out.opted_out_at == T0
        assert invalid.phone_flagged_at == T0
        assert (fine.opted_out_at, fine.phone_flagged_at) == (None, None)
        assert len(twilio_settings.calls_to(str(opted_out.phone))) == 1
        assert len(twilio_settings.calls_to(str(invalid.phone))) == 1
        assert [m.to for m in twilio_settings.messages] == [str(fine.phone)]
        statuses = dict(OutboundMessage.objects.values_list("peer_id", "status"))
        assert statuses == {
            opted_out.pk: OutboundStatus.FAILED,
            invalid.pk: OutboundStatus.FAILED,
            fine.pk: OutboundStatus.SENT,
        }


class TestSendDueMessages:
    def test_it_enqueues_due_queued_messages_only(self, enqueued):
        due = OutboundMessageFactory(next_attempt_at=T0)
        OutboundMessageFactory(next_attempt_at=T0 + dt.timedelta(seconds=1))
        OutboundMessageFactory(status=OutboundStatus.SENT, provider_sid="SMx")
        OutboundMessageFactory(status=OutboundStatus.FAILED)
        assert services.send_due_messages(now=T0) == 1
        assert enqueued.ids == [due.pk]

    def test_it_does_not_enqueue_the_same_message_every_sweep(self, enqueued):
        message = OutboundMessageFactory(next_attempt_at=T0)
        assert services.send_due_messages(now=T0) == 1
        assert services.send_due_messages(now=T0 + dt.timedelta(seconds=5)) == 0
        later = T0 + services.SWEEP_REENQUEUE_AFTER
        assert services.send_due_messages(now=later) == 1
        assert enqueued.ids == [message.pk, message.pk]

    def test_it_requeues_a_message_stuck_in_sending_without_a_provider_id(self, enqueued):
        claimed_at = T0 - services.STUCK_SENDING_AFTER - dt.timedelta(seconds=1)
        stuck = OutboundMessageFactory(
            status=OutboundStatus.SENDING, status_updated_at=claimed_at, attempts=1
        )
        OutboundMessageFactory(status=OutboundStatus.SENDING, status_updated_at=T0 - dt.timedelta(seconds=30))
        OutboundMessageFactory(
            status=OutboundStatus.SENDING, status_updated_at=claimed_at, provider_sid="SMy"
        )
        assert services.send_due_messages(now=T0) == 1
        assert enqueued.ids == [stuck.pk]
        stuck.refresh_from_db()
        assert stuck.status == OutboundStatus.QUEUED
        assert stuck.attempts == 1

    def test_it_picks_up_a_message_whose_enqueue_failed(self, monkeypatch, enqueued):
        from sms import tasks

        def broker_down(*args, **kwargs):
            raise ConnectionError("broker down")

        monkeypatch.setattr(tasks.send_message, "delay", broker_down)
        message = services.queue_message(to="+12125550101", body="Hi", kind="alert", now=T0)
        services.enqueue_delivery(message_id=message.pk)  # what on_commit runs: fails quietly
        assert services.send_due_messages(now=T0 + dt.timedelta(seconds=5)) == 1
        assert enqueued.batches == [[message.pk]]


class TestRetryDelay:
    @pytest.mark.parametrize(("attempts", "base"), [(1, 2), (2, 4), (3, 8), (7, 128), (9, 300), (20, 300)])
    def test_it_doubles_up_to_the_cap_with_bounded_jitter(self, attempts, base):
        assert services.retry_delay(attempts=attempts, rng=lambda: 0.0) == base
        assert services.retry_delay(attempts=attempts, rng=lambda: 1.0) == pytest.approx(base * 1.1)


class TestRetryUntilTheDeadline:
    """A text with a deadline is retried while it is useful, not a fixed number of times."""

    def run_outage(self, message, *, until: dt.datetime):
        """Deliver at every due retry while the provider keeps failing; the times tried."""
        now, tried = T0, []
        while True:
            message.refresh_from_db()
            if message.status != OutboundStatus.QUEUED or now > until:
                return tried
            now = max(now, message.next_attempt_at)
            tried.append(now)
            services.deliver(message_id=message.pk, now=now)

    def test_it_keeps_retrying_past_the_attempt_limit_until_the_deadline(self, settings, scripted, enqueued):
        settings.PEERRX_SMS_MAX_ATTEMPTS = 3
        settings.PEERRX_SMS_RETRY_CAP_SECONDS = 60
        deadline = T0 + dt.timedelta(minutes=30)
        fake = scripted(*[error("503", retryable=True)] * 1000)
        message = OutboundMessageFactory(valid_until=deadline)
        tried = self.run_outage(message, until=deadline)
        message.refresh_from_db()
        assert message.status == OutboundStatus.FAILED
        assert message.attempts == fake.calls == len(tried) > 3
        gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(tried)]
        assert max(gaps) <= 60 * 1.1  # capped, with at most 10% jitter
        assert tried[-1] <= deadline - dt.timedelta(seconds=1)  # the last try had validity left
        assert tried[-1] >= deadline - dt.timedelta(seconds=67)  # and came near the deadline
        assert message.error_message.startswith("Gave up at its deadline after")
        assert message.first_error_at == T0

    def test_it_goes_out_once_within_the_cap_of_the_providers_recovery(self, settings, scripted, enqueued):
        settings.PEERRX_SMS_MAX_ATTEMPTS = 3
        settings.PEERRX_SMS_RETRY_CAP_SECONDS = 60
        # 15 minutes down: about 20 calls fail, then the provider answers.
        failing = [error("503", retryable=True)] * 14 + [error("timeout", retryable=True)] * 6
        fake = scripted(*failing)
        message = OutboundMessageFactory(valid_until=T0 + dt.timedelta(minutes=30))
        tried = self.run_outage(message, until=T0 + dt.timedelta(minutes=30))
        message.refresh_from_db()
        assert message.status == OutboundStatus.SENT
        assert len(fake.sent) == 1
        assert message.attempts == len(failing) + 1
        assert (tried[-1] - tried[-2]).total_seconds() <= 66
        assert message.error_code == ""

    def test_a_text_without_a_deadline_keeps_the_attempt_limit(self, settings, scripted, enqueued):
        settings.PEERRX_SMS_MAX_ATTEMPTS = 3
        fake = scripted(*[error("503", retryable=True)] * 10)
        message = OutboundMessageFactory()
        self.run_outage(message, until=T0 + dt.timedelta(days=1))
        message.refresh_from_db()
        assert message.status == OutboundStatus.FAILED
        assert fake.calls == message.attempts == 3
        assert message.error_message.startswith("Gave up after 3 attempts")

    def test_a_text_requeued_past_the_attempt_limit_still_goes_before_its_deadline(self, settings, scripted):
        settings.PEERRX_SMS_MAX_ATTEMPTS = 3
        fake = scripted()
        message = OutboundMessageFactory(attempts=5, valid_until=T0 + dt.timedelta(minutes=5))
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.SENT
        assert fake.calls == 1

    def test_the_last_retry_is_brought_forward_to_just_before_the_deadline(self, settings, scripted):
        settings.PEERRX_SMS_RETRY_CAP_SECONDS = 60
        scripted(error("timeout", retryable=True))
        message = OutboundMessageFactory(attempts=9, valid_until=T0 + dt.timedelta(seconds=20))
        services.deliver(message_id=message.pk, now=T0)
        message.refresh_from_db()
        assert message.status == OutboundStatus.QUEUED
        assert message.next_attempt_at == T0 + dt.timedelta(seconds=19)

    def test_a_rate_limit_is_not_counted_as_the_provider_failing(self, scripted, enqueued):
        scripted(error("20429", retryable=True))
        message = OutboundMessageFactory(valid_until=T0 + dt.timedelta(minutes=5))
        services.deliver(message_id=message.pk, now=T0)
        message.refresh_from_db()
        assert message.status == OutboundStatus.QUEUED
        assert message.first_error_at is None

    def test_it_keeps_the_first_failure_time_across_retries(self, scripted, enqueued):
        scripted(error("503", retryable=True), error("timeout", retryable=True))
        message = OutboundMessageFactory(valid_until=T0 + dt.timedelta(minutes=5))
        services.deliver(message_id=message.pk, now=T0)
        message.refresh_from_db()
        services.deliver(message_id=message.pk, now=message.next_attempt_at)
        message.refresh_from_db()
        assert message.attempts == 2
        assert message.first_error_at == T0


@pytest.mark.django_db(transaction=True)
class TestDatabaseLostWhileRecording:
    """The provider took the text, then the database went away: its id is still saved."""

    def test_it_saves_the_provider_id_on_a_fresh_connection(self, monkeypatch, scripted, no_sleep):
        fake = scripted()
        message = OutboundMessageFactory()
        real = services._record_sent
        failures = iter([OperationalError("server closed the connection unexpectedly")])

        def flaky(*args, **kwargs):
            failure = next(failures, None)
            if failure is not None:
                raise failure
            return real(*args, **kwargs)

        monkeypatch.setattr(services, "_record_sent", flaky)
        assert services.deliver(message_id=message.pk) == OutboundStatus.SENT
        message.refresh_from_db()
        assert message.status == OutboundStatus.SENT
        assert message.provider_sid == "SM" + f"{1:032x}"
        assert fake.calls == 1
        assert no_sleep == [services.RECORD_RETRY_BASE_SECONDS]

    def test_it_gives_up_after_its_retries_and_raises(self, monkeypatch, scripted, no_sleep):
        scripted()
        message = OutboundMessageFactory()

        def down(*args, **kwargs):
            raise OperationalError("the database system is shutting down")

        monkeypatch.setattr(services, "_record_sent", down)
        with pytest.raises(OperationalError):
            services.deliver(message_id=message.pk)
        assert len(no_sleep) == services.RECORD_RETRIES


class TestRateLimit:
    @pytest.fixture
    def clock(self, monkeypatch):
        """A limiter of one text per second whose clock stands still (sleeps are recorded, not slept)."""
        limiter = LocalRateLimiter(1.0, clock=lambda: 100.0)
        monkeypatch.setattr(ratelimit, "limiter", lambda: limiter)
        return limiter

    def test_it_spaces_sends_one_interval_apart(
        self, clock, scripted, enqueued, no_sleep, django_capture_on_commit_callbacks
    ):
        fake = scripted()
        messages = OutboundMessageFactory.create_batch(5)
        with django_capture_on_commit_callbacks(execute=True):
            results = [services.deliver(message_id=m.pk, now=T0) for m in messages]

        # The first goes now, the second after a one-second wait in the worker; the others keep
        # their reserved slots and come back for them.
        assert results == ["sent", "sent", "queued", "queued", "queued"]
        assert no_sleep == [1.0]
        assert fake.calls == 2
        deferred = OutboundMessage.objects.filter(pk__in=[m.pk for m in messages[2:]]).order_by("pk")
        assert [(m.rate_slot_at - T0).total_seconds() for m in deferred] == [2.0, 3.0, 4.0]
        assert [m.next_attempt_at for m in deferred] == [m.rate_slot_at for m in deferred]
        assert [m.attempts for m in deferred] == [0, 0, 0]
        assert [countdown for _, countdown in enqueued.single] == [2.0, 3.0, 4.0]

    def test_it_sends_in_the_reserved_slot_without_taking_another(self, clock, scripted, enqueued, no_sleep):
        fake = scripted()
        messages = OutboundMessageFactory.create_batch(3)
        for m in messages:
            services.deliver(message_id=m.pk, now=T0)
        third = messages[2]
        assert services.deliver(message_id=third.pk, now=T0 + dt.timedelta(seconds=2)) == "sent"
        third.refresh_from_db()
        assert third.rate_slot_at is None
        assert third.attempts == 1
        assert fake.calls == 3
        assert clock.reserve() == 3.0  # slots 0, 1, 2 were taken; the next free one is 3

    def test_it_waits_in_the_worker_for_a_close_slot(self, clock, scripted, enqueued, no_sleep):
        scripted()
        messages = OutboundMessageFactory.create_batch(3)
        for m in messages:
            services.deliver(message_id=m.pk, now=T0)
        # The third comes back half a second early: it waits the rest in the worker.
        services.deliver(message_id=messages[2].pk, now=T0 + dt.timedelta(seconds=1.5))
        assert no_sleep == [1.0, 0.5]

    def test_it_does_not_limit_when_the_setting_is_zero(self, settings, scripted, no_sleep):
        settings.PEERRX_SMS_MAX_PER_SECOND = 0
        fake = scripted()
        for m in OutboundMessageFactory.create_batch(5):
            services.deliver(message_id=m.pk, now=T0)
        assert fake.calls == 5
        assert no_sleep == []


class TestDeliverMany:
    def test_it_sends_every_message_once(self, scripted):
        fake = scripted()
        messages = OutboundMessageFactory.create_batch(6)
        services.deliver_many(message_ids=[m.pk for m in messages] + [messages[0].pk])
        assert fake.calls == 6
        assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}

    def test_it_claims_the_batch_in_one_update_and_records_each_send(
        self, scripted, django_assert_num_queries
    ):
        scripted()
        messages = OutboundMessageFactory.create_batch(6)
        with django_assert_num_queries(2 + 6):  # claim + read back, then one UPDATE per sent message
            services.deliver_many(message_ids=[m.pk for m in messages])

    def test_it_carries_on_after_one_message_breaks(self, monkeypatch, scripted):
        fake = scripted()
        messages = OutboundMessageFactory.create_batch(3)
        real_send = services._send_claimed

        def send(message, *, now=None):
            if message.pk == messages[0].pk:
                raise RuntimeError("database hiccup")
            return real_send(message, now=now)

        monkeypatch.setattr(services, "_send_claimed", send)
        services.deliver_many(message_ids=[m.pk for m in messages])
        assert fake.calls == 2

    def test_it_sends_nothing_when_its_database_connection_is_refused(self, monkeypatch, scripted):
        # Sent without a connection, the provider id could not be saved and the sweeper would
        # send the text again; unsent, the sweeper requeues it once the database is back.
        fake = scripted()
        message = OutboundMessageFactory()

        def refused():
            raise OperationalError("connection refused")

        (claimed,) = services._claim(message_ids=[message.pk], now=timezone.now())
        monkeypatch.setattr(services.connection, "ensure_connection", refused)
        services._send_logged(claimed)  # what each sending thread runs
        monkeypatch.undo()
        assert fake.calls == 0
        message.refresh_from_db()
        assert (message.status, message.provider_sid) == (OutboundStatus.SENDING, None)

    def test_it_leaves_messages_it_did_not_claim(self, scripted):
        fake = scripted()
        mine = OutboundMessageFactory()
        someone_elses = OutboundMessageFactory(status=OutboundStatus.SENDING, claim_token="f" * 32)
        services.deliver_many(message_ids=[mine.pk, someone_elses.pk])
        assert fake.calls == 1
        someone_elses.refresh_from_db()
        assert someone_elses.status == OutboundStatus.SENDING


class TestRecordDeliveryStatus:
    @pytest.fixture
    def sent(self):
        return OutboundMessageFactory(status=OutboundStatus.SENT, provider_sid="SMsent", sent_at=T0)

    def test_it_moves_the_status_forward(self, sent):
        later = T0 + dt.timedelta(seconds=5)
        assert services.record_delivery_status(message_id=sent.pk, status="delivered", now=later)
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.DELIVERED
        assert sent.status_updated_at == later

    def test_it_ignores_a_duplicate(self, sent):
        services.record_delivery_status(message_id=sent.pk, status="delivered", now=T0)
        assert not services.record_delivery_status(
            message_id=sent.pk, status="delivered", now=T0 + dt.timedelta(1)
        )
        sent.refresh_from_db()
        assert sent.status_updated_at == T0

    @pytest.mark.parametrize("late", ["queued", "sending", "sent", "accepted"])
    def test_it_never_moves_back_for_a_late_callback(self, sent, late):
        services.record_delivery_status(message_id=sent.pk, status="delivered", now=T0)
        assert not services.record_delivery_status(message_id=sent.pk, status=late, now=T0)
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.DELIVERED

    def test_it_ends_right_whatever_the_order(self, sent):
        for status in ["delivered", "sent", "queued", "sending", "delivered", "sent"]:
            services.record_delivery_status(message_id=sent.pk, status=status, now=T0)
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.DELIVERED

    def test_it_records_a_delivery_failure_with_its_code(self, sent):
        request = PeerRequestFactory()
        OutboundMessage.objects.filter(pk=sent.pk).update(request=request)
        assert services.record_delivery_status(
            message_id=sent.pk, status="undelivered", error_code="30003", now=T0
        )
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.UNDELIVERED
        assert sent.error_code == "30003"
        assert "Unreachable" in sent.error_message
        assert RequestEvent.objects.filter(request=request, kind=RequestEvent.Kind.SMS_FAILED).count() == 1

    def test_it_opts_the_peer_out_when_the_callback_says_21610(self):
        peer = PeerFactory()
        message = OutboundMessageFactory(
            to=str(peer.phone), peer=peer, status=OutboundStatus.SENT, provider_sid="SMp"
        )
        services.record_delivery_status(message_id=message.pk, status="failed", error_code="21610", now=T0)
        peer.refresh_from_db()
        assert peer.opted_out_at == T0

    def test_it_ignores_an_unknown_message(self, sent):
        assert not services.record_delivery_status(message_id=sent.pk + 1000, status="delivered", now=T0)
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.SENT

    def test_it_ignores_an_unknown_status_word(self, sent):
        assert not services.record_delivery_status(message_id=sent.pk, status="teleported", now=T0)
        sent.refresh_from_db()
        assert sent.status == OutboundStatus.SENT


class TestReceiveInbound:
    def test_it_stores_the_text_and_hands_it_to_a_worker_on_commit(
        self, reply_handler, monkeypatch, django_capture_on_commit_callbacks
    ):
        handed_over: list[int] = []
        monkeypatch.setattr(tasks.handle_inbound, "delay", handed_over.append)
        peer = PeerFactory()
        with django_capture_on_commit_callbacks() as callbacks:
            inbound, created = services.receive_inbound(
                message_sid="SM1",
                from_number=str(peer.phone),
                to_number="+15005550006",
                body="YES 4821",
                now=T0,
            )
        assert created
        assert (inbound.to_number, inbound.received_at) == ("+15005550006", T0)
        assert inbound.peer is None  # found by the handler, off the webhook's path
        assert handed_over == [] and len(callbacks) == 1  # nothing leaves before the commit
        callbacks[0]()
        assert handed_over == [inbound.pk]
        assert reply_handler.calls == []

    def test_it_stores_and_hands_over_a_duplicate_only_once(
        self, monkeypatch, django_capture_on_commit_callbacks
    ):
        handed_over: list[int] = []
        monkeypatch.setattr(tasks.handle_inbound, "delay", handed_over.append)
        with django_capture_on_commit_callbacks(execute=True):
            first, created = services.receive_inbound(
                message_sid="SM1", from_number="+12125550101", body="YES", now=T0
            )
            again, created_again = services.receive_inbound(
                message_sid="SM1", from_number="+12125550101", body="YES", now=T0
            )
        assert (created, created_again) == (True, False)
        assert again.pk == first.pk
        assert InboundMessage.objects.count() == 1
        assert handed_over == [first.pk]


class TestHandleInboundMessage:
    def stored(self, body: str = "YES 4821", **kwargs) -> InboundMessage:
        inbound, _ = services.receive_inbound(message_sid="SM1", body=body, now=T0, **kwargs)
        return inbound

    def test_it_acts_once_and_queues_the_answer(
        self, reply_handler, enqueued, django_capture_on_commit_callbacks
    ):
        peer = PeerFactory()
        reply_handler.peer_id = peer.pk  # the handler found the peer by number
        inbound = self.stored(from_number=str(peer.phone))
        with django_capture_on_commit_callbacks(execute=True):
            assert services.handle_inbound_message(inbound_id=inbound.pk, now=T0) == "Thanks, got it."
        assert services.handle_inbound_message(inbound_id=inbound.pk, now=T0) is None  # handled already
        inbound.refresh_from_db()
        assert (inbound.handled_at, inbound.outcome) == (T0, "replied")
        assert reply_handler.calls == [(str(peer.phone), "YES 4821", T0, T0)]
        reply = OutboundMessage.objects.get(kind=OutboundMessage.Kind.REPLY)
        assert (reply.to, reply.body, reply.peer) == (str(peer.phone), "Thanks, got it.", peer)
        assert enqueued.ids == [reply.pk]

    def test_it_queues_nothing_when_the_handler_has_no_answer(self, reply_handler):
        reply_handler.reply = None
        inbound = self.stored(body="hm", from_number="+12125550101")
        services.handle_inbound_message(inbound_id=inbound.pk, now=T0)
        inbound.refresh_from_db()
        assert inbound.outcome == "no reply"
        assert inbound.handled_at == T0
        assert not OutboundMessage.objects.exists()

    def test_it_keeps_the_outcome_and_peer_the_handler_gave(self, reply_handler):
        peer = PeerFactory()
        reply_handler.outcome, reply_handler.peer_id = "yes 4821", peer.pk
        inbound = self.stored(body="Y 4821", from_number="+12125550101")
        services.handle_inbound_message(inbound_id=inbound.pk, now=T0)
        inbound.refresh_from_db()
        assert (inbound.outcome, inbound.peer) == ("yes 4821", peer)

    def test_it_hands_the_handler_the_time_of_receipt_and_of_handling(self, reply_handler):
        inbound = self.stored(body="YES", from_number="+12125550101")
        services.handle_inbound_message(inbound_id=inbound.pk, now=T0 + dt.timedelta(seconds=7))
        assert reply_handler.calls == [("+12125550101", "YES", T0, T0 + dt.timedelta(seconds=7))]

    def test_it_keeps_the_text_when_the_handler_fails_and_retries_it(self, reply_handler):
        reply_handler.error = RuntimeError("deadlock")
        inbound = self.stored(body="YES", from_number="+12125550101")
        assert services.handle_inbound_message(inbound_id=inbound.pk, now=T0) is None
        inbound.refresh_from_db()
        assert inbound.handled_at is None
        assert inbound.outcome == "error"
        assert not OutboundMessage.objects.exists()

        reply_handler.error = None
        assert services.retry_unhandled_inbound(now=T0 + dt.timedelta(seconds=10)) == 0  # too soon
        assert services.retry_unhandled_inbound(now=T0 + dt.timedelta(seconds=40)) == 1
        inbound.refresh_from_db()
        assert inbound.handled_at == T0 + dt.timedelta(seconds=40)
        assert OutboundMessage.objects.filter(kind="reply").count() == 1
        assert services.retry_unhandled_inbound(now=T0 + dt.timedelta(seconds=50)) == 0
        assert len(reply_handler.calls) == 2

    def test_the_task_runs_it(self, reply_handler):
        inbound = self.stored(from_number="+12125550101")
        tasks.handle_inbound(inbound.pk)
        inbound.refresh_from_db()
        assert inbound.handled_at is not None
        assert len(reply_handler.calls) == 1

    def test_it_does_not_retry_old_texts(self, reply_handler):
        InboundMessageFactory(received_at=T0 - dt.timedelta(hours=1))
        assert services.retry_unhandled_inbound(now=T0) == 0
        assert reply_handler.calls == []

    @pytest.mark.parametrize("number", ["", "abc", "+1", "☃", "+15555550101"])
    def test_it_stores_a_text_from_a_number_that_is_no_peer(self, reply_handler, number):
        inbound, created = services.receive_inbound(message_sid="SM1", from_number=number, body="YES", now=T0)
        assert created
        assert inbound.peer is None


class TestStatusCallbackURL:
    """Each message's callback URL names its row: a callback that overtakes the save of the
    provider id (Twilio calls as soon as it accepts) still finds its message."""

    def callback(self, url: str, sid: str, status: str = "delivered") -> dict:
        params = {"MessageSid": sid, "MessageStatus": status}
        return {"url": url, "params": params, "signature": transport.sign(url=url, params=params)}

    def test_a_callback_before_the_provider_id_is_saved_moves_the_status(self):
        message = OutboundMessageFactory(status=OutboundStatus.SENDING, provider_sid=None)
        url = transport.status_callback_url(message.pk)
        assert url == f"http://testserver/sms/status/{message.pk}/"
        assert services.process_status_webhook(message_id=message.pk, **self.callback(url, "SMearly"))
        message.refresh_from_db()
        assert message.status == OutboundStatus.DELIVERED

    def test_the_send_saved_afterwards_keeps_the_status_the_callback_gave(self, monkeypatch):
        message = OutboundMessageFactory(status=OutboundStatus.QUEUED, provider_sid=None)

        def send_and_report(outgoing):
            url = transport.status_callback_url(outgoing.message_id)
            services.process_status_webhook(message_id=outgoing.message_id, **self.callback(url, "SMfast"))
            return "SMfast"

        monkeypatch.setattr(transport, "send", send_and_report)
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.SENT
        message.refresh_from_db()
        assert (message.status, message.provider_sid) == (OutboundStatus.DELIVERED, "SMfast")
        assert message.sent_at == T0

    def test_a_duplicate_or_unknown_callback_changes_nothing(self):
        message = OutboundMessageFactory(status=OutboundStatus.DELIVERED, provider_sid="SMdone", sent_at=T0)
        url = transport.status_callback_url(message.pk)
        assert not services.process_status_webhook(message_id=message.pk, **self.callback(url, "SMdone"))
        assert not services.process_status_webhook(
            message_id=message.pk, **self.callback(url, "SMdone", status="teleported")
        )
        assert not services.process_status_webhook(message_id=message.pk + 1, **self.callback(url, "SMx"))

    def test_the_old_url_finds_the_message_by_provider_id(self):
        message = OutboundMessageFactory(status=OutboundStatus.SENT, provider_sid="SMold", sent_at=T0)
        retried = OutboundMessageFactory(status=OutboundStatus.SENT, provider_sid="SMretry", sent_at=T0)
        url = "http://testserver/sms/status/"
        assert services.process_status_webhook(**self.callback(url, "SMold"))
        tasks.apply_status("SMretry", "undelivered", "30003", 2)  # a retry queued by the last release
        message.refresh_from_db()
        retried.refresh_from_db()
        assert message.status == OutboundStatus.DELIVERED
        assert (retried.status, retried.error_code) == (OutboundStatus.UNDELIVERED, "30003")


RECEIVED_REFUSALS: list = []


def record_refusal(*, refusal) -> None:
    """A stand-in for SMS_REFUSAL_HANDLER."""
    RECEIVED_REFUSALS.append(refusal)


class TestRefusalHandler:
    @pytest.fixture(autouse=True)
    def _stand_in(self, settings):
        settings.SMS_REFUSAL_HANDLER = "tests.sms.test_services.record_refusal"
        RECEIVED_REFUSALS.clear()
        yield
        RECEIVED_REFUSALS.clear()

    def test_it_hands_a_provider_refusal_to_the_handler_named_in_settings(self, monkeypatch):
        message = OutboundMessageFactory(to="+18455550123", peer=None)

        def refuse(outgoing):
            raise transport.SendError(code="21610", message="Unsubscribed recipient", retryable=False)

        monkeypatch.setattr(transport, "send", refuse)
        assert services.deliver(message_id=message.pk, now=T0) == OutboundStatus.FAILED
        [refusal] = RECEIVED_REFUSALS
        assert (refusal.message_id, refusal.to, refusal.code, refusal.at) == (
            message.pk,
            "+18455550123",
            "21610",
            T0,
        )
        assert refusal.opted_out and not refusal.bad_number and not refusal.expired

    def test_it_hands_over_an_undelivered_callback_once(self):
        message = OutboundMessageFactory(status=OutboundStatus.SENT, provider_sid="SMx", sent_at=T0)
        for _ in range(2):
            services.record_delivery_status(
                message_id=message.pk, status="undelivered", error_code="30005", now=T0
            )
        assert [(r.message_id, r.code) for r in RECEIVED_REFUSALS] == [(message.pk, "30005")]


class TestBoundedInbound:
    def test_a_body_longer_than_twilio_sends_is_stored_cut_to_1600(self, reply_handler):
        params = {"MessageSid": "SMlong", "From": "+12125550101", "Body": "OFF " + "9" * 4400}
        url = "http://testserver/sms/inbound/"
        inbound, created = services.process_inbound_webhook(
            url=url, params=params, signature=transport.sign(url=url, params=params), now=T0
        )
        assert created and len(inbound.body) == 1600
