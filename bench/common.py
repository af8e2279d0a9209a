"""What every benchmark shares: the machine line, timing, its own database, broker and Celery
processes, and its section of docs/benchmarks.md.

Each ``bench/bench_*.py`` prints its figures and rewrites only its own section of the doc,
between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; a missing section is appended.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
DEFAULT_BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/peerrx_bench"
SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnop"  # noqa: S105 - throwaway servers
# Benchmarks send no real mail: what they trigger (staff notices) stays in memory.
BENCH_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY = str(Path(sys.executable).with_name("celery"))


def bench_database_url() -> str:
    """The dedicated benchmark database (never the development or test one)."""
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_BENCH_DATABASE_URL)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return f"{os.cpu_count()} cores (`nproc`), {cpu_model()}, Python {platform.python_version()}"


def load_average() -> str:
    """The 1-minute load average: figures from a machine busy with other work are slower."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def today() -> str:
    """Today in UTC: Django's set-up points the process's local time at TIME_ZONE."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def setup_django(database_url: str) -> None:
    """Django on the benchmark database, with production-like settings (DEBUG off)."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", SECRET_KEY)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ.setdefault("PEERRX_PUBLIC_BASE_URL", "https://peer-rx.example.org")
    os.environ.setdefault("EMAIL_BACKEND", BENCH_EMAIL_BACKEND)
    os.environ.setdefault("PEERRX_ALLOW_DEV_EMAIL", "true")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerrx.settings")
    import django

    django.setup()


@dataclass(frozen=True)
class Timing:
    best: float  # seconds
    runs: list[float]
    queries: int


def best_of(fn: Callable[[], object], *, repeat: int = 3) -> Timing:
    """Run ``fn`` ``repeat`` times; the best wall time and the query count of one run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - started)
        queries = len(captured.captured_queries)
    return Timing(best=min(runs), runs=runs, queries=queries)


def percentile(samples: Iterable[float], share: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``share`` (0 to 1) of them at or
    below it; NaN for no samples."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


# --- The doc section ---------------------------------------------------------------------------


def write_section(name: str, body: str) -> None:
    """Replace (or append) the ``name`` section of docs/benchmarks.md (or of ``BENCH_DOC``)."""
    doc = Path(os.environ.get("BENCH_DOC", DOC))
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line: its module docstring as the help, and ``--no-doc``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    return parser


def measured_on(
    command: str, *, loads: tuple[str, str], needs: str = "", stack: str = "", run: str = "the run"
) -> str:
    """The section's first line: how to run it, when and where it ran, and how busy the machine was."""
    return (
        f"Command: {command}{needs}. Measured {today()} on {machine()}{stack}; 1-minute load average "
        f"{loads[0]} before and {loads[1]} after {run} (other work shares the machine)."
    )


def publish(name: str, body: str, *, no_doc: bool) -> None:
    """Print the section, then (unless ``--no-doc``) replace it in the doc."""
    print()
    print(body)
    if not no_doc:
        write_section(name, body)


# --- Shared by the benchmarks that query or build data ------------------------------------------


def server_version() -> str:
    """PostgreSQL's version, for the section's first line."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def plain_static_files():
    """Settings under which pages render with plain static files: the manifest storage needs a
    collectstatic the benchmarks skip."""
    from django.conf import settings
    from django.test.utils import override_settings

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    return override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain})


def emergency_department(*, county: str = "Orange"):
    """A new verified emergency department in a new county (Orange, NY): where requests come from."""
    from accounts.models import County
    from core.choices import OrganisationStatus
    from locations.models import Location

    return Location.objects.create(
        name="Orange Regional ED",
        kind=Location.Kind.EMERGENCY_DEPARTMENT,
        address="707 East Main Street, Middletown, NY 10940",
        county=County.objects.create(name=county, state="NY"),
        notification_phone="+18455550100",
        status=OrganisationStatus.VERIFIED,
    )


# --- The benchmark's own database, broker and processes ----------------------------------------


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def _owned(url: str, owned_prefix: str) -> str:
    name = database_name(url)
    if not name.startswith(owned_prefix):
        raise SystemExit(f"refusing to drop {name!r}: this benchmark owns {owned_prefix}* only")
    return name


def _maintenance(url: str):
    """An autocommit connection to the server's ``postgres`` database (CREATE/DROP DATABASE)."""
    import psycopg2

    conn = psycopg2.connect(urlunparse(urlparse(url)._replace(path="/postgres")))
    conn.autocommit = True
    return conn


