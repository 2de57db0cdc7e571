"""One person registered twice, on PostgreSQL: found on registration and import through the key index, merged,
and from then on counted as one person by the re-admission limit and the overlap rule."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, pool, text

from shared.db import normalise_url
from shared.migrations import upgrade
from tests.integration.enrollment.helpers import E, apply, new_applicant, new_campus, new_cohort, new_programme
from tests.support import running_service, token

PERSON = {"birth_date": "1994-05-17", "residency_status": "city_resident"}


@pytest.fixture(scope="module")
def client(kafka, databases):
    with running_service("enrollment", database_url=databases.new("enrdup"), kafka_bootstrap_servers=kafka) as c:
        yield c


def register(client, staff, campus: str, **person) -> dict:
    r = client.post(f"{E}/applicants", json={"campus": campus, **PERSON, **person}, headers=staff)
    assert r.status_code == 201, r.text
    return r.json()


def enrol(client, staff, campus: str, person: str, start_in_days: int, hours: int = 300, weeks: int = 1) -> str:
    cohort = new_cohort(
        client,
        staff,
        new_programme(client, staff, campus, hours=hours),
        capacity=1,
        start_in_days=start_in_days,
        weeks=weeks,
    )
    app = apply(client, staff, person, cohort)
    assert client.post(f"{E}/cohorts/{cohort}/selection", headers=staff).status_code == 200
    r = client.post(f"{E}/applications/{app['id']}/accept", headers=staff)
    assert r.status_code == 200, r.text
    return cohort


def test_the_same_person_written_differently_is_found_and_nothing_is_refused(client):
    staff = token(["admissions"], ["*"])
    campus = new_campus(client, staff)
    first = register(client, staff, campus, name="김민지", phone="010-2468-1357", name_romanised="Kim Minji")
    assert first["possible_duplicates"] == []
    again = register(client, staff, campus, name="김 민 지", phone="+82 10 2468 1357", email="minji@example.org")
    assert [(d["applicant_id"], d["name"], d["reasons"], d["score"]) for d in again["possible_duplicates"]] == [
        (first["id"], "김민지", ["birth_date+name", "phone"], 1.0)
    ]
    romanised = register(client, staff, campus, name="MINJI KIM")
    assert [d["applicant_id"] for d in romanised["possible_duplicates"]] == [first["id"]]
    listed = client.get(f"{E}/applicants/{first['id']}/duplicates", headers=staff)
    assert listed.status_code == 200, listed.text
    assert {d["applicant_id"] for d in listed.json()} == {again["id"], romanised["id"]}
    # another campus's staff see none of them
    other = token(["admissions"], [new_campus(client, staff)])
    assert client.get(f"{E}/applicants/{first['id']}/duplicates", headers=other).status_code == 404

    rows = "name,birth_date,residency_status,phone\nKim Min-ji,1994-05-17,city_resident,01024681357\n"
    cohort = new_cohort(client, staff, new_programme(client, staff, campus))
    r = client.post(
        f"{E}/applications/import",
        data={"cohort_id": cohort},
        files={"file": ("rows.csv", rows.encode(), "text/csv")},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    [row] = r.json()["report"]
    found = {d["applicant_id"]: d["reasons"] for d in row["possible_duplicates"]}
    assert found[first["id"]] == ["birth_date+name", "phone"] and found[romanised["id"]] == ["birth_date+name"]


def test_after_a_merge_both_records_courses_count_and_an_overlap_across_them_is_refused(client):
    staff = token(["admissions"], ["*"], sub="officer-7")
    campus = new_campus(client, staff)
    survivor = register(client, staff, campus, name="박서준", phone="010-1357-2468")["id"]
    duplicate = register(client, staff, campus, name="Park Seojun", phone="01013572468")["id"]
    enrol(client, staff, campus, survivor, start_in_days=10)
    enrol(client, staff, campus, survivor, start_in_days=20)
    running = enrol(client, staff, campus, duplicate, start_in_days=30)  # short, runs days 30 to 34

    third = new_cohort(client, staff, new_programme(client, staff, campus, hours=300), start_in_days=60)
    assert apply(client, staff, survivor, third)["status"] == "submitted", "two courses on this record alone"

    r = client.post(f"{E}/applicants/{survivor}/merge", json={"duplicate_id": duplicate, "reason": ""}, headers=staff)
    assert r.status_code == 422  # a reason is required
    r = client.post(
        f"{E}/applicants/{survivor}/merge",
        json={"duplicate_id": duplicate, "reason": "same phone, confirmed by call"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert (merged["survivor_id"], merged["duplicate_id"], merged["merged_by"]) == (survivor, duplicate, "officer-7")
    assert merged["person"] == [survivor, duplicate]
    read = client.get(f"{E}/applicants/{duplicate}", headers=staff).json()
    assert read["merged_into"] == survivor

    fourth = new_cohort(client, staff, new_programme(client, staff, campus, hours=300), start_in_days=61)
    refused = apply(client, staff, survivor, fourth)
    assert [x["rule"] for x in refused["reasons"]] == ["readmission.limit"]
    overlapping = new_cohort(
        client, staff, new_programme(client, staff, campus, hours=960), start_in_days=32, opens_days_ago=1
    )
    refused = apply(client, staff, survivor, overlapping)
    assert [x["rule"] for x in refused["reasons"]] == ["enrollment.overlap"]
    assert running != overlapping

    r = client.post(f"{E}/applications", json={"applicant_id": duplicate, "cohort_id": fourth}, headers=staff)
    assert r.status_code == 422, r.text
    assert [e["rule"] for e in r.json()["errors"]] == ["applicant.merged"] and r.json()["survivor_id"] == survivor

    again = client.post(
        f"{E}/applicants/{survivor}/merge", json={"duplicate_id": duplicate, "reason": "x"}, headers=staff
    )
    assert (again.status_code, [e["rule"] for e in again.json()["errors"]]) == (409, ["merge.already-merged"])
    itself = client.post(
        f"{E}/applicants/{survivor}/merge", json={"duplicate_id": survivor, "reason": "x"}, headers=staff
    )
    assert (itself.status_code, [e["rule"] for e in itself.json()["errors"]]) == (422, ["merge.same-record"])
    elsewhere = new_applicant(client, staff, new_campus(client, staff))
    mine_only = token(["admissions"], [campus])
    hidden = client.post(
        f"{E}/applicants/{survivor}/merge", json={"duplicate_id": elsewhere, "reason": "x"}, headers=mine_only
    )
    assert hidden.status_code == 404
    auditor = client.post(
        f"{E}/applicants/{survivor}/merge", json={"duplicate_id": elsewhere, "reason": "x"}, headers=token(["auditor"])
    )
    assert auditor.status_code == 403


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_upgrade_gives_the_applicants_already_there_their_keys(dialect, databases, tmp_path):
    url = databases.new("enrdupmig") if dialect == "postgresql" else f"sqlite:///{tmp_path / 'enr.db'}"
    upgrade("enrollment", url, "0002")
    engine = create_engine(normalise_url(url), poolclass=pool.NullPool)
    known = uuid.uuid4()
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO applicant (id, campus, name, birth_date, residency_status, career_break, "
                    "priority_categories, leaving_care, phone, created_at) VALUES (:id, 'jungbu', '김 민지', "
                    "'1994-05-17', 'city_resident', false, '[]', false, '+82 10 2468 1357', '2026-01-01 00:00:00')"
                ),
                {"id": known.hex if dialect == "sqlite" else str(known)},
            )
        upgrade("enrollment", url)
        with engine.connect() as conn:
            keys = set(conn.execute(text("SELECT key FROM applicantkey")).scalars())
    finally:
        engine.dispose()
    assert keys == {"birth_date+name:1994-05-17:김민지", "phone:01024681357"}
