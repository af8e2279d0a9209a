"""Redis restarted empty mid-window: the countdown tasks and queued deliveries it held are gone.

Redis keeps nothing on disk here, as many managed caches. Two requests are collecting (one
with a YES) when it is killed; a third is submitted while it is down, so its alerts and
countdown tasks are never queued at all; then it comes back empty. Only the deadlines in the
database are left, and the sweeper, driven by beat, finishes every request from them.
"""

import re
import time

import pytest
from django.db import connection
from django.utils import timezone

from peer_requests.models import RequestStatus
from sms.models import OutboundMessage, OutboundStatus
from tests.fake_twilio import FakeTwilio
from tests.reliability import faults
from tests.reliability.celery_harness import CeleryProcess, broker_at, wait_for
from tests.world import make_world, seed_reference_data

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SELECTION = 10
EXPIRY = 18
DOWN_SECONDS = 2


def test_after_redis_restarts_empty_the_sweeper_finishes_every_choice_and_expiry(
    require_postgres, settings, tmp_path
):
    started = time.monotonic()
    settings.PEERRX_SELECTION_SECONDS, settings.PEERRX_EXPIRY_SECONDS = SELECTION, EXPIRY
    seed_reference_data()
    redis_port, twilio_port = faults.PORTS["redis_restarted"]
    redis_server = faults.OwnRedis(port=redis_port, tmp_path=tmp_path).start()
    world = make_world(peers=3)
    processes = []
    with FakeTwilio(port=twilio_port) as fake, broker_at(redis_server.url):
        env = faults.fault_env(
            broker=redis_server.url, fake=fake, tmp_path=tmp_path, selection=SELECTION, expiry=EXPIRY
        )
        try:
            worker = CeleryProcess("worker", env=env, tmp_path=tmp_path, name="worker")
            processes += [worker, CeleryProcess("beat", env=env, tmp_path=tmp_path, name="beat")]
            worker.wait_ready()

            wanted, unwanted = faults.submit(world), faults.submit(world)
            wait_for(lambda: faults.alerts_sent(wanted, unwanted) == 6, timeout=10, what="the first alerts")
            faults.say_yes(wanted, world.peers[0])
            # The choice and expiry tasks wait in Redis (and in the worker, for their time).
            assert redis_server.keys() > 0

            redis_server.kill()
            late_comer = faults.submit(world)  # nothing can be queued: its texts wait in the outbox
            assert set(
                OutboundMessage.objects.filter(request=late_comer).values_list("status", flat=True)
            ) == {OutboundStatus.QUEUED}
            time.sleep(DOWN_SECONDS)
            redis_server.start()
            recovered_at = timezone.now()
            assert redis_server.keys() == 0  # came back empty

            wait_for(
                lambda: faults.alerts_sent(late_comer) == 3, timeout=15, what="the late request's alerts"
            )
            alerts_after = (timezone.now() - recovered_at).total_seconds()
            faults.wait_for_outcomes(
                {
                    wanted: RequestStatus.ASSIGNED,
                    unwanted: RequestStatus.EXPIRED,
                    late_comer: RequestStatus.EXPIRED,
                },
                timeout=EXPIRY + 15,
            )
            faults.wait_until_every_text_is_sent()
            requests = [wanted, unwanted, late_comer]
            faults.assert_every_text_sent_once(fake, world=world, requests=requests)
            faults.assert_nothing_half_done(assigned=[wanted], expired=[unwanted, late_comer])
            late = {
                name: faults.lateness(peer_request, recovered_at=recovered_at)
                for name, peer_request in zip(("wanted", "unwanted", "late_comer"), requests, strict=True)
            }
            faults.assert_deadlines_met(late)
            # The countdown tasks died with Redis: the sweeper met the deadlines.
            assert not re.search(r"tasks\.(complete_selection|expire)\[[^]]+\] succeeded", worker.output())
            for process in processes:
                assert process.process.poll() is None, process.output()[-3000:]
            faults.report(
                "redis_restarted",
                {
                    "down_s": DOWN_SECONDS,
                    "recovery_to_late_alerts_s": round(alerts_after, 2),
                    "lateness_s": late,
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
