"""`trainingops demo` against the four services running as separate processes (real broker and PostgreSQL)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from shared.registry import NAMES
from tests.e2e.processes import platform
from trainingops import demo
from trainingops.cli import app


def test_demo_drives_a_whole_journey_for_three_campuses_and_can_run_again(kafka, databases, tmp_path):
    with platform(kafka, databases, tmp_path, "demo") as p, p.diagnose():
        env = {f"{s.upper()}_URL": url for s, url in p.urls().items()}
        env["COLUMNS"] = "300"  # one line per step, however long
        runner = CliRunner()
        result = runner.invoke(app, ["demo", "--run", "t1", "--timeout", "90"], env=env)
        print(result.output)
        out = " ".join(result.output.split())  # a narrow console wraps lines: compare the words
        assert result.exit_code == 0, (result.exception, out)
        today = demo.centre_today().isoformat()
        for campus in ("jungbu", "dongbu", "bukbu"):
            assert f"campus {campus}: " in out and "(created)" in out
        # enrollment: the quota, the waitlist and the ineligible, named
        assert "Kang Doyun: eligibility.residency" in out
        assert "Nam Junho: eligibility.career-break-women" in out
        assert (
            "selection: 4 selected (1 under the priority quota of 2: Choi Yuna score 55); "
            "waitlist 1. Jung Hyunwoo score 78" in out
        )
        assert (
            "selection: 3 selected (1 under the priority quota of 1: Lim Eunji score 61); "
            "waitlist 1. Oh Taeyang score 80" in out
        )
        assert "selection: 3 selected (1 under the priority quota of 1: Bae Sumin score 58); waitlist empty" in out
        assert out.count("seats accepted; trainee.enrolled sent for each") == 3
        # attendance: rosters from Kafka, at risk, the close
        assert out.count("roster of 4 built") == 1 and out.count("roster of 3 built") == 2
        assert "at risk before the close: Park Jiho" in out and "at risk before the close: Bae Sumin" in out
        assert f"cohort closed on {today}: 3 completed, 1 not completed (Park Jiho" in out
        assert re.search(rf"cohort closed on {today}: 3 completed, 0 not completed(?! \()", out)
        assert f"cohort closed on {today}: 2 completed, 1 not completed (Bae Sumin" in out
        assert out.count("enrollments updated from attendance's events") == 3
        # certification: claimed, approved, paid once
        paid = re.search(
            r"claimed the WELD-CRAFTSMAN written-exam fee \(20,000 KRW paid, 14,500 reimbursable\); "
            r"approved; paid once as (PO-\S+) \(same-key retry: 200, another key: 409\)",
            out,
        )
        assert paid, out
        assert "obtained WELD-CRAFTSMAN on" in out
        # placement: follow-ups due, outcomes, the rates
        assert "3 graduates followed; on" in out and "3 follow-up(s) due" in out
        assert re.search(r"employment rate on \S+: 3 / 3 = 100%; certificates 1 / 3", out)
        assert re.search(r"employment rate on \S+: 1 / 2 = 50%; certificates 0 / 3", out)
        assert re.search(r"employment rate on \S+: 2 / 2 = 100%; certificates 0 / 2", out)
        assert "demo complete" in out and "JB-WELD-t1" in out and "DB-AI-t1" in out and "BB-WU-t1" in out

        # what it printed is what the services hold
        clients = demo.Clients.open(p.urls())
        try:
            claims = demo.ok(
                clients.certification.get(
                    f"{demo.C}/claims", headers=demo.auth(["finance"], ["jungbu"]), params={"status": "paid"}
                )
            )
            assert [c["payout_reference"] for c in claims["items"]] == [paid.group(1)]
            cohorts = demo.ok(clients.enrollment.get(f"{demo.E}/cohorts", headers=demo.auth(["admissions"], ["*"])))
            assert sorted(c["programme_code"] for c in cohorts["items"]) == ["BB-WU-t1", "DB-AI-t1", "JB-WELD-t1"]
        finally:
            clients.close()

        # a second run against the same platform: campuses are there, new programmes, the same journey
        again = runner.invoke(app, ["demo", "--run", "t2", "--timeout", "90"], env=env)
        assert again.exit_code == 0, (again.exception, again.output)
        words = " ".join(again.output.split())
        assert words.count("(already there)") == 3 and "demo complete" in words


def test_demo_says_what_is_down_when_the_platform_is_not_running():
    from trainingops.broker import free_port

    port = free_port()  # nothing listens there
    env = {f"{s.upper()}_URL": f"http://127.0.0.1:{port}" for s in NAMES}
    result = CliRunner().invoke(app, ["demo"], env={**env, "COLUMNS": "300"})
    assert result.exit_code == 1
    words = " ".join(result.output.split())
    assert "not reachable: enrollment at" in words and "make run" in words
