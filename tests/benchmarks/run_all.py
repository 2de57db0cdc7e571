"""``make bench``: every service's benchmark in turn, each beside its same-run reference; then one summary.

Each benchmark prints a line per repeat (``BENCH_REPEATS``, default 3): its figure, the reference's, the ratio,
the target and whether it is met. The summary at the end gives each benchmark's ranges over the repeats. A
benchmark that fails is reported and the others still run; the exit status is then 1.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback

from tests.benchmarks.common import print_summary

SERVICES = ("enrollment", "attendance", "certification", "placement", "web", "latency")


def main() -> int:
    failed = []
    start = time.perf_counter()
    for service in SERVICES:
        print(f"== {service}", flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"tests.benchmarks.bench_{service}")
            saved, sys.argv = sys.argv, sys.argv[:1]  # placement reads its sizes from argv
            try:
                module.main()
            finally:
                sys.argv = saved
        except Exception:
            traceback.print_exc()
            failed.append(service)
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    print_summary(f"make bench: {time.perf_counter() - start:.0f} s in all, load average {os.getloadavg()[0]:.1f}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
