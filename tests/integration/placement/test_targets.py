"""A programme's employment-rate target (the dashboard's target line) on PostgreSQL: set, changed, read, refused."""

from __future__ import annotations

import pytest

from tests.support import running_service, token

API = "/placement/v1"
OFFICER = token(["placement"], ["jungbu"], sub="officer-1")


@pytest.fixture(scope="module")
def svc(kafka, databases):
    with running_service("placement", database_url=databases.new("plc_targets"), kafka_bootstrap_servers=kafka) as c:
        yield c


def test_a_programme_target_is_set_changed_and_read(svc):
    assert svc.get(f"{API}/targets/WELD-101", headers=OFFICER).status_code == 404
    first = svc.put(f"{API}/targets/WELD-101", headers=OFFICER, json={"employment_rate": 0.75})
    assert first.status_code == 200, first.text
    assert (first.json()["employment_rate"], first.json()["set_by"]) == (0.75, "officer-1")
    changed = svc.put(
        f"{API}/targets/WELD-101",
        headers=token(["placement"], ["namgu"], sub="officer-2"),
        json={"employment_rate": 0.7},
    )
    assert (changed.json()["employment_rate"], changed.json()["set_by"]) == (0.7, "officer-2")
    svc.put(f"{API}/targets/CNC-201", headers=OFFICER, json={"employment_rate": 0.8})
    listed = svc.get(f"{API}/targets", headers=token(["auditor"], ["*"])).json()
    assert [(t["programme_code"], t["employment_rate"]) for t in listed] == [("CNC-201", 0.8), ("WELD-101", 0.7)]
    assert svc.get(f"{API}/targets/WELD-101", headers=OFFICER).json()["employment_rate"] == 0.7


@pytest.mark.parametrize("body", [{"employment_rate": 0}, {"employment_rate": 1.5}, {"employment_rate": "lots"}, {}])
def test_a_target_outside_0_to_1_is_refused_by_name(svc, body):
    r = svc.put(f"{API}/targets/WELD-101", headers=OFFICER, json=body)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert any("employment_rate" in (e.get("field") or "") for e in r.json()["errors"])


def test_only_placement_staff_set_targets(svc):
    assert (
        svc.put(f"{API}/targets/WELD-101", headers=token(["auditor"], ["*"]), json={"employment_rate": 0.5}).status_code
        == 403
    )
    assert svc.put(f"{API}/targets/bad%20code", headers=OFFICER, json={"employment_rate": 0.5}).status_code == 422
    assert svc.get(f"{API}/targets", headers=token(["trainee"], [], sub="x")).status_code == 403
