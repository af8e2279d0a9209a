"""A burst through the embedded broker: a real worker consumes while threads publish.

``run_burst`` starts ``celery worker`` on this module's app (configured from the project's
Celery settings, so the broker is the ``make run`` default: the filesystem queue under
``PEERRX_VAR_DIR``), publishes ``tasks`` ``record`` tasks from ``threads`` threads in another
process, and waits until every one has run. Each task appends its number to a file, so a task
run twice or never shows. ``plain=True`` uses kombu's own filesystem transport instead, the one
that loses the race (docs/operations.md, "The embedded broker")::

    .venv/bin/python -m tests.peerrx.broker_burst          # Peer-RX's transport
    .venv/bin/python -m tests.peerrx.broker_burst --plain  # kombu's: the worker dies
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from celery import Celery

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerrx.settings")
# Not the current app, and its task not shared: importing this module (the test does) must not
# take Peer-RX's shared tasks (sms.tasks and the rest) away from peerrx.celery.app.
app = Celery("broker_burst", set_as_current=False)
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_configure.connect
def _race_conditions(sender: Celery, **kwargs) -> None:
    # The worker polls every 5 ms instead of every second, and the publishers pace themselves,
    # so that the worker is caught up and listing the folder while files are being written.
    sender.conf.broker_transport_options = {**sender.conf.broker_transport_options, "polling_interval": 0.005}
    if os.environ.get("BURST_PLAIN_FILESYSTEM") == "1":
        sender.conf.broker_transport = None  # the URL's own: kombu.transport.filesystem


@app.task(name="broker_burst.record", shared=False)
def record(number: int) -> None:
    # One short line per task in append mode: each write lands whole, even from many threads.
    with open(os.environ["BURST_RECORD_FILE"], "a") as file:
        file.write(f"{number}\n")


def publish(tasks: int, threads: int) -> None:
    """Publish ``tasks`` tasks, numbered 0.., split over ``threads`` threads, all at once."""
    start = threading.Barrier(threads)

    def share(first: int) -> None:
        start.wait()
        for number in range(first, tasks, threads):
            record.delay(number)
            time.sleep(0.002 * threads)  # about 500 tasks a second in all

    # A busy process, as a web server rendering pages is: a publishing thread that releases the
    # GIL in open() waits for it again before it writes, and the file sits empty meanwhile.
    done = threading.Event()

    def busy() -> None:
        while not done.is_set():
            sum(range(1000))

    spinner = threading.Thread(target=busy, daemon=True)
    spinner.start()
    workers = [threading.Thread(target=share, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()


@dataclass
class Burst:
    published: int
    runs: Counter  # task number -> times it ran
    worker_alive: bool
    worker_log: str

    @property
    def missing(self) -> int:
        return sum(1 for number in range(self.published) if number not in self.runs)

    @property
    def twice(self) -> int:
        return sum(1 for times in self.runs.values() if times > 1)


def run_burst(*, tasks: int = 1000, threads: int = 8, plain: bool = False, timeout: float = 90.0) -> Burst:
    workdir = Path(tempfile.mkdtemp(prefix="peerrx-burst-"))
    record_file = workdir / "ran.txt"
    record_file.touch()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_URL"))},
        "DJANGO_SETTINGS_MODULE": "peerrx.settings",
        "DEBUG": "true",
        "CELERY_BROKER_URL": "filesystem://",
        "PEERRX_VAR_DIR": str(workdir / "var"),
        "BURST_RECORD_FILE": str(record_file),
        "BURST_PLAIN_FILESYSTEM": "1" if plain else "0",
        "PYTHONPATH": str(ROOT),
    }
    log = (workdir / "worker.log").open("wb")
    # A fixed command naming the venv's own celery and this module's app.
    worker = subprocess.Popen(  # noqa: S603
        [
            CELERY,
            "-A",
            "tests.peerrx.broker_burst",
            "worker",
            "--pool=threads",
            "--concurrency=8",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        publisher = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "tests.peerrx.broker_burst", "--publish", str(tasks), str(threads)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if publisher.returncode:
            raise RuntimeError(f"publishing failed:\n{publisher.stderr}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and worker.poll() is None:
            if len(record_file.read_text().split()) >= tasks:
                time.sleep(1.0)  # a task run twice would land now
                break
            time.sleep(0.2)
        alive = worker.poll() is None
    finally:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        log.close()
    runs = Counter(int(line) for line in record_file.read_text().split())
    return Burst(
        published=tasks,
        runs=runs,
        worker_alive=alive,
        worker_log=(workdir / "worker.log").read_text(errors="replace"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plain", action="store_true", help="kombu's own filesystem transport")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--publish", nargs=2, type=int, metavar=("TASKS", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish(*args.publish)
        return
    burst = run_burst(tasks=args.tasks, threads=args.threads, plain=args.plain)
    sys.stdout.write(
        f"published {burst.published}, ran {sum(burst.runs.values())} ({len(burst.runs)} distinct), "
        f"missing {burst.missing}, twice {burst.twice}, worker {'alive' if burst.worker_alive else 'DEAD'}\n"
    )
    errors = [line for line in burst.worker_log.splitlines() if "Error" in line]
    sys.stdout.write("".join(f"{line}\n" for line in errors[-5:]))


if __name__ == "__main__":
    main()
