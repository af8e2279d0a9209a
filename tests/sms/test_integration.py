"""The SMS module with its real neighbours: the reply handler, PostgreSQL and parallel workers."""

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connections

from sms import services, transport
from sms.models import InboundMessage, OutboundMessage, OutboundStatus
from tests.fake_twilio import FakeTwilio
from tests.peers.factories import PeerFactory
from tests.sms.factories import T0, OutboundMessageFactory

pytest_plugins = ["tests.fake_twilio"]

INBOUND_URL = "http://testserver/sms/inbound/"


def signed_inbound(*, sid: str, from_number: str, body: str) -> dict:
    params = {"MessageSid": sid, "From": from_number, "To": "+15005550006", "Body": body}
    return {"url": INBOUND_URL, "params": params, "signature": transport.sign(url=INBOUND_URL, params=params)}


def in_threads(count: int, target: Callable[[int], None]) -> list[BaseException]:
    """Run ``target(i)`` in ``count`` threads released together; returns their exceptions."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db
class TestWithTheRealReplyHandler:
    """The handler SMS_INBOUND_HANDLER names (peer_requests.replies.handle_text), not a stand-in."""

    def test_it_answers_help_to_a_peer(self, client, inbound_worker):
        from peer_requests import messages

        peer = PeerFactory()
        signed = signed_inbound(sid="SM" + "1" * 32, from_number=str(peer.phone), body="help")
        with inbound_worker():
            response = client.post(
                "/sms/inbound/", signed["params"], HTTP_X_TWILIO_SIGNATURE=signed["signature"]
            )
        assert response.status_code == 200
        inbound = InboundMessage.objects.get()
        assert inbound.peer == peer
        assert inbound.outcome == "help"
        assert inbound.handled_at is not None
        reply = OutboundMessage.objects.get()
        assert (reply.to, reply.kind, reply.peer, reply.body) == (
            str(peer.phone),
            OutboundMessage.Kind.REPLY,
            peer,
            messages.help_text(),
        )

    def test_it_answers_a_stranger_neutrally_and_does_nothing_else(self, inbound_worker):
        with inbound_worker(now=T0):
            inbound, created = services.receive_inbound(
                message_sid="SM" + "2" * 32, from_number="+12125550999", body="YES 4821", now=T0
            )
        assert created
        inbound.refresh_from_db()
        assert inbound.outcome == "unknown_number"
        reply = OutboundMessage.objects.get()
        assert reply.to == "+12125550999"
        assert reply.peer is None

    def test_it_acts_once_on_a_duplicate(self, inbound_worker):
        from peers.models import AvailabilityOverride

        peer = PeerFactory()
        for _ in range(2):
            with inbound_worker(now=T0):
                services.receive_inbound(
                    message_sid="SM" + "3" * 32, from_number=str(peer.phone), body="OFF 2", now=T0
                )
        assert AvailabilityOverride.objects.filter(peer=peer).count() == 1
        assert OutboundMessage.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrencyOnPostgres:
    def test_it_stores_and_acts_on_a_duplicate_once_when_copies_race(
        self, require_postgres, reply_handler, enqueued, inbound_worker
    ):
        signed = signed_inbound(sid="SM" + "4" * 32, from_number="+12125550101", body="YES 4821")
        created: list[bool] = []

        def receive(_: int) -> None:
            _inbound, was_created = services.process_inbound_webhook(**signed)
            created.append(was_created)

        assert in_threads(12, receive) == []
        assert sorted(created) == [False] * 11 + [True]
        assert InboundMessage.objects.count() == 1
        assert len(reply_handler.calls) == 1
        assert OutboundMessage.objects.filter(kind="reply").count() == 1

    def test_it_sends_a_message_once_when_workers_race_for_it(
        self, require_postgres, twilio_settings: FakeTwilio
    ):
        twilio_settings.latency = 0.1
        message = OutboundMessageFactory()
        results: list[str | None] = []
        assert in_threads(10, lambda _: results.append(services.deliver(message_id=message.pk))) == []
        assert sorted(results, key=str) == [None] * 9 + ["sent"]
        assert len(twilio_settings.messages) == 1
        message.refresh_from_db()
        assert message.provider_sid == twilio_settings.messages[0].sid

    def test_it_fans_out_in_parallel_and_sends_each_once(
        self, require_postgres, twilio_settings: FakeTwilio, enqueued
    ):
        twilio_settings.latency = 0.2
        peers = PeerFactory.create_batch(200)
        saved = services.queue_bulk(
            messages=[
                OutboundMessage(to=str(p.phone), peer=p, body="Alert 4821", kind="alert") for p in peers
            ],
        )
        assert sorted(enqueued.ids) == sorted(m.pk for m in saved)  # batches enqueued on commit
        services.deliver_many(message_ids=[m.pk for m in saved])

        assert sorted(m.to for m in twilio_settings.messages) == sorted(str(p.phone) for p in peers)
        assert OutboundMessage.objects.filter(status=OutboundStatus.SENT).count() == 200
        # The sends overlapped: at one moment the fake held most of a full pool of calls.
        assert twilio_settings.max_in_flight >= settings.PEERRX_SMS_SEND_CONCURRENCY // 2

    def test_it_ends_on_the_right_status_when_callbacks_race(self, require_postgres):
        message = OutboundMessageFactory(status=OutboundStatus.SENT, provider_sid="SMrace", sent_at=T0)
        order = ["sent", "delivered", "queued", "sent", "delivered", "sending"] * 3

        def callback(i: int) -> None:
            services.record_delivery_status(
                message_id=message.pk, status=order[i], now=T0 + dt.timedelta(seconds=i)
            )

        assert in_threads(len(order), callback) == []
        message.refresh_from_db()
        assert message.status == OutboundStatus.DELIVERED
