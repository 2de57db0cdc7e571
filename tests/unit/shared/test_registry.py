"""The registry of services is the one list: it names exactly the services there are, each on a port of its own."""

from __future__ import annotations

from pathlib import Path

from shared import events, registry

ROOT = Path(__file__).resolve().parents[3]


def test_the_registry_names_every_service_and_only_those() -> None:
    found = {p.name for p in (ROOT / "services").iterdir() if (p / "main.py").exists()}
    assert set(registry.NAMES) == found
    assert events.SERVICES == registry.NAMES


def test_each_service_has_a_port_and_prefixes_of_its_own() -> None:
    ports = [s.port for s in registry.SERVICES]
    assert len(set(ports)) == len(ports)
    assert registry.BY_NAME["enrollment"].api == "/enrollment/v1"
    assert registry.BY_NAME["placement"].local_url() == "http://127.0.0.1:8004"
