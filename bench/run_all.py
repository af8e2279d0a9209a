"""Run every benchmark, ``bench/bench_*.py`` in name order, then ``bench/simulate_*.py`` (``make bench``).

Each script prints its figures and rewrites its own section of docs/benchmarks.md. A
failing script is reported and the others still run; the exit status is non-zero if any
failed. The time each took, and the whole run's, go into the ``make-bench`` section.
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.common import load_average, measured_on, write_section  # noqa: E402

TARGET_MINUTES = 15


def main() -> int:
    scripts = sorted(BENCH.glob("bench_*.py")) + sorted(BENCH.glob("simulate_*.py"))
    failed, rows = [], []
    load_before = load_average()
    run_started = time.perf_counter()
    for script in scripts:
        print(f"=== {script.name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=BENCH.parent, check=False)
        seconds = time.perf_counter() - started
        print(f"=== {script.name}: exit {result.returncode} after {seconds:.0f} s\n", flush=True)
        rows.append(f"| `{script.name}` | {seconds:.0f} s | {'ok' if not result.returncode else 'failed'} |")
        if result.returncode:
            failed.append(script.name)
    total = time.perf_counter() - run_started
    verdict = "met" if total < TARGET_MINUTES * 60 else f"**missed by {total / 60 - TARGET_MINUTES:.1f} min**"
    write_section(
        "make-bench",
        "\n".join(
            [
                "## `make bench` end to end",
                "",
                measured_on("`make bench`", loads=(load_before, load_average()), run="all of it"),
                "",
                "| script | time | |",
                "|---|---:|---|",
                *rows,
                f"| all, one after another | {total / 60:.1f} min | {verdict} (target: under "
                f"{TARGET_MINUTES} min) |",
            ]
        ),
    )
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
