import datetime as dt

import pytest
from freezegun import freeze_time

from peer_requests import tasks
from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat, RequestStatus
from tests.world import T0, make_world, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800


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


class TestTaskNames:
    def test_the_beat_runs_the_sweeper_by_its_name(self):
        from peerrx.celery import _beat_schedule

        assert {entry["task"] for entry in _beat_schedule().values()} >= {"peer_requests.tasks.sweep"}

    @pytest.mark.parametrize("name", ["complete_selection", "expire", "sweep"])
    def test_the_names_of_the_last_release_still_run_the_same_code(self, name):
        from peerrx.celery import app

        new, old = app.tasks[f"peer_requests.tasks.{name}"], app.tasks[f"matching.tasks.{name}"]
        assert new.run is old.run

    def test_a_choice_queued_under_the_old_name_is_made(self):
        from peerrx.celery import app

        world = make_world(peers=1)
        peer_request = submit(world)
        with freeze_time(T0 + dt.timedelta(minutes=10)):
            app.tasks["matching.tasks.complete_selection"](peer_request.pk)
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.OPEN
