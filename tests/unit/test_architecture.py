"""The shape of the code, held by a test (what import-linter would check, with the standard library only).

- a service's ``domain/`` imports the standard library, its own domain and ``shared.rules`` only;
- no service imports another service;
- ``shared/`` (the kernel) imports no service, nor the console or the tests;
- the operator tools (``trainingops/``) are imported by neither the kernel nor any service.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "main.py").exists())
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def py_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_imports_only_the_standard_library_and_the_rules_module(service: str) -> None:
    own = f"services.{service}.domain"
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in py_files(ROOT / "services" / service / "domain")
        for line, name in imports_of(path)
        if name.split(".")[0] not in STDLIB and name != "shared.rules" and not name.startswith(own)
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = [f"services.{s}" for s in SERVICES if s != service]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in py_files(ROOT / "services" / service)
        for line, name in imports_of(path)
        if any(name == o or name.startswith(o + ".") for o in others)
    ]
    assert wrong == []


def test_the_kernel_imports_no_service() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in py_files(ROOT / "shared")
        for line, name in imports_of(path)
        if name.split(".")[0] in {"services", "web", "tests"}
    ]
    assert wrong == []


def test_the_kernel_imports_no_operator_tool() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in py_files(ROOT / "shared")
        for line, name in imports_of(path)
        if name.split(".")[0] == "trainingops"
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_an_operator_tool(service: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "services" / service).rglob("*.py"))  # migrations included
        for line, name in imports_of(path)
        if name.split(".")[0] == "trainingops"
    ]
    assert wrong == []
