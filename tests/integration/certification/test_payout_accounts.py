"""Payout accounts on PostgreSQL through the real app: stored encrypted (the raw column is read), answered
masked, imported with a per-row report, carried in full by the bank file (CSV and XLSX, cell by cell), readable
under an older key while a new one is added, and re-encrypted by ``trainingops accounts rotate``."""

from __future__ import annotations

import csv
import io
import uuid

import httpx
import pytest
from cryptography.fernet import Fernet
from openpyxl import load_workbook
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from services.certification.adapters.vault import key_id
from tests.integration.certification.helpers import C, approved_claim, eligible_trainee
from tests.support import running_service, serving, token
from trainingops.cli import app as cli

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
HEADERS_TAIL = ["account_holder", "bank_code", "bank_name", "account_number"]


def raw_accounts(url: str) -> dict[str, tuple[str, str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT trainee_id, number_encrypted, number_last4, key_id FROM payout_account"))
            return {str(r[0]): (r[1], r[2], r[3]) for r in rows}
    finally:
        engine.dispose()


def csv_rows(content: bytes) -> list[dict[str, str]]:
    header, *rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    assert header[-4:] == HEADERS_TAIL
    return [dict(zip(header, r)) for r in rows]


def xlsx_rows(content: bytes) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True)["payouts"]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, r)) for r in rows]


@pytest.fixture(scope="module")
def db(databases) -> str:
    return databases.new("cert_accounts")


