"""Twilio down (503, then timeouts) for longer than a text's attempt budget, then back.

Time is compressed: the attempt budget is 3 tries (2 + 4 s of backoff, about 6 s), the retry
cap 2 s, and the outage 14 s, over twice the budget. Alerts have a deadline (their request's
expiry) and are tried until it: none is given up while it is useful, each is delivered once
after the recovery, and the choice and the expiry land on time.
"""

import time

import pytest
from django.db import connection
from django.utils import timezone

from peer_requests.models import RequestStatus
from sms import selectors
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

SELECTION = 20
EXPIRY = 28
MAX_ATTEMPTS = 3  # retries after 2 and 4 s: the old budget ends about 6 s after the first try
RETRY_CAP = 2
ERRORS_SECONDS = 7  # 503 ...
TIMEOUTS_SECONDS = 7  # ... then no answer at all


def test_alerts_outlast_a_twilio_outage_longer_than_the_attempt_budget_and_go_out_once(
    require_postgres, settings, tmp_path
):
    started = time.monotonic()
    settings.PEERRX_SELECTION_SECONDS, settings.PEERRX_EXPIRY_SECONDS = SELECTION, EXPIRY
    seed_reference_data()
    redis_port, twilio_port = faults.PORTS["twilio_down"]
    redis_server = faults.OwnRedis(port=redis_port, tmp_path=tmp_path).start()
    world = make_world(peers=3)
    processes = []
    with FakeTwilio(port=twilio_port) as fake, broker_at(redis_server.url):
        env = faults.fault_env(
            broker=redis_server.url,
            fake=fake,
            tmp_path=tmp_path,
            selection=SELECTION,
            expiry=EXPIRY,
            PEERRX_SMS_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
            PEERRX_SMS_RETRY_CAP_SECONDS=str(RETRY_CAP),
            PEERRX_SMS_TIMEOUT_SECONDS="1",
        )
        try:
            worker = CeleryProcess("worker", env=env, tmp_path=tmp_path, name="worker")
            processes += [worker, CeleryProcess("beat", env=env, tmp_path=tmp_path, name="beat")]
            worker.wait_ready()

            fake.default_outcome = "503"
            outage_began = time.monotonic()
            wanted, unwanted = faults.submit(world), faults.submit(world)
            wait_for(
                lambda: selectors.provider_trouble(now=timezone.now()) is not None,
                timeout=5,
                what="staff to see that texts are delayed",
            )
            time.sleep(max(0.0, ERRORS_SECONDS - (time.monotonic() - outage_began)))
            fake.hang_seconds = 3
            fake.default_outcome = "timeout"
            time.sleep(max(0.0, ERRORS_SECONDS + TIMEOUTS_SECONDS - (time.monotonic() - outage_began)))

            # Twice the old budget has passed: every alert would have been failed by now.
            alerts = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ALERT)
            assert not alerts.filter(status=OutboundStatus.FAILED).exists()
            assert max(alerts.values_list("attempts", flat=True)) > MAX_ATTEMPTS
            assert fake.messages == []
            assert selectors.provider_trouble(now=timezone.now()) is not None

            fake.default_outcome = "ok"
            recovered = time.monotonic()
            recovered_at = timezone.now()
            wait_for(
                lambda: faults.alerts_sent(wanted, unwanted) == 6,
                timeout=15,
                what="every alert after recovery",
            )
            all_out = time.monotonic() - recovered
            assert selectors.provider_trouble(now=timezone.now()) is None
            faults.say_yes(wanted, world.peers[0])

            faults.wait_for_outcomes(
                {wanted: RequestStatus.ASSIGNED, unwanted: RequestStatus.EXPIRED}, timeout=EXPIRY + 10
            )
            faults.wait_until_every_text_is_sent()
            faults.assert_every_text_sent_once(fake, world=world, requests=[wanted, unwanted])
            faults.assert_nothing_half_done(assigned=[wanted], expired=[unwanted])
            late = {
                "wanted": faults.lateness(wanted, recovered_at=recovered_at),
                "unwanted": faults.lateness(unwanted, recovered_at=recovered_at),
            }
            faults.assert_deadlines_met(late)
            most_attempts = max(alerts.values_list("attempts", flat=True))
            for process in processes:
                assert process.process.poll() is None, process.output()[-3000:]
            faults.report(
                "twilio_down",
                {
                    "outage_s": ERRORS_SECONDS + TIMEOUTS_SECONDS,
                    "recovery_to_last_alert_s": round(all_out, 2),
                    "most_attempts": most_attempts,
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
