"""Two beats: a sweep (or a rollup) that finds another running skips, and runs once it ends."""

import datetime as dt

import pytest
from freezegun import freeze_time

from peer_requests import tasks
from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat, RequestStatus
from reporting import tasks as reporting_tasks
from reporting.models import RollupState
from tests.core.test_locks import held_elsewhere
from tests.world import T0, make_world, submit

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800


def test_a_sweep_skips_while_another_holds_the_lock_and_runs_after(require_postgres):
    peer_request = submit(make_world(peers=1))
    with freeze_time(T0 + dt.timedelta(minutes=10)):
        with held_elsewhere(tasks.SWEEP_LOCK):
            tasks.sweep()
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.COLLECTING
        assert not Heartbeat.objects.filter(name=SWEEPER_HEARTBEAT).exists()
        tasks.sweep()
    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.OPEN
    assert Heartbeat.objects.get(name=SWEEPER_HEARTBEAT).beat_at == T0 + dt.timedelta(minutes=10)


def test_a_rollup_skips_while_another_holds_the_lock_and_runs_after(require_postgres):
    with held_elsewhere(reporting_tasks.ROLLUP_LOCK):
        reporting_tasks.refresh_rollups()
    assert not RollupState.objects.filter(refreshed_at__isnull=False).exists()
    reporting_tasks.refresh_rollups()
    assert RollupState.objects.get(pk=1).refreshed_at is not None
