"""What every benchmark shares: the machine line, timing, and its section of docs/benchmarks.md.

Each ``bench/bench_*.py`` prints its figures and rewrites only its own section of the doc,
between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; a missing section is appended.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
DEFAULT_BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/peerrx_bench"


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
    return dt.date.today().isoformat()


def setup_django(database_url: str) -> None:
    """Django on the benchmark database, with production-like settings (DEBUG off)."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
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


def write_section(name: str, body: str) -> None:
    """Replace (or append) the ``name`` section of docs/benchmarks.md."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