def recreate_database(url: str, owned_prefix: str) -> None:
    """Drop (connections and all) and create the benchmark's database, if its name is its own."""
    name = _owned(url, owned_prefix)
    conn = _maintenance(url)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def drop_database(url: str, owned_prefix: str) -> None:
    name = _owned(url, owned_prefix)
    conn = _maintenance(url)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def flush_redis(url: str) -> None:
    """Empty the benchmark's own Redis database: no task left from an earlier run."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    client.flushdb()
    client.close()


def clean_up(
    *, database_url: str, owned_prefix: str, redis_url: str, workdir: Path, keep: bool, kept: str
) -> None:
    """After a run, even a failed one: empty its Redis database, close its connections, then drop
    its database and working folder, or with ``--keep`` say where they are (``kept``)."""
    with contextlib.suppress(Exception):
        flush_redis(redis_url)
    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()
    if keep:
        print(f"kept: {kept}")
        return
    with contextlib.suppress(Exception):
        drop_database(database_url, owned_prefix)
    shutil.rmtree(workdir, ignore_errors=True)


def production_env(*, database_url: str, broker_url: str, var_dir: Path, **overrides: str) -> dict[str, str]:
    """Settings for the servers and workers a benchmark starts: production ones (DEBUG off) on the
    benchmark's own database and broker; ``overrides`` add to them or replace them."""
    return {
        "DJANGO_SETTINGS_MODULE": "peerrx.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "localhost",
        "PEERRX_PUBLIC_BASE_URL": "https://peer-rx.example.org",
        "EMAIL_BACKEND": BENCH_EMAIL_BACKEND,
        "PEERRX_ALLOW_DEV_EMAIL": "true",
        "PEERRX_VAR_DIR": str(var_dir),
        **overrides,
    }


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the ``finally`` blocks stop what the benchmark started."""

    def _exit(signum: int, frame: object) -> None:
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


# Runs a command with the parent-death signal set, so it never outlives the benchmark even if
# the benchmark is killed outright (Linux); prctl's setting survives exec.
_LAUNCHER = """
import ctypes, os, signal, sys
parent = int(sys.argv[1])
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != parent:
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""


def spawn(command: list[str], *, env: dict[str, str], **popen: object) -> subprocess.Popen:
    """Start ``command`` (an absolute executable first) in its own session, so that Ctrl-C reaches
    only the benchmark, which then stops it in order; it gets SIGTERM if the benchmark dies."""
    return subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *command],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        **popen,
    )


class CeleryProcess:
    """``celery -A peerrx ARGS`` (a worker or beat) in its own session, its output in a log file."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path, append: bool = False):
        self.log = log
        self.hostname = ""  # a worker's node name, for pings
        self._file = log.open("ab" if append else "wb")
        # A fixed argument list naming the venv's own celery: nothing untrusted reaches it.
        self.process = spawn(
            [CELERY, "-A", "peerrx", *args], env=env, stdout=self._file, stderr=subprocess.STDOUT
        )

    @classmethod
    def worker(
        cls,
        *,
        name: str,
        concurrency: int,
        env: dict[str, str],
        log: Path,
        loglevel: str = "WARNING",
        options: Iterable[str] = (),
        append: bool = False,
    ) -> CeleryProcess:
        """``celery worker --pool=threads`` (as in the Procfiles), named ``name@host``."""
        hostname = f"{name}@{socket.gethostname()}"
        args = ["worker", "--pool=threads", f"--concurrency={concurrency}", f"--loglevel={loglevel}"]
        worker = cls([*args, *options, f"--hostname={hostname}"], env=env, log=log, append=append)
        worker.hostname = hostname
        return worker

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the worker answers a ping (this process's Celery app, on the same broker)."""
        from peerrx.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"the worker exited ({self.process.returncode}):\n{self.tail()}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        raise RuntimeError(f"the worker did not answer a ping in {timeout:.0f} s:\n{self.tail()}")

    def output(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")
        return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """A warm shutdown (SIGTERM: running tasks finish), killed if it takes too long."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._file.close()