def test_accounts_encrypted_masked_exported_and_rotated(kafka, db, tmp_path, monkeypatch):
    finance = token(["finance"], ["*"])
    with running_service("certification", database_url=db, kafka_bootstrap_servers=kafka, account_keys=[OLD]) as c:
        paid = eligible_trainee(c, kafka, finance)
        campus = paid["campus"]
        unpaid = eligible_trainee(c, kafka, finance, campus=campus, code=paid["code"])
        lacking = eligible_trainee(c, kafka, finance, campus=campus, code=paid["code"])

        r = c.put(
            f"{C}/trainees/{paid['trainee']}/account",
            json={"holder": "김지우", "bank": "국민", "account_number": "123456-01-234567"},
            headers=finance,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["account_number"], r.json()["bank_code"], r.json()["bank_name"]) == (
            "****4567",
            "004",
            "KB국민은행",
        )
        assert "12345601234567" not in r.text and "234567" not in r.text

        # the per-row import: one good row, one refused by a rule, one of an unknown trainee
        content = (
            "trainee_id,holder,bank,account_number\n"
            f"{unpaid['trainee']},이서연,088,110-123-456789\n"
            f"{lacking['trainee']},박민준,999,110123456780\n"
            f"{uuid.uuid4()},최유나,088,110123456781\n"
        ).encode()
        r = c.post(f"{C}/accounts/import", files={"file": ("accounts.csv", content, "text/csv")}, headers=finance)
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["imported"], report["refused"]) == (1, 2)
        assert [(row["status"], [e["rule"] for e in row["errors"]]) for row in report["report"]] == [
            ("imported", []),
            ("refused", ["account.bank-unknown"]),
            ("refused", ["reference.trainee"]),
        ]

        # at rest: a Fernet token under the old key, never the number
        stored = raw_accounts(db)
        assert set(stored) == {paid["trainee"], unpaid["trainee"]}
        token_paid, last4, kid = stored[paid["trainee"]]
        assert "12345601234567" not in token_paid and last4 == "4567" and kid == key_id(OLD)
        assert Fernet(OLD.encode()).decrypt(token_paid.encode()).decode() == "12345601234567"

        listed = c.get(f"{C}/accounts", params={"campus": campus}, headers=finance)
        assert listed.status_code == 200
        assert sorted(a["account_number"] for a in listed.json()["items"]) == ["****4567", "****6789"]
        assert "12345601234567" not in listed.text and "110123456789" not in listed.text
        other = token(["finance"], ["elsewhere"])
        assert c.get(f"{C}/trainees/{paid['trainee']}/account", headers=other).status_code == 404

        # a batch with a payee lacking an account is paid, with a warning naming them
        for t in (paid, unpaid, lacking):
            approved_claim(c, finance, t["trainee"], t["code"])
        r = c.post(f"{C}/payouts", json={"campus": campus}, headers={**finance, "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 201, r.text
        batch = r.json()
        assert [(w["rule"], w["trainee_ids"]) for w in batch["warnings"]] == [
            ("payout.account-missing", [lacking["trainee"]])
        ]
        exported = c.get(f"{C}/payouts/{batch['id']}/export", params={"format": "csv"}, headers=finance)
        assert exported.status_code == 200
        by_trainee = {row["trainee_id"]: row for row in csv_rows(exported.content)}
        expected = {
            paid["trainee"]: ["김지우", "004", "KB국민은행", "12345601234567"],
            unpaid["trainee"]: ["이서연", "088", "신한은행", "110123456789"],
            lacking["trainee"]: ["", "", "", ""],
        }
        assert {t: [row[h] for h in HEADERS_TAIL] for t, row in by_trainee.items()} == expected
        workbook = c.get(f"{C}/payouts/{batch['id']}/export", params={"format": "xlsx"}, headers=finance)
        assert workbook.status_code == 200
        cells = {row["trainee_id"]: [row[h] for h in HEADERS_TAIL] for row in xlsx_rows(workbook.content)}
        assert cells == {t: [v or None for v in values] for t, values in expected.items()}
        assert all(isinstance(v, str) for v in cells[paid["trainee"]])  # the number stays text: leading zeros kept

    # a new key in front: old rows still read; the rotation command moves them all under the new key
    with serving("certification", database_url=db, consumer_enabled=False, account_keys=[NEW, OLD]) as base:
        with httpx.Client(base_url=base) as h:
            again = h.get(f"{C}/payouts/{batch['id']}/export", headers=finance)
            assert {r["trainee_id"]: r["account_number"] for r in csv_rows(again.content)}[paid["trainee"]] == (
                "12345601234567"
            )
            assert h.post(f"{C}/accounts/rotate", headers=finance).status_code == 403  # operators only
        monkeypatch.setenv("CERTIFICATION_URL", base)
        result = CliRunner().invoke(cli, ["accounts", "rotate", "--chunk", "1"])
        assert result.exit_code == 0, result.output
        assert "re-encrypted 2 account number(s)" in result.output
    rotated = raw_accounts(db)
    assert {kid for _, _, kid in rotated.values()} == {key_id(NEW)}
    assert rotated[paid["trainee"]][0] != token_paid

    # the old key dropped: everything still reads
    with running_service("certification", database_url=db, consumer_enabled=False, account_keys=[NEW]) as c:
        final = c.get(f"{C}/payouts/{batch['id']}/export", headers=finance)
        assert final.status_code == 200
        assert {r["trainee_id"]: [r[h] for h in HEADERS_TAIL] for r in csv_rows(final.content)} == expected
        lacking_now = c.put(
            f"{C}/trainees/{lacking['trainee']}/account",
            json={"holder": "박민준", "bank": "토스뱅크", "account_number": "1000-1234-5678"},
            headers=finance,
        )
        assert lacking_now.status_code == 200 and lacking_now.json()["account_number"] == "****5678"
        assert c.get(f"{C}/payouts/{batch['id']}", headers=finance).json()["warnings"] == []


def test_the_local_account_key_is_refused_outside_local_runs():
    from services.certification.settings import LOCAL_ACCOUNT_KEY, Settings

    with pytest.raises(ValueError, match="local account key"):
        Settings(environment="production", jwt_secret="s" * 40, account_keys=[NEW, LOCAL_ACCOUNT_KEY])
    with pytest.raises(ValueError, match="Fernet key"):
        Settings(account_keys=["not-a-key"])
    assert Settings(environment="production", jwt_secret="s" * 40, account_keys=[NEW]).account_key_values() == [NEW]
