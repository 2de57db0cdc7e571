"""``make bench``: every service's benchmark in turn; each prints its own figures."""
from __future__ import annotations

import importlib

SERVICES = ("enrollment", "attendance", "certification", "placement", "web")


def main() -> None:
    for service in SERVICES:
        print(f"== {service}", flush=True)
        importlib.import_module(f"tests.benchmarks.bench_{service}").main()


if __name__ == "__main__":
    main()
