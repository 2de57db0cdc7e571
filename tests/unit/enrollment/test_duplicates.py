"""One person, one record, without a database: duplicates found on registration and import, merges, and the
re-admission and overlap rules counting every record of the merged person."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from services.enrollment.adapters.orm import Applicant, Campus
from services.enrollment.schemas import ApplicantIn, ApplicationIn, MergeIn, MergeOut
from services.enrollment.service_layer import applicants, applications, duplicates, imports
from shared.auth import Principal
from shared.problems import Problem, RuleViolation
from tests.unit.enrollment.test_use_cases import POLICY, STAFF, TODAY, World, rules, selected_world

BORN = date(1994, 5, 17)
BOTH = Principal(sub="both", roles=frozenset({"admissions"}), campuses=frozenset({"jungbu", "seobu"}))


def two_campuses() -> World:
    w = World()
    w.repo.add(Campus(code="seobu", name="Seobu"))
    return w


def register(w: World, name: str, principal: Principal = STAFF, **extra: Any) -> applicants.ApplicantCreated:
    body = ApplicantIn(
        campus=extra.pop("campus", "jungbu"),
        name=name,
        birth_date=extra.pop("birth_date", BORN),
        residency_status="city_resident",
        **extra,
    )
    return applicants.create_applicant(w.uow, principal=principal, clock=w.clock, body=body)


def merge(w: World, survivor: uuid.UUID, duplicate: uuid.UUID, principal: Principal = STAFF) -> MergeOut:
    out = duplicates.merge(
        w.uow, principal=principal, survivor_id=survivor, body=MergeIn(duplicate_id=duplicate, reason="same phone")
    )
    out.model_dump(mode="json")  # the answer serialises (a field it did not have once made every merge a 500)
    return out


def test_registering_the_same_person_again_shows_the_first_record_and_why_without_refusing() -> None:
    w = World()
    first = register(w, "김민지", phone="010-1234-5678", name_romanised="Kim Minji")
    assert first.possible_duplicates == []
    again = register(w, "김 민지", phone="+82 10 1234 5678", email="minji@example.org")
    [candidate] = again.possible_duplicates
    assert (candidate.applicant_id, candidate.name, candidate.reasons, candidate.score) == (
        first.id,
        "김민지",
        ["birth_date+name", "phone"],
        1.0,
    )
    assert again.id in w.repo.applicants_ and w.uow.committed == 2
    romanised = register(w, "MINJI KIM", birth_date=BORN)  # only the romanised name, matched with the first's
    assert [c.applicant_id for c in romanised.possible_duplicates] == [first.id]
    assert register(w, "이소라", birth_date=date(1990, 1, 1)).possible_duplicates == []


def test_candidates_come_only_from_the_campuses_the_staff_member_sees() -> None:
    w = two_campuses()
    elsewhere = register(w, "김민지", principal=BOTH, campus="seobu", phone="010-1234-5678")
    mine = register(w, "김민지", phone="010-1234-5678")
    assert mine.possible_duplicates == []
    seen_from_both = register(w, "김민지", principal=BOTH).possible_duplicates
    assert {c.applicant_id for c in seen_from_both} == {elsewhere.id, mine.id}


def test_the_duplicates_of_a_record_are_listed_and_a_merge_keeps_both_records_with_its_history() -> None:
    w = World()
    first = register(w, "김민지", phone="010-1234-5678")
    second = register(w, "Kim Minji", email="kim@example.org", phone="01012345678")
    assert [d.applicant_id for d in duplicates.list_duplicates(w.uow, principal=STAFF, applicant_id=first.id)] == [
        second.id
    ]
    out = merge(w, first.id, second.id)
    assert (out.survivor_id, out.duplicate_id, out.merged_by, out.reason) == (
        first.id,
        second.id,
        "staff",
        "same phone",
    )
    assert out.person == [first.id, second.id]
    [record] = w.repo.merges_.values()
    assert (record.survivor_id, record.duplicate_id, record.merged_by) == (first.id, second.id, "staff")
    assert second.id in w.repo.applicants_, "the duplicate's row is kept"
    read = applicants.get_applicant(w.uow, principal=STAFF, applicant_id=second.id)
    assert read.merged_into == first.id
    assert duplicates.list_duplicates(w.uow, principal=STAFF, applicant_id=first.id) == []
    # the survivor took the duplicate's keys: the person registering a third time by e-mail finds the survivor
    third = register(w, "Minji K.", birth_date=date(1994, 6, 1), email="KIM@example.org")
    assert [(c.applicant_id, c.reasons) for c in third.possible_duplicates] == [(first.id, ["email"])]


def test_a_merge_is_refused_with_the_rule_named() -> None:
    w = World()
    a, b, c = (register(w, name, phone="010-1234-5678").id for name in ("김민지", "김민지", "Kim Minji"))
    with pytest.raises(RuleViolation) as itself:
        merge(w, a, a)
    assert rules(itself) == ["merge.same-record"] and itself.value.status == 422
    merge(w, a, b)
    with pytest.raises(RuleViolation) as again:
        merge(w, c, b)
    assert rules(again) == ["merge.already-merged"] and again.value.status == 409
    with pytest.raises(RuleViolation) as into_merged:
        merge(w, b, c)
    assert rules(into_merged) == ["merge.survivor-merged"] and str(a) in into_merged.value.errors[0].message
    assert len(w.repo.merges_) == 1


def test_records_of_other_campuses_are_not_found_or_not_merged_from_here() -> None:
    w = two_campuses()
    mine = register(w, "김민지").id
    theirs = register(w, "김민지", principal=BOTH, campus="seobu").id
    with pytest.raises(Problem) as hidden:
        merge(w, mine, theirs)
    assert (hidden.value.status, hidden.value.code) == (404, "not-found")
    # an applicant of another campus who applied to one of our cohorts is visible, but merged by its own campus
    w.apply(w.repo.applicants_[theirs])
    with pytest.raises(RuleViolation) as other:
        merge(w, mine, theirs)
    assert rules(other) == ["merge.other-campus"]
    assert w.repo.applicants_[theirs].merged_into is None


def past_courses(w: World, person: Applicant, *starts: date) -> None:
    for start in starts:
        w.past_participation(person, start)


def test_after_a_merge_the_readmission_limit_counts_the_courses_of_both_records() -> None:
    w = World()
    survivor, duplicate = (w.repo.applicants_[register(w, "김민지").id] for _ in range(2))
    past_courses(w, survivor, date(2023, 6, 1), date(2024, 6, 1))
    past_courses(w, duplicate, date(2025, 6, 1))
    second_cohort = w.new_cohort(3, start=date(2026, 4, 2))
    assert w.apply(survivor).status == "submitted"  # two courses on this record: a third re-admission is allowed
    merge(w, survivor.id, duplicate.id)
    refused = w.apply(survivor, cohort=second_cohort)
    assert refused.status == "ineligible" and [r.rule for r in refused.reasons] == ["readmission.limit"]


def test_after_a_merge_an_enrollment_of_either_record_overlaps_and_the_accept_is_refused() -> None:
    w, (first, _second) = selected_world()
    survivor = w.repo.applicants_[first.applicant_id]
    other = w.repo.applicants_[register(w, "Kim").id]
    running = w.past_participation(other, w.cohort.start_date - timedelta(5), status="enrolled")
    w.repo.cohorts_[running.cohort_id].end_date = w.cohort.start_date + timedelta(20)
    merge(w, survivor.id, other.id)
    with pytest.raises(RuleViolation) as refused:
        w.accept(first)
    assert rules(refused) == ["enrollment.overlap"]
    assert w.app(first).status == "selected" and w.repo.enrollment_id_of(first.id) is None


def test_a_merged_record_no_longer_applies_and_names_its_survivor_along_a_chain() -> None:
    w = World()
    a, b, c = (register(w, "김민지").id for _ in range(3))
    merge(w, b, c)
    merge(w, a, b)
    assert w.repo.person(c) == [a, b, c]
    with pytest.raises(RuleViolation) as refused:
        w.apply(w.repo.applicants_[c])
    assert rules(refused) == ["applicant.merged"] and refused.value.extra["survivor_id"] == str(a)
    assert w.repo.applications_ == {}


def test_the_person_applies_once_to_a_cohort_whichever_record_applied() -> None:
    w = World()
    a, b = (register(w, "김민지").id for _ in range(2))
    w.apply(w.repo.applicants_[b])
    merge(w, a, b)
    with pytest.raises(Problem) as twice:
        w.apply(w.repo.applicants_[a])
    assert (twice.value.status, twice.value.code) == (409, "application-exists")


def test_an_import_reports_the_lookalikes_of_each_new_applicant_earlier_rows_included() -> None:
    w = World()
    known = register(w, "김민지", phone="010-1234-5678")
    rows = [
        "name,birth_date,residency_status,phone,name_romanised,score",
        "김 민 지,1994-05-17,city_resident,,,70",
        "Lee Sora,1990-01-02,city_resident,010-9876-5432,,60",
        "이소라,1990-01-02,city_resident,+82 10 9876 5432,Sora Lee,50",
    ]
    report = imports.import_applications(
        w.uow,
        principal=STAFF,
        policy=POLICY,
        clock=w.clock,
        cohort_id=w.cohort.id,
        content="\n".join(rows).encode(),
        filename="a.csv",
    )
    found = [[(d.applicant_id, d.reasons) for d in r.possible_duplicates] for r in report.report]
    assert found[0] == [(known.id, ["birth_date+name"])]
    assert found[1] == []
    assert found[2] == [(report.report[1].applicant_id, ["birth_date+name", "phone"])]
    assert [r.status for r in report.report] == ["imported"] * 3


def test_applying_with_a_known_applicant_is_unchanged_for_one_who_was_never_merged() -> None:
    w = World()
    out = register(w, "김민지")
    body = ApplicationIn(applicant_id=out.id, cohort_id=w.cohort.id, score=3)
    app = applications.submit_application(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, body=body)
    assert (app.status, app.applicant_id, TODAY) == ("submitted", out.id, w.clock.today())


def test_two_records_of_one_person_that_both_applied_to_a_cohort_take_one_seat_after_a_merge() -> None:
    w = World(capacity=3)
    a, b = (w.repo.applicants_[register(w, "김민지", phone="010-1234-5678").id] for _ in range(2))
    app_a, app_b = w.apply(a), w.apply(b)  # both records applied before anyone saw they are one person
    merge(w, a.id, b.id)
    w.select()
    assert w.accept(app_a).status == "accepted"
    with pytest.raises(RuleViolation) as refused:
        w.accept(app_b)
    assert rules(refused) == ["enrollment.already-seated"]
    assert len(w.repo.enrollments_) == 1
