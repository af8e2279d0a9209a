"""Races on PostgreSQL: real transactions, real row locks, one connection per thread."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from freezegun import freeze_time

from peer_requests import services, tasks
from peer_requests.models import Alert, PeerRequest, RequestEvent, RequestStatus
from sms.models import InboundMessage, OutboundMessage
from sms.services import handle_inbound_message
from tests.world import T0, inbound, make_world, seed_reference_data, submit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SELECTION = dt.timedelta(seconds=600)
EXPIRY = dt.timedelta(seconds=1800)


@pytest.fixture(autouse=True)
def _windows(settings, require_postgres):
    seed_reference_data()
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800


def all_at_once(function, items):
    """Run ``function`` on every item in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(items))

    def run(item):
        try:
            barrier.wait(timeout=30)
            return function(item)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(run, items))


def test_twenty_simultaneous_yes_in_the_open_window_assign_exactly_one_peer():
    world = make_world(peers=20)
    peer_request = submit(world)
    services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.OPEN
    at = T0 + dt.timedelta(minutes=15)
    texts = [inbound(peer, f"YES {peer_request.code}", at=at) for peer in world.peers]

    replies = all_at_once(lambda message: handle_inbound_message(inbound_id=message.pk, now=at), texts)

    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.ASSIGNED
    assert Alert.objects.filter(request=peer_request, is_assigned=True).count() == 1
    assert Alert.objects.get(request=peer_request, is_assigned=True).peer == peer_request.assigned_peer
    # Every reply is stored once and handled once.
    assert InboundMessage.objects.count() == 20
    assert InboundMessage.objects.filter(handled_at=at).count() == 20
    outcomes = sorted(InboundMessage.objects.values_list("outcome", flat=True))
    assert outcomes == ["assigned"] + ["filled"] * 19
    assert Alert.objects.filter(request=peer_request, response=Alert.Response.YES).count() == 20
    assert peer_request.events.filter(kind=RequestEvent.Kind.REPLY_YES).count() == 20
    assert peer_request.events.filter(kind=RequestEvent.Kind.ASSIGNED).count() == 1
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.CONFIRMATION).count() == 1
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.LOCATION_ASSIGNED).count() == 1
    assert replies.count(None) == 1  # the winner's answer is the confirmation


def test_the_same_inbound_message_handled_twice_at_once_acts_once():
    world = make_world(peers=1)
    peer_request = submit(world)
    message = inbound(world.peers[0], f"YES {peer_request.code}")
    copies = [InboundMessage.objects.get(pk=message.pk) for _ in range(2)]

    replies = all_at_once(
        lambda copy: handle_inbound_message(inbound_id=copy.pk, now=T0 + dt.timedelta(minutes=1)), copies
    )

    assert replies.count(None) == 1
    assert peer_request.events.filter(kind=RequestEvent.Kind.REPLY_YES).count() == 1


def test_the_choice_run_twice_at_once_assigns_once():
    world = make_world(peers=3)
    peer_request = submit(world)
    for offset, alert in enumerate(peer_request.alerts.all()):
        services.record_yes(alert=alert, now=T0 + dt.timedelta(minutes=1, seconds=offset))

    results = all_at_once(
        lambda _: services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION), [1, 2]
    )

    assert sorted(results) == [False, True]
    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.ASSIGNED
    assert Alert.objects.filter(request=peer_request, is_assigned=True).count() == 1
    assert peer_request.events.filter(kind=RequestEvent.Kind.ASSIGNED).count() == 1
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.CONFIRMATION).count() == 1
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.FILLED).count() == 2


def test_the_choice_and_a_yes_at_the_same_moment_never_lose_the_yes():
    world = make_world(peers=1)
    peer_request = submit(world)
    alert = peer_request.alerts.get()
    due = T0 + SELECTION

    def act(which):
        if which == "choice":
            return services.complete_selection(request_id=peer_request.pk, now=due)
        return services.record_yes(alert=alert, now=due - dt.timedelta(milliseconds=1))

    all_at_once(act, ["choice", "yes"])

    # Whichever ran first, the only YES ends up assigned: either the choice saw it, or it
    # arrived in the open window and won there.
    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.ASSIGNED
    assert peer_request.assigned_peer == alert.peer


def test_the_choice_task_run_twice_assigns_once():
    world = make_world(peers=2)
    peer_request = submit(world)
    for alert in peer_request.alerts.all():
        services.record_yes(alert=alert, now=T0 + dt.timedelta(minutes=1))
    with freeze_time(T0 + SELECTION + dt.timedelta(seconds=1)):
        tasks.complete_selection(peer_request.pk)
        tasks.complete_selection(peer_request.pk)
    assert Alert.objects.filter(request=peer_request, is_assigned=True).count() == 1
    assert peer_request.events.filter(kind=RequestEvent.Kind.ASSIGNED).count() == 1


def test_the_sweeper_alone_assigns_one_request_and_expires_another():
    world = make_world(peers=2)
    with_yes = submit(world)
    services.record_yes(alert=with_yes.alerts.first(), now=T0 + dt.timedelta(minutes=2))
    without = submit(world)

    with freeze_time(T0 + SELECTION):
        tasks.sweep()
    with_yes.refresh_from_db()
    without.refresh_from_db()
    assert with_yes.status == RequestStatus.ASSIGNED
    assert without.status == RequestStatus.OPEN

    with freeze_time(T0 + EXPIRY):
        tasks.sweep()
    without.refresh_from_db()
    assert without.status == RequestStatus.EXPIRED
    assert PeerRequest.objects.get(pk=with_yes.pk).status == RequestStatus.ASSIGNED
    assert (
        OutboundMessage.objects.filter(kind=OutboundMessage.Kind.LOCATION_EXPIRED, request=without).count()
        == 1
    )
