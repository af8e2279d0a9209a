import datetime as dt

import pytest
from freezegun import freeze_time

from core.choices import Need
from matching import services, tasks
from matching.models import Heartbeat
from peer_requests.models import RequestStatus
from peerrx.health import SWEEPER_HEARTBEAT
from tests.matching.world import T0, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800


def submit(world):
    return services.submit_request(
        location=world.location, need=Need.SUBSTANCE_USE, callback_contact="Desk", actor=None, now=T0
    )


class TestCompleteSelectionTask:
    def test_it_completes_the_choice_at_the_current_time(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        with freeze_time(T0 + dt.timedelta(minutes=9)):
            tasks.complete_selection(peer_request.pk)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.COLLECTING
        with freeze_time(T0 + dt.timedelta(minutes=10)):
            tasks.complete_selection(peer_request.pk)
            tasks.complete_selection(peer_request.pk)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN
        assert peer_request.events.filter(kind="opened").count() == 1


class TestExpireTask:
    def test_it_expires_at_the_current_time(self):
        world = make_world(peers=1)
        peer_request = submit(world)
        with freeze_time(T0 + dt.timedelta(minutes=30)):
            tasks.expire(peer_request.pk)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.EXPIRED


class TestSweep:
    def test_it_finishes_due_requests_sends_due_texts_and_beats(self, monkeypatch):
        sends, retries = [], []
        monkeypatch.setattr(tasks, "send_due_messages", lambda *, now: sends.append(now))
        monkeypatch.setattr(tasks, "retry_unhandled_inbound", lambda *, now: retries.append(now))
        world = make_world(peers=2)
        peer_request = submit(world)
        at = T0 + dt.timedelta(minutes=30)
        with freeze_time(at):
            tasks.sweep()
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.EXPIRED
        assert sends == retries == [at]
        assert Heartbeat.objects.get(name=SWEEPER_HEARTBEAT).beat_at == at

    def test_it_does_not_beat_when_the_work_fails(self, monkeypatch):
        def down(*, now):
            raise ConnectionError("database gone")

        monkeypatch.setattr(tasks, "send_due_messages", down)
        with pytest.raises(ConnectionError):
            tasks.sweep()
        assert not Heartbeat.objects.exists()
