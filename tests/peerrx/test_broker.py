"""The embedded broker (peerrx/broker.py): a burst runs every task once, and nothing a half-written
or abandoned file holds can kill the worker."""

import os
import subprocess
import sys

import pytest
from kombu import Connection

from tests.peerrx.broker_burst import run_burst
from tests.peerrx.test_settings import ROOT, _inherited_env


@pytest.fixture
def connection(tmp_path):
    from peerrx.broker import Transport

    # kombu keeps declared bindings process-wide; each test has its own folders.
    Transport.global_state.clear()
    queue, control = tmp_path / "queue", tmp_path / "control"
    queue.mkdir()
    options = {"data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(control)}
    with Connection("filesystem://", transport="peerrx.broker:Transport", transport_options=options) as conn:
        yield conn


def test_it_is_the_make_run_default():
    from peerrx.broker import Transport

    code = (
        "import django; django.setup(); from peerrx.celery import app; "
        "print(type(app.connection_for_write().transport).__module__)"
    )
    env = _inherited_env() | {"DEBUG": "true", "DJANGO_SETTINGS_MODULE": "peerrx.settings"}
    env.pop("CELERY_BROKER_URL", None)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == Transport.__module__ == "peerrx.broker"


def test_it_publishes_and_consumes_each_message_once(connection, tmp_path):
    queue = connection.SimpleQueue("jobs")
    for number in range(3):
        queue.put({"n": number})
    assert not [name for name in os.listdir(tmp_path / "queue") if name.endswith(".tmp")]
    assert sorted(queue.get(timeout=1).payload["n"] for _ in range(3)) == [0, 1, 2]
    assert os.listdir(tmp_path / "queue") == []


def test_an_unreadable_file_is_set_aside_not_raised(connection, tmp_path):
    queue = connection.SimpleQueue("jobs")
    (tmp_path / "queue" / "0_empty.jobs.msg").write_bytes(b"")  # as kombu's own publish leaves it
    queue.put({"n": 1})
    assert queue.get(timeout=1).payload == {"n": 1}
    assert os.listdir(tmp_path / "queue") == [".0_empty.jobs.msg.bad"]


def test_a_file_claimed_by_a_dead_process_goes_back_in_the_queue(connection, tmp_path):
    from peerrx.broker import Channel

    queue = connection.SimpleQueue("jobs")
    queue.put({"n": 7})
    queue_dir = tmp_path / "queue"
    (name,) = os.listdir(queue_dir)
    dead = 2**22 + 12345  # beyond Linux's largest pid: no such process
    os.rename(queue_dir / name, queue_dir / f".{name}.{dead}.1.claimed")
    Channel._recovered_folders.discard(str(queue_dir))
    assert queue.get(timeout=1).payload == {"n": 7}


@pytest.mark.slow
def test_it_runs_every_task_of_a_burst_exactly_once_without_the_worker_dying():
    burst = run_burst(tasks=1000, threads=8)
    assert burst.worker_alive, burst.worker_log[-3000:]
    assert (burst.missing, burst.twice) == (0, 0)
    assert sum(burst.runs.values()) == 1000
    assert "Traceback" not in burst.worker_log
    assert "JSONDecodeError" not in burst.worker_log
