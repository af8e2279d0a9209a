"""PostgreSQL connections killed mid-window, as a restart or a failover does to them.

Every connection to the test's own database but the test's is terminated
(``pg_terminate_backend``) again and again: during the fan-out, while the fake Twilio holds each
send half a second (so texts are in flight when their worker's connection dies), and across
the choice and the expiry. The worker and beat keep running on persistent, health-checked
connections (``DB_CONN_MAX_AGE=60``, as in production): every text goes out once and is
recorded, every transition is whole, and every deadline lands.
"""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat, RequestStatus
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
KILL_EVERY = 0.3


class BackendKiller:
    """Terminates every other session on this test's database, every ``KILL_EVERY`` seconds,
    while ``killing`` is set; never the test's own connection, never another database."""

    def __init__(self):
        import psycopg2

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.spared = cursor.fetchone()[0]
        db = connection.settings_dict
        self.session = psycopg2.connect(
            dbname=db["NAME"],
            user=db["USER"],
            password=db["PASSWORD"],
            host=db["HOST"],
            port=db["PORT"] or 5432,
        )
        self.session.autocommit = True
        self.killing = threading.Event()
        self.stopped = threading.Event()
        self.terminated = 0
        self.last_kill = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            if self.killing.is_set():
                with self.session.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
                        [self.spared],
                    )
                    self.terminated += cursor.fetchone()[0]
                self.last_kill = timezone.now()
            time.sleep(KILL_EVERY)

    def kill_for(self, seconds: float) -> None:
        self.killing.set()
        time.sleep(seconds)
        self.killing.clear()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.session.close()


def sleep_until(start: float, offset: float) -> None:
    time.sleep(max(0.0, start + offset - time.monotonic()))


def test_with_its_connections_killed_again_and_again_the_system_finishes_every_request_once(
    require_postgres, settings, tmp_path
):
    started = time.monotonic()
    settings.PEERRX_SELECTION_SECONDS, settings.PEERRX_EXPIRY_SECONDS = SELECTION, EXPIRY
    seed_reference_data()
    redis_port, twilio_port = faults.PORTS["postgres_restarted"]
    redis_server = faults.OwnRedis(port=redis_port, tmp_path=tmp_path).start()
    world = make_world(peers=4)
    processes = []
    killer = BackendKiller()
    with FakeTwilio(port=twilio_port) as fake, broker_at(redis_server.url):
        env = faults.fault_env(
            broker=redis_server.url, fake=fake, tmp_path=tmp_path, selection=SELECTION, expiry=EXPIRY
        )
        try:
            worker = CeleryProcess("worker", env=env, tmp_path=tmp_path, name="worker")
            processes += [worker, CeleryProcess("beat", env=env, tmp_path=tmp_path, name="beat")]
            worker.wait_ready()
            wait_for(
                lambda: Heartbeat.objects.filter(name=SWEEPER_HEARTBEAT).exists(), timeout=10, what="a sweep"
            )

            fake.latency = 0.5  # every send in flight for half a second
            submitted = time.monotonic()
            wanted, unwanted = faults.submit(world), faults.submit(world)
            killer.kill_for(3)  # the fan-out and a few sweeps
            wait_for(lambda: faults.alerts_sent(wanted, unwanted) == 8, timeout=20, what="every alert")
            faults.say_yes(wanted, world.peers[0])

            sleep_until(submitted, SELECTION - 1.5)
            killer.kill_for(3)  # across the choice
            choice_recovered = killer.last_kill
            sleep_until(submitted, EXPIRY - 1.5)
            killer.kill_for(3)  # across the expiry
            expiry_recovered = killer.last_kill

            faults.wait_for_outcomes(
                {wanted: RequestStatus.ASSIGNED, unwanted: RequestStatus.EXPIRED}, timeout=15
            )
            faults.wait_until_every_text_is_sent()
            faults.assert_every_text_sent_once(fake, world=world, requests=[wanted, unwanted])
            faults.assert_nothing_half_done(assigned=[wanted], expired=[unwanted])
            # From the deadline, or the last kill around it if later.
            late = {
                "wanted": {"choice": faults.lateness(wanted, recovered_at=choice_recovered)["choice"]},
                "unwanted": {
                    "choice": faults.lateness(unwanted, recovered_at=choice_recovered)["choice"],
                    "expiry": faults.lateness(unwanted, recovered_at=expiry_recovered)["expiry"],
                },
            }
            from_due = {"wanted": faults.lateness(wanted), "unwanted": faults.lateness(unwanted)}
            faults.assert_deadlines_met(late)
            # Worker and beat reconnected by themselves: the sweeper still beats.
            beat_at = Heartbeat.objects.get(name=SWEEPER_HEARTBEAT).beat_at
            wait_for(
                lambda: Heartbeat.objects.get(name=SWEEPER_HEARTBEAT).beat_at > beat_at,
                timeout=5,
                what="another sweep",
            )
            assert killer.terminated > 0
            for process in processes:
                assert process.process.poll() is None, process.output()[-3000:]
            faults.report(
                "postgres_restarted",
                {
                    "backends_terminated": killer.terminated,
                    "sends_recorded_on_a_new_connection": worker.output().count(
                        "database lost while recording"
                    ),
                    "task_errors": worker.output().count("raised unexpected"),
                    "lateness_s": late,
                    "lateness_from_due_s": from_due,
                    "wall_s": faults.elapsed_since(started),
                },
            )
        except BaseException:
            faults.show_output(processes)
            raise
        finally:
            killer.stop()
            for process in processes:
                process.stop()
            redis_server.kill()
            connection.close()
