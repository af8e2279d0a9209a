"""The SQL a reply costs the worker: a burst of YES is handled at the pace of these statements
(docs/benchmarks.md, "A burst of YES replies on one worker"), so a query added to the path
shows here first."""

import datetime as dt

import pytest

from peer_requests.models import Alert
from sms.models import OutboundMessage, OutboundStatus
from sms.services import handle_inbound_message
from tests.world import T0, inbound, make_world, submit

pytestmark = pytest.mark.django_db

AT = T0 + dt.timedelta(minutes=1)  # inside the collecting window
# handle_inbound_message's own transaction is a savepoint inside the test's (two statements a
# worker does not send: it sends BEGIN and COMMIT, which Django does not count).
TEST_SAVEPOINT = 2


@pytest.fixture
def peer_request_and_peers(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    world = make_world(peers=3)
    return submit(world, at=T0), world.peers


def test_a_yes_with_its_code(peer_request_and_peers, django_assert_num_queries):
    # The text locked; the peer; their alert for the code; record_yes (savepoint, request lock,
    # the alert re-read under it, another live assignment?, the YES, its event, release); the
    # text marked handled; the answer queued: 12 statements in a worker.
    peer_request, peers = peer_request_and_peers
    text = inbound(peers[0], f"YES {peer_request.code}", at=AT)
    with django_assert_num_queries(12 + TEST_SAVEPOINT):
        handle_inbound_message(inbound_id=text.pk, now=AT)
    assert Alert.objects.get(request=peer_request, peer=peers[0]).response == Alert.Response.YES


def test_a_bare_yes(peer_request_and_peers, django_assert_num_queries):
    peer_request, peers = peer_request_and_peers
    text = inbound(peers[1], "yes", at=AT)
    with django_assert_num_queries(12 + TEST_SAVEPOINT):
        handle_inbound_message(inbound_id=text.pk, now=AT)
    assert Alert.objects.get(request=peer_request, peer=peers[1]).response == Alert.Response.YES


def test_a_no(peer_request_and_peers, django_assert_num_queries):
    peer_request, peers = peer_request_and_peers
    text = inbound(peers[2], f"NO {peer_request.code}", at=AT)
    with django_assert_num_queries(11 + TEST_SAVEPOINT):
        handle_inbound_message(inbound_id=text.pk, now=AT)
    assert Alert.objects.get(request=peer_request, peer=peers[2]).response == Alert.Response.NO


def test_the_workers_task_sends_the_answer_once_committed(
    peer_request_and_peers, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    """``send_answer``: after the commit the answer is claimed and sent from the same task (three
    statements more: claim, read the claimed row, record the send), and its queued delivery task
    finds nothing left to send."""
    from sms import services, transport

    published = []
    monkeypatch.setattr(
        services, "enqueue_delivery", lambda *, message_id, countdown=None: published.append(message_id)
    )
    # The console backend's delivery report stands in for Twilio's later status callback: not
    # part of what a reply costs the worker.
    monkeypatch.setattr(transport, "_report_console_delivery", lambda message: None)
    peer_request, peers = peer_request_and_peers
    text = inbound(peers[0], f"YES {peer_request.code}", at=AT)
    with django_assert_num_queries(15 + TEST_SAVEPOINT), django_capture_on_commit_callbacks(execute=True):
        handle_inbound_message(inbound_id=text.pk, now=AT, send_answer=True)
    answer = OutboundMessage.objects.get(kind=OutboundMessage.Kind.REPLY)
    assert answer.status == OutboundStatus.SENT
    assert published == [answer.pk]  # the fallback, still queued
    assert services.deliver(message_id=answer.pk) is None  # which then sends nothing
    answer.refresh_from_db()
    assert answer.attempts == 1
