import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from bench.bench_replies import Checks, Latency, verdict

ROOT = Path(__file__).resolve().parents[2]


class TestLatency:
    def test_from_each_200_to_its_answer(self):
        latency = Latency.of({"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 1.5, "b": 2.2, "c": 4.0})
        assert (latency.n, latency.p50, latency.max, latency.missing) == (3, 0.5, 1.0, 0)

    def test_an_answer_never_sent_is_missing(self):
        assert Latency.of({"a": 1.0, "b": 2.0}, {"a": 1.1}).missing == 1


def test_the_verdict_says_by_how_much():
    assert verdict(1.99) == "met"
    assert verdict(3.0) == "**missed by 1.00 s (1.5×)**"


def checks(**changes) -> Checks:
    fine = {
        "replies": 4,
        "stored": 4,
        "handled": 4,
        "yes_alerts": 4,
        "answers_queued": 4,
        "answers_sent": 4,
        "peers_answered_twice": 0,
    }
    return Checks(**(fine | changes))


class TestChecks:
    def test_all_fine(self):
        assert checks().ok

    @pytest.mark.parametrize("field", ["stored", "handled", "yes_alerts", "answers_queued", "answers_sent"])
    def test_one_short_fails(self, field):
        assert not checks(**{field: 3}).ok

    def test_an_answer_sent_twice_fails(self):
        assert not checks(peers_answered_twice=1).ok


@pytest.mark.slow
@pytest.mark.postgres
def test_it_runs_a_tiny_burst_end_to_end(require_postgres, require_redis, tmp_path):
    """Four replies through gunicorn, Redis, a real worker and the fake Twilio: every check met."""
    from django.db import connection

    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    server = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    database = urlunparse(urlparse(server)._replace(path=f"/peerrx_bench_replies_test_{os.getpid()}"))
    doc = tmp_path / "benchmarks.md"
    env = {
        **os.environ,
        "BENCH_REPLIES_DATABASE_URL": database,
        "BENCH_REPLIES_REDIS_URL": require_redis,
        "BENCH_DOC": str(doc),
        "DJANGO_SETTINGS_MODULE": "peerrx.settings",
    }
    result = subprocess.run(
        [
            sys.executable,
            "bench/bench_replies.py",
            "--requests",
            "2",
            "--peers-per-request",
            "2",
            "--profile",
            "2",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    section = doc.read_text()
    assert "<!-- bench:replies -->" in section
    assert "| stored once, handled once, alert answered once | 4 / 4 / 4 of 4 | all | met |" in section
    assert "| answers queued, sent (to distinct peers) | 4, 4 (0 twice) | one each | met |" in section
    assert "2 answers sent" in section
