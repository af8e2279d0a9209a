"""Run every benchmark, ``bench/bench_*.py`` in name order (``make bench``).

Each script prints its figures and rewrites its own section of docs/benchmarks.md. A
failing script is reported and the others still run; the exit status is non-zero if any
failed.
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(BENCH.glob("bench_*.py"))
    failed = []
    for script in scripts:
        print(f"=== {script.name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=BENCH.parent, check=False)
        print(
            f"=== {script.name}: exit {result.returncode} after {time.perf_counter() - started:.0f} s\n",
            flush=True,
        )
        if result.returncode:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
