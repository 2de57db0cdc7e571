"""What every benchmark shares: repeats, the same-run reference, the ratio, the target and the summary.

Absolute rates move by a factor of two between machines and between runs on one machine (two cores shared
with other work), so a figure alone says little. Each benchmark therefore measures, in the same run and
interleaved with it, a *reference* doing the least the job needs on the same stack, and judges the ratio:

- a rate (higher is better): ratio = service rate / reference rate, met when ratio >= target;
- a time (lower is better): ratio = service time / reference time, met when ratio <= target.

Where the target is an absolute figure (e.g. a p99 under one second), it is the measure's ``limit``, judged on
the service's own figure; the ratio is still printed beside it.

``BENCH_REPEATS`` (default 3) repeats every measurement; each repeat prints its own line, and the summary
gives the range (min-max) of each ratio over the repeats. A benchmark without a target in issue 11 prints
its ratio with no verdict (target "-").

The benchmarks drive the services only through their public faces (HTTP, events on the broker, the
``shared/`` kernel): never ``services/*/service_layer`` nor ``adapters``, which change under them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

REPEATS = max(1, int(os.environ.get("BENCH_REPEATS", "3")))


@dataclass
class Measure:
    """One benchmark line: the service's figure and its reference's, per repeat."""

    name: str
    kind: Literal["rate", "time"]
    target: float | None = None
    unit: str = ""  # printed after the figures: "/s" for rates, "ms" for times
    reference_name: str = "reference"
    limit: float | None = None  # a bound on the service's own figure: a time below it, a rate at or above it
    pairs: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.unit = self.unit or ("/s" if self.kind == "rate" else "ms")
        RESULTS.append(self)

    @staticmethod
    def ratio_of(service: float, reference: float) -> float:
        return service / reference if reference else float("inf")

    def met(self, ratio: float) -> bool | None:
        if self.target is None:
            return None
        return ratio >= self.target if self.kind == "rate" else ratio <= self.target

    def within_limit(self, service: float) -> bool | None:
        if self.limit is None:
            return None
        return service >= self.limit if self.kind == "rate" else service < self.limit

    def judged(self, service: float, reference: float) -> bool | None:
        """The ratio against its target and the figure against its limit, each where there is one."""
        verdicts = [
            v for v in (self.met(self.ratio_of(service, reference)), self.within_limit(service)) if v is not None
        ]
        return all(verdicts) if verdicts else None

    def target_text(self) -> str:
        parts = []
        if self.target is not None:
            parts.append(f">= {self.target:g}" if self.kind == "rate" else f"<= {self.target:g}x")
        if self.limit is not None:
            parts.append(f"{'>=' if self.kind == 'rate' else '<'} {self.limit:g} {self.unit}")
        return "; ".join(parts) or "-"

    def add(self, service: float, reference: float) -> None:
        """Record one repeat and print its line."""
        self.pairs.append((service, reference))
        ratio = self.ratio_of(service, reference)
        verdict = {True: "met", False: "NOT MET", None: "no target"}[self.judged(service, reference)]
        print(
            f"  {self.name} [{len(self.pairs)}/{REPEATS}]: {_fig(service)} {self.unit}; "
            f"{self.reference_name} {_fig(reference)} {self.unit}; ratio {ratio:.2f} "
            f"(target {self.target_text()}) {verdict}",
            flush=True,
        )

    def ratios(self) -> list[float]:
        return [self.ratio_of(s, r) for s, r in self.pairs]

    def row(self) -> tuple[str, ...]:
        if not self.pairs:
            return (self.name, "not run", "", "", self.target_text(), "")
        services = [s for s, _ in self.pairs]
        refs = [r for _, r in self.pairs]
        ratios = self.ratios()
        verdicts = [self.judged(s, r) for s, r in self.pairs]
        met = "-" if self.target is None and self.limit is None else f"{sum(1 for v in verdicts if v)}/{len(verdicts)}"
        return (
            self.name,
            f"{_range(services)} {self.unit}",
            f"{_range(refs)} {self.unit}",
            f"{min(ratios):.2f}-{max(ratios):.2f}",
            self.target_text(),
            met,
        )


RESULTS: list[Measure] = []


def _fig(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _range(values: list[float]) -> str:
    return f"{_fig(min(values))}-{_fig(max(values))}"


def summary(results: list[Measure] | None = None) -> str:
    results = RESULTS if results is None else results
    head = ("benchmark", "service (min-max)", "reference (min-max)", "ratio (min-max)", "target", "met")
    rows = [head] + [m.row() for m in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_summary(title: str, results: list[Measure] | None = None) -> None:
    print(
        f"\n== {title} ({REPEATS} repeat(s); ratio of rates: service/reference; of times: "
        f"service/reference)\n{summary(results)}",
        flush=True,
    )


@contextlib.contextmanager
def reference_processes(env: dict[str, str], count: int) -> Iterator[list[str]]:
    """``count`` processes of the bare reference app (``tests/benchmarks/reference.py``) under uvicorn, run
    exactly as ``tests.support.service_process`` runs a service; yields their base URLs."""
    from trainingops.broker import free_port, wait_for_port

    procs: list[tuple[subprocess.Popen, str]] = []
    try:
        for _ in range(count):
            port = free_port()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "tests.benchmarks.reference:create_app",
                    "--factory",
                    "--port",
                    str(port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append((proc, f"http://127.0.0.1:{port}"))
        for _proc, url in procs:
            wait_for_port("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout_s=60)
        yield [url for _, url in procs]
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            proc.wait(30)
