"""The benchmarks are not run by ``make test`` (``make bench`` runs them); this only keeps them importable, keeps
them on the services' public faces, and checks how a ratio is judged."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.benchmarks import common

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
MODULES = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("module", MODULES)
def test_each_benchmark_module_imports(module: str) -> None:
    importlib.import_module(f"tests.benchmarks.{module}")


@pytest.mark.parametrize("module", MODULES)
def test_benchmarks_reach_the_services_only_through_their_public_faces(module: str) -> None:
    """HTTP, events and the kernel: a service's own modules (service layer, adapters...) change under them."""
    tree = ast.parse((BENCH / f"{module}.py").read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    assert [n for n in names if n == "services" or n.startswith("services.")] == []


def test_a_rate_is_judged_by_service_over_reference_and_a_time_by_the_same_quotient() -> None:
    rate = common.Measure("r", "rate", 0.5)
    time = common.Measure("t", "time", 3.0)
    none = common.Measure("n", "time")
    try:
        rate.add(300, 500)
        rate.add(200, 500)
        time.add(900, 400)
        time.add(1500, 400)
        none.add(10, 5)
        assert rate.ratios() == [0.6, 0.4] and [rate.met(r) for r in rate.ratios()] == [True, False]
        assert time.ratios() == [2.25, 3.75] and [time.met(r) for r in time.ratios()] == [True, False]
        assert none.met(2.0) is None
        table = common.summary([rate, time, none])
        assert "0.40-0.60" in table and ">= 0.5" in table and "1/2" in table
        assert "2.25-3.75" in table and "<= 3x" in table
    finally:
        for m in (rate, time, none):
            common.RESULTS.remove(m)


def test_a_limit_judges_the_service_s_own_figure_and_the_ratio_is_still_printed() -> None:
    p99 = common.Measure("p99", "time", limit=1000.0)
    try:
        p99.add(400, 100)  # four times the reference, but under the limit
        p99.add(1200, 600)
        assert [p99.judged(s, r) for s, r in p99.pairs] == [True, False]
        table = common.summary([p99])
        assert "< 1000 ms" in table and "1/2" in table and "2.00-4.00" in table
    finally:
        common.RESULTS.remove(p99)
