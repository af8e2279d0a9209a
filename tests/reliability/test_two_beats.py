"""Two beats at once for a whole window, then one of them killed.

Both beats schedule the sweeper every second, so two sweeps often start together on the
worker's threads. The requests are submitted while the broker refuses every publish, so no
countdown task and no delivery is queued: the sweeper alone sends every alert and meets every
deadline. Nothing may happen twice (the advisory lock and the compare-and-set transitions);
after one beat is SIGKILLed, the other still lands every deadline.
"""

import re
import time

import pytest
from django.db import connection

from peer_requests.models import RequestStatus
from tests.fake_twilio import FakeTwilio
from tests.reliability import faults
from tests.reliability.celery_harness import DEAD_BROKER, CeleryProcess, broker_at, wait_for
from tests.world import make_world, seed_reference_data

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SELECTION = 6
EXPIRY = 12


def submit_with_no_broker(world):
    """Two requests whose tasks cannot be queued: only the sweeper can move them."""
    with broker_at(DEAD_BROKER):
        return faults.submit(world), faults.submit(world)


def run_window(world, *, label: str) -> dict:
    wanted, unwanted = submit_with_no_broker(world)
    wait_for(lambda: faults.alerts_sent(wanted, unwanted) == 6, timeout=10, what=f"{label}: the alerts")
    faults.say_yes(wanted, world.peers[0])
    faults.wait_for_outcomes(
        {wanted: RequestStatus.ASSIGNED, unwanted: RequestStatus.EXPIRED}, timeout=EXPIRY + 10
    )
    faults.wait_until_every_text_is_sent()
    faults.assert_nothing_half_done(assigned=[wanted], expired=[unwanted])
    late = {"wanted": faults.lateness(wanted), "unwanted": faults.lateness(unwanted)}
    faults.assert_deadlines_met(late)
    return {"requests": [wanted, unwanted], "lateness_s": late}


def test_two_beats_do_nothing_twice_and_one_left_still_lands_every_deadline(
    require_postgres, settings, tmp_path
):
    started = time.monotonic()
    settings.PEERRX_SELECTION_SECONDS, settings.PEERRX_EXPIRY_SECONDS = SELECTION, EXPIRY
    seed_reference_data()
    redis_port, twilio_port = faults.PORTS["two_beats"]
    redis_server = faults.OwnRedis(port=redis_port, tmp_path=tmp_path).start()
    world = make_world(peers=3)
    processes = []
    with FakeTwilio(port=twilio_port) as fake:
        env = faults.fault_env(
            broker=redis_server.url, fake=fake, tmp_path=tmp_path, selection=SELECTION, expiry=EXPIRY
        )
        try:
            worker = CeleryProcess("worker", env=env, tmp_path=tmp_path, name="worker")
            first = CeleryProcess("beat", env=env, tmp_path=tmp_path, name="first")
            second = CeleryProcess("beat", env=env, tmp_path=tmp_path, name="second")
            processes += [worker, first, second]
            worker.wait_ready()

            both = run_window(world, label="two beats")
            sweeps = len(re.findall(r"tasks\.sweep\[[^]]+\] received", worker.output()))
            skipped = worker.output().count("Another sweep is running")
            for beat in (first, second):  # both beats really scheduled the sweeper
                assert "Sending due task sweep-due-work" in beat.output()

            first.kill()
            # Another county's peers: the first window's assigned peer is busy.
            elsewhere = make_world(peers=3, county="Ulster")
            alone = run_window(elsewhere, label="one beat")
            faults.assert_every_text_sent_once(
                fake, world=world, requests=both["requests"], also=[(elsewhere, alone["requests"])]
            )
            for process in (worker, second):
                assert process.process.poll() is None, process.output()[-3000:]
            faults.report(
                "two_beats",
                {
                    "sweeps_in_the_first_window": sweeps,
                    "sweeps_skipped_on_the_lock": skipped,
                    "lateness_two_beats_s": both["lateness_s"],
                    "lateness_one_beat_s": alone["lateness_s"],
                    "wall_s": faults.elapsed_since(started),
                },
            )
        except BaseException:
            faults.show_output(processes)
            raise
        finally:
            for process in processes:
                process.stop()
            redis_server.kill()
            connection.close()
