"""Coverage reports, as a specification: one small, hand-built data set, and every number the
reports give computed by hand below.

Today is Monday 16 June 2025; most reports are asked for as of D = Saturday 31 May 2025.

Two courses: V ("Våld", provider P1, never expires) and H ("Heder", provider P2, valid 24
months). Järfälla counts reports awaiting verification as covered; Sigtuna counts verified
completions only. Hired 2024-01-01 and assigned 2025-01-01 unless said otherwise.

Järfälla, unit IFO (socialtjänst)
  anna  V verified (done 02-10, verified 02-12); H verified (done 04-10, verified 04-12)
  bo    V reported 05-20, awaiting; H due 04-30, done 05-28 but reported only 06-03
  cia   V exempt since 02-01; H verified in 2023, expired 2025-05-01 (due 2024-03-01)
  dan   left 2025-05-15 (before D); V verified 01-12; assignment closed when he left
  eva   left 2025-05-31 (on D); V due 03-01, nothing done
  fia   hired on D; V assigned on D, due 08-29
Järfälla, unit Skolan (skola och förskola)
  gun   V reported 04-02, rejected 04-05, due 05-01; H assignment removed 05-10 (before D)
  hans  hired 2024-09-01; V due 2024-11-30, done 05-25, verified only on 06-02 (after D)
  ivy   hired 2025-03-01 and assigned then; V due 07-01, done 06-05 (after D), verified 06-06;
        H due 09-01, exempted 06-10 (after D)
Sigtuna, unit IFO (socialtjänst)
  jon   hired 2024-10-01; V due 04-15, done 05-01, reported 05-02, awaiting;
        H due 01-30, done 01-20, verified 01-25
  kim   V verified 2024-11-02; H due 06-30, reported 05-05, then withdrawn
  lea   deactivated without an end date; V due 03-31, nothing done
An admin (a system account, no municipality) has V assigned too: never counted.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import time_machine

from tests import factories
from tests.conftest import counting_statements
from training_tracker.extensions import db
from training_tracker.models import CompletionStatus, Employee, Role, Sector, Unit
from training_tracker.services.core.scope import ReportScope, report_scope
from training_tracker.services.reporting.coverage import (
    Cell,
    CoverageFilters,
    coverage_table,
    coverage_trend,
    new_hire_compliance,
    parse_filters,
    trend_days,
    unit_people,
)
from training_tracker.services.training.progress import CourseState

TODAY = date(2025, 6, 16)
D = date(2025, 5, 31)
JAN1 = date(2025, 1, 1)
HIRED = date(2024, 1, 1)
VERIFIED = CompletionStatus.VERIFIED
REPORTED = CompletionStatus.REPORTED
EVERYTHING = ReportScope(True, frozenset(), frozenset())


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2025, 6, 16, 10, tzinfo=UTC), tick=False):
        yield


def person(unit: Unit, first: str, last: str, *, hired: date = HIRED, **kwargs) -> Employee:
    return factories.employee(
        unit=unit, first_name=first, last_name=last, password=None, hire_date=hired, **kwargs
    )


@pytest.fixture()
def data() -> SimpleNamespace:
    sigtuna = factories.municipality("Sigtuna")
    sigtuna.count_reported_in_coverage = False
    db.session.commit()
    j_ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    j_school = factories.unit("Järfälla", Sector.SCHOOL, "Skolan")
    s_ifo = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO")
    v = factories.dated_course("v", title="Våld", provider_key="p1")
    h = factories.dated_course("h", title="Heder", provider_key="p2", validity_months=24)
    assign = factories.dated_assignment
    done = factories.dated_completion

    anna = person(j_ifo, "Anna", "Andersson")
    assign(anna, v, assigned_on=JAN1, due=date(2025, 3, 1))
    done(anna, v, completed_on=date(2025, 2, 10), reviewed_on=date(2025, 2, 12))
    assign(anna, h, assigned_on=JAN1, due=date(2025, 3, 1))
    done(
        anna,
        h,
        completed_on=date(2025, 4, 10),
        reviewed_on=date(2025, 4, 12),
        expires_on=date(2027, 4, 10),
    )

    bo = person(j_ifo, "Bo", "Berg")
    assign(bo, v, assigned_on=JAN1, due=date(2025, 6, 30))
    done(bo, v, completed_on=date(2025, 5, 20), status=REPORTED)
    assign(bo, h, assigned_on=JAN1, due=date(2025, 4, 30))
    done(
        bo,
        h,
        completed_on=date(2025, 5, 28),
        reported_on=date(2025, 6, 3),
        status=REPORTED,
        expires_on=date(2027, 5, 28),
    )

    cia = person(j_ifo, "Cia", "Carlsson")
    assign(cia, v, assigned_on=JAN1, due=date(2025, 3, 1), exempted_on=date(2025, 2, 1))
    assign(cia, h, assigned_on=JAN1, due=date(2024, 3, 1))
    done(
        cia,
        h,
        completed_on=date(2023, 5, 1),
        reviewed_on=date(2023, 5, 3),
        expires_on=date(2025, 5, 1),
    )

    dan = person(j_ifo, "Dan", "Dahl", active=False)
    dan.end_date = date(2025, 5, 15)
    assign(dan, v, assigned_on=JAN1, due=date(2025, 3, 1), removed_on=date(2025, 5, 15))
    done(dan, v, completed_on=date(2025, 1, 10), reviewed_on=date(2025, 1, 12))

    eva = person(j_ifo, "Eva", "Ek", active=False)
    eva.end_date = D
    assign(eva, v, assigned_on=JAN1, due=date(2025, 3, 1), removed_on=D)

    fia = person(j_ifo, "Fia", "Fors", hired=D)
    assign(fia, v, assigned_on=D, due=date(2025, 8, 29))

    gun = person(j_school, "Gun", "Grönlund")
    assign(gun, v, assigned_on=JAN1, due=date(2025, 5, 1))
    done(
        gun,
        v,
        completed_on=date(2025, 4, 1),
        reported_on=date(2025, 4, 2),
        reviewed_on=date(2025, 4, 5),
        status=CompletionStatus.REJECTED,
    )
    assign(gun, h, assigned_on=JAN1, due=date(2025, 6, 30), removed_on=date(2025, 5, 10))

    hans = person(j_school, "Hans", "Holm", hired=date(2024, 9, 1))
    assign(hans, v, assigned_on=JAN1, due=date(2024, 11, 30))
    done(hans, v, completed_on=date(2025, 5, 25), reviewed_on=date(2025, 6, 2))

    ivy = person(j_school, "Ivy", "Isaksson", hired=date(2025, 3, 1))
    assign(ivy, v, assigned_on=date(2025, 3, 1), due=date(2025, 7, 1))
    done(ivy, v, completed_on=date(2025, 6, 5), reviewed_on=date(2025, 6, 6))
    assign(
        ivy, h, assigned_on=date(2025, 3, 1), due=date(2025, 9, 1), exempted_on=date(2025, 6, 10)
    )

    jon = person(s_ifo, "Jon", "Jansson", hired=date(2024, 10, 1))
    assign(jon, v, assigned_on=JAN1, due=date(2025, 4, 15))
    done(jon, v, completed_on=date(2025, 5, 1), reported_on=date(2025, 5, 2), status=REPORTED)
    assign(jon, h, assigned_on=JAN1, due=date(2025, 1, 30))
    done(
        jon,
        h,
        completed_on=date(2025, 1, 20),
        reviewed_on=date(2025, 1, 25),
        expires_on=date(2027, 1, 20),
    )

    kim = person(s_ifo, "Kim", "Karlsson")
    assign(kim, v, assigned_on=JAN1, due=date(2025, 3, 1))
    done(kim, v, completed_on=date(2024, 11, 1), reviewed_on=date(2024, 11, 2))
    assign(kim, h, assigned_on=JAN1, due=date(2025, 6, 30))
    done(kim, h, completed_on=date(2025, 5, 5), status=CompletionStatus.WITHDRAWN)

    lea = person(s_ifo, "Lea", "Lund", active=False)
    assign(lea, v, assigned_on=JAN1, due=date(2025, 3, 31))

    admin = factories.admin()
    assign(admin, v, assigned_on=JAN1, due=date(2025, 3, 1))
    db.session.commit()
    return SimpleNamespace(
        jarfalla=factories.municipality("Järfälla"),
        sigtuna=sigtuna,
        j_ifo=j_ifo,
        j_school=j_school,
        s_ifo=s_ifo,
        v=v,
        h=h,
        admin=admin,
        **{p.first_name.lower(): p for p in (anna, bo, cia, dan, eva, fia, gun, hans, ivy)},
        **{p.first_name.lower(): p for p in (jon, kim, lea)},
    )


def as_of(day: date = D, **kwargs) -> CoverageFilters:
    return CoverageFilters(as_of=day, **kwargs)


# --- the regional view: municipality × course ---------------------------------------------


def test_the_six_municipalities_side_by_side_as_of_a_past_date(data):
    table = coverage_table(db.session, EVERYTHING, as_of())
    assert [course.title for course in table.courses] == ["Våld", "Heder"]  # by provider name
    assert [row.label for row in table.rows] == ["Järfälla", "Sigtuna"]  # only those with staff
    jarfalla, sigtuna = table.rows

    # Järfälla on D: anna, bo, cia, fia (hired on D), gun, hans, ivy. Not dan (left before
    # D), not eva (left on D), and never the admin.
    assert jarfalla.people == 7
    # V: required of anna, bo, fia, gun, hans, ivy (cia exempt). anna verified; bo awaiting;
    # hans awaiting on D (verified only after it); gun's report was rejected and she is past
    # due (overdue); fia's and ivy's due dates are ahead (ivy's completion is dated after D).
    # Järfälla counts awaiting reports: covered 1 + 2.
    assert jarfalla.cell(data.v.id) == Cell(6, 1, 2, 3, 1, exempt=1)
    assert jarfalla.cell(data.v.id).percent == 50.0
    # H: anna verified; bo's completion was reported after D: overdue since 04-30; cia's
    # expired on 05-01: overdue; ivy's exemption came after D: required, due ahead. gun's H
    # was removed before D.
    assert jarfalla.cell(data.h.id) == Cell(4, 1, 0, 1, 2)
    assert jarfalla.all_required == Cell(10, 2, 2, 4, 3, exempt=1)
    assert jarfalla.all_required.percent == 40.0
    # Fully trained: anna (both verified) and hans (V, awaiting, counts here). cia's only
    # required course is H, which expired.
    assert jarfalla.fully_trained == 2
    assert jarfalla.exempt_people == 1
    assert jarfalla.counts_reported is True

    # Sigtuna on D: jon, kim, and lea (deactivated, but with no end date she was employed on
    # a past date). Verified only: jon's awaiting V is not covered, nor is it overdue.
    assert sigtuna.people == 3
    assert sigtuna.cell(data.v.id) == Cell(3, 1, 1, 1, 1)  # lea overdue
    assert sigtuna.cell(data.h.id) == Cell(2, 1, 0, 1, 0)  # kim's was withdrawn
    assert sigtuna.all_required == Cell(5, 2, 1, 2, 1)
    assert sigtuna.fully_trained == 0
    assert sigtuna.counts_reported is False

    total = table.total
    assert total.all_required == Cell(15, 4, 3, 6, 4, exempt=1)
    assert total.all_required.percent == 40.0
    assert (total.people, total.fully_trained, total.exempt_people) == (10, 2, 1)
    assert total.cell(data.v.id) == Cell(9, 2, 3, 4, 2, exempt=1)
    assert total.counts_reported is None  # the two count differently


def test_a_mode_forced_for_everyone(data):
    reported = coverage_table(db.session, EVERYTHING, as_of(mode="reported"))
    jarfalla, sigtuna = reported.rows
    assert jarfalla.all_required == Cell(10, 2, 2, 4, 3, exempt=1)  # unchanged
    # jon's awaiting V counts now, and with his verified H he is fully trained.
    assert sigtuna.cell(data.v.id) == Cell(3, 1, 1, 2, 1)
    assert sigtuna.fully_trained == 1
    assert reported.total.all_required.covered == 7
    assert reported.total.fully_trained == 3
    assert {row.counts_reported for row in reported.rows} == {True}

    verified = coverage_table(db.session, EVERYTHING, as_of(mode="verified"))
    jarfalla, sigtuna = verified.rows
    # Only anna's V counts; bo's and hans's awaiting reports are still shown as reported.
    assert jarfalla.cell(data.v.id) == Cell(6, 1, 2, 1, 1, exempt=1)
    assert jarfalla.all_required.covered == 2
    assert jarfalla.fully_trained == 1  # anna
    assert sigtuna.all_required == Cell(5, 2, 1, 2, 1)
    assert verified.total.all_required.covered == 4
    assert verified.total.all_required.overdue == 4  # overdue does not depend on the mode


def test_as_of_today_counts_only_active_staff_and_the_latest_decisions(data):
    table = coverage_table(db.session, EVERYTHING, CoverageFilters())
    assert table.as_of == TODAY
    jarfalla, sigtuna = table.rows
    # hans and ivy are verified now; bo's H is reported now; ivy is exempt from H now.
    assert jarfalla.people == 7
    assert jarfalla.cell(data.v.id) == Cell(6, 3, 1, 4, 1, exempt=1)
    assert jarfalla.cell(data.h.id) == Cell(3, 1, 1, 2, 1, exempt=1)
    assert jarfalla.fully_trained == 4  # anna, bo, hans, ivy
    assert jarfalla.exempt_people == 2  # cia, ivy
    # lea is inactive: not counted today.
    assert sigtuna.people == 2
    assert sigtuna.cell(data.v.id) == Cell(2, 1, 1, 1, 0)
    assert sigtuna.cell(data.h.id) == Cell(2, 1, 0, 1, 0)
    assert table.total.all_required.percent == pytest.approx(100 * 8 / 13)


def test_nothing_required_gives_no_percentage_rather_than_zero(data):
    table = coverage_table(db.session, EVERYTHING, as_of(date(2024, 12, 31)))
    # Everyone hired by then is there, but nothing had been assigned yet.
    assert [row.people for row in table.rows] == [7, 3]  # dan and eva, not fia or ivy
    assert table.courses == []
    assert table.total.all_required == Cell()
    assert table.total.all_required.percent is None


# --- the municipality view: by sector and by unit -----------------------------------------


def test_one_municipality_by_sector(data):
    table = coverage_table(
        db.session, EVERYTHING, as_of(municipality_id=data.jarfalla.id), "sector"
    )
    assert [row.key for row in table.rows] == ["socialtjanst", "skola_forskola"]
    social, school = table.rows
    assert social.label == "Socialtjänst"
    assert social.people == 4  # anna, bo, cia, fia
    assert social.cell(data.v.id) == Cell(3, 1, 1, 2, 0, exempt=1)
    assert social.cell(data.h.id) == Cell(3, 1, 0, 1, 2)
    assert (social.fully_trained, social.exempt_people) == (1, 1)
    assert school.people == 3  # gun, hans, ivy
    assert school.cell(data.v.id) == Cell(3, 0, 1, 1, 1)
    assert school.cell(data.h.id) == Cell(1, 0, 0, 0, 0)
    assert school.fully_trained == 1  # hans
    assert table.total.all_required == Cell(10, 2, 2, 4, 3, exempt=1)


def test_by_sector_across_municipalities_mixes_their_settings(data):
    table = coverage_table(db.session, EVERYTHING, as_of(), "sector")
    social = table.rows[0]
    assert social.people == 7  # Järfälla's four and Sigtuna's three
    # Each person counts by their own municipality's setting: bo's awaiting V counts,
    # jon's does not.
    assert social.cell(data.v.id) == Cell(6, 2, 2, 3, 1, exempt=1)
    assert social.counts_reported is None


def test_by_unit(data):
    table = coverage_table(db.session, EVERYTHING, as_of(), "unit")
    assert [(row.municipality, row.label) for row in table.rows] == [
        ("Järfälla", "IFO"),
        ("Järfälla", "Skolan"),
        ("Sigtuna", "IFO"),
    ]
    assert [row.key for row in table.rows] == [data.j_ifo.id, data.j_school.id, data.s_ifo.id]
    assert [row.all_required.required for row in table.rows] == [6, 4, 5]
    assert [row.all_required.covered for row in table.rows] == [3, 1, 2]


def test_filters_narrow_people_and_courses(data):
    by_course = coverage_table(db.session, EVERYTHING, as_of(course_id=data.h.id))
    assert [course.title for course in by_course.courses] == ["Heder"]
    assert by_course.total.all_required == Cell(6, 2, 0, 2, 2)
    assert by_course.total.people == 10  # the population is the same
    assert by_course.rows[0].fully_trained == 1  # anna (hans has no H)

    by_provider = coverage_table(db.session, EVERYTHING, as_of(provider_id=data.v.provider_id))
    assert [course.title for course in by_provider.courses] == ["Våld"]
    assert by_provider.total.all_required.required == 9

    by_unit = coverage_table(db.session, EVERYTHING, as_of(unit_id=data.j_school.id), "unit")
    assert [row.label for row in by_unit.rows] == ["Skolan"]

    by_sector = coverage_table(db.session, EVERYTHING, as_of(sector=Sector.SCHOOL))
    assert [row.label for row in by_sector.rows] == ["Järfälla"]
    assert by_sector.rows[0].people == 3


# --- the unit view: by person -------------------------------------------------------------


def test_a_unit_person_by_person(data):
    result = unit_people(db.session, EVERYTHING, as_of(), data.j_ifo.id)
    assert [course.title for course in result.courses] == ["Våld", "Heder"]
    people = {row.first_name: row for row in result.people}
    assert list(people) == ["Anna", "Bo", "Cia", "Fia"]  # by last name; not dan or eva

    def states(name: str) -> list[tuple[int, CourseState, date | None]]:
        return [(c.course_id, c.state, c.overdue_since) for c in people[name].courses]

    v, h = data.v.id, data.h.id
    assert states("Anna") == [(v, CourseState.VERIFIED, None), (h, CourseState.VERIFIED, None)]
    assert states("Bo") == [
        (v, CourseState.REPORTED, None),
        (h, CourseState.OVERDUE, date(2025, 4, 30)),
    ]
    # Due again from the day her completion expired.
    assert states("Cia") == [
        (v, CourseState.EXEMPT, None),
        (h, CourseState.OVERDUE, date(2025, 5, 1)),
    ]
    assert states("Fia") == [(v, CourseState.PENDING, None)]
    assert people["Fia"].courses[0].due_date == date(2025, 8, 29)
    assert [row.fully_trained for row in result.people] == [True, False, False, False]
    assert people["Bo"].courses[0].covered  # Järfälla counts awaiting reports


def test_a_unit_person_by_person_in_the_past_and_in_verified_mode(data):
    # On 30 April, eva and dan were still there, fia not yet; the report hans verified in
    # June did not exist.
    april = unit_people(db.session, EVERYTHING, as_of(date(2025, 4, 30)), data.j_ifo.id)
    assert [row.first_name for row in april.people] == ["Anna", "Bo", "Cia", "Dan", "Eva"]
    cia = april.people[2]
    assert [c.state for c in cia.courses] == [CourseState.EXEMPT, CourseState.VERIFIED]

    sigtuna = unit_people(db.session, EVERYTHING, as_of(), data.s_ifo.id)
    jon = sigtuna.people[0]
    assert jon.first_name == "Jon"
    assert jon.courses[0].state == CourseState.REPORTED and not jon.courses[0].covered
    assert not jon.fully_trained
    forced = unit_people(db.session, EVERYTHING, as_of(mode="reported"), data.s_ifo.id)
    assert forced.people[0].fully_trained


# --- new hires ----------------------------------------------------------------------------


def test_new_hire_compliance(data):
    report = new_hire_compliance(db.session, EVERYTHING, as_of())
    assert (report.hired_from, report.hired_to) == (date(2024, 6, 1), D)
    assert report.hires == 4  # hans, ivy, jon, fia (hired on D)
    v, h = report.rows
    assert (v.course.title, h.course.title) == ("Våld", "Heder")
    # V: hans completed after his due date (266 days after his hire), jon's awaiting report
    # does not count in Sigtuna; ivy's and fia's due dates are ahead: not judged yet.
    assert (v.required, v.judged, v.completed_by_due, v.completed) == (4, 2, 0, 1)
    assert v.not_yet_due == 2
    assert v.share == 0.0
    assert v.median_days == 266
    # H: jon on time (111 days after his hire); ivy's is ahead.
    assert (h.required, h.judged, h.completed_by_due, h.completed) == (2, 1, 1, 1)
    assert h.share == 100.0
    assert h.median_days == 111

    reported = new_hire_compliance(db.session, EVERYTHING, as_of(mode="reported"))
    v = reported.rows[0]
    # jon's V counts now, but 05-01 is after its due date 04-15; 212 days after his hire.
    assert (v.completed_by_due, v.completed, v.median_days) == (0, 2, (212 + 266) / 2)


def test_new_hire_compliance_for_a_chosen_period(data):
    report = new_hire_compliance(
        db.session, EVERYTHING, as_of(), hired_from=date(2025, 1, 1), hired_to=date(2025, 12, 31)
    )
    assert report.hired_to == D  # nobody can be hired after the report date
    assert report.hires == 2  # ivy and fia
    assert [(row.course.title, row.required, row.judged) for row in report.rows] == [
        ("Våld", 2, 0),
        ("Heder", 1, 0),
    ]
    assert report.rows[0].share is None


# --- the trend ----------------------------------------------------------------------------


def test_the_trend_is_recomputed_at_each_month_end(data):
    points = coverage_trend(db.session, EVERYTHING, as_of(), months=3)
    # 31 March: required of 17 (Järfälla 12: anna 2, bo 2, cia 1 (V exempt), dan 1, eva 1,
    # gun 2, hans 1, ivy 2; Sigtuna 5). Covered: anna V, cia H (not yet expired), dan V,
    # jon H, kim V = 5. anna's H came on 10 April.
    # 30 April: the same 17; anna's H now too = 6 (gun's report was rejected on 5 April).
    # 31 May: the report's own numbers: 6 of 15.
    assert [tuple(point)[:4] for point in points] == [
        (date(2025, 3, 31), 5, 17, pytest.approx(100 * 5 / 17)),
        (date(2025, 4, 30), 6, 17, pytest.approx(100 * 6 / 17)),
        (D, 6, 15, 40.0),
    ]
    table = coverage_table(db.session, EVERYTHING, as_of())
    assert (points[-1].covered, points[-1].required) == (
        table.total.all_required.covered,
        table.total.all_required.required,
    )


def test_the_trend_covers_twelve_months_and_has_no_percentage_before_anything_was_required(
    data,
):
    points = coverage_trend(db.session, EVERYTHING, as_of())
    assert [point.day for point in points] == [
        date(2024, 6, 30),
        date(2024, 7, 31),
        date(2024, 8, 31),
        date(2024, 9, 30),
        date(2024, 10, 31),
        date(2024, 11, 30),
        date(2024, 12, 31),
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        D,
    ]
    assert all(point.required == 0 and point.percent is None for point in points[:7])
    # 31 January: cia not yet exempt from V (16 required); covered: cia H, dan V, jon H, kim V.
    assert tuple(points[7])[1:3] == (4, 16)
    reported = coverage_trend(db.session, EVERYTHING, as_of(mode="reported"), months=1)
    assert [tuple(point)[:3] for point in reported] == [(D, 7, 15)]


def test_the_trend_today_counts_only_active_staff(data):
    points = coverage_trend(db.session, EVERYTHING, CoverageFilters(), months=2)
    assert [tuple(point)[:3] for point in points] == [(D, 6, 15), (TODAY, 8, 13)]


def test_trend_days_end_each_month_and_on_the_report_date():
    assert trend_days(date(2025, 3, 15), 4) == [
        date(2024, 12, 31),
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 15),
    ]
    assert trend_days(date(2024, 3, 31), 2) == [date(2024, 2, 29), date(2024, 3, 31)]


# --- scope --------------------------------------------------------------------------------


def reader(role: Role, *, municipality: str | None = None, unit: Unit | None = None) -> Employee:
    account = factories.employee(system_account=True, first_name="Läsare", password=None)
    return factories.with_role(account, role, municipality_name=municipality, on_unit=unit)


def test_each_role_sees_its_scope(data):
    manager = report_scope(reader(Role.MANAGER, unit=data.j_ifo))
    table = coverage_table(db.session, manager, as_of())
    assert [row.label for row in table.rows] == ["Järfälla"]
    assert table.rows[0].people == 4  # the unit, not the municipality
    assert table.total.all_required == Cell(6, 2, 1, 3, 2, exempt=1)

    hr = report_scope(reader(Role.HR, municipality="Sigtuna"))
    assert [row.label for row in coverage_table(db.session, hr, as_of()).rows] == ["Sigtuna"]
    assert unit_people(db.session, hr, as_of(), data.j_ifo.id).people == []
    coordinator = report_scope(reader(Role.COORDINATOR, municipality="Järfälla"))
    trend = coverage_trend(db.session, coordinator, as_of(), months=1)
    assert [tuple(point)[:3] for point in trend] == [(D, 4, 10)]
    assert new_hire_compliance(db.session, coordinator, as_of()).hires == 3  # not jon

    regional = report_scope(reader(Role.COORDINATOR))
    assert len(coverage_table(db.session, regional, as_of()).rows) == 2


def test_an_employee_without_a_role_gets_no_numbers_and_no_queries(data):
    nobody = report_scope(data.anna)
    unit_id = data.j_ifo.id
    with counting_statements() as statements:
        table = coverage_table(db.session, nobody, as_of())
        people = unit_people(db.session, nobody, as_of(), unit_id)
        hires = new_hire_compliance(db.session, nobody, as_of())
        trend = coverage_trend(db.session, nobody, as_of(), months=2)
    assert statements == []
    assert table.rows == [] and table.courses == [] and table.total.all_required == Cell()
    assert people.people == []
    assert hires.rows == [] and hires.hires == 0
    assert [point.required for point in trend] == [0, 0]


# --- filters from the URL -----------------------------------------------------------------


def test_filters_round_trip_through_the_url():
    filters = CoverageFilters(
        as_of=D,
        municipality_id=3,
        sector=Sector.SCHOOL,
        unit_id=7,
        course_id=2,
        provider_id=5,
        mode="verified",
    )
    assert filters.to_args() == {
        "as_of": "2025-05-31",
        "municipality_id": "3",
        "unit_id": "7",
        "course_id": "2",
        "provider_id": "5",
        "sector": "skola_forskola",
        "mode": "verified",
    }
    assert parse_filters(filters.to_args()) == filters
    assert CoverageFilters().to_args() == {}


@pytest.mark.parametrize(
    "args",
    [
        {"as_of": "31/05/2025", "municipality_id": "x", "sector": "nope", "mode": "all"},
        {"as_of": "2025-02-30", "unit_id": "-4", "course_id": "1.5", "provider_id": ""},
        {"as_of": "2099-01-01", "municipality_id": "99999999999999", "mode": ""},
        {"as_of": "<script>", "unit_id": "0", "sector": "", "course_id": None},
    ],
)
def test_garbage_in_the_url_is_ignored(args):
    assert parse_filters(args) == CoverageFilters()


# --- query counts -------------------------------------------------------------------------


def statements_per_report(unit: Unit) -> list[int]:
    """Statements of each report: the table and the trend first with their cached rows to
    compute (the unit's are stale), then once more when they are fresh (their summary is
    stored), then once more with nothing changed (the summary answers)."""
    unit_id = unit.id
    counts = []
    for run in (
        lambda: coverage_table(db.session, EVERYTHING, as_of(), "unit"),
        lambda: coverage_table(db.session, EVERYTHING, as_of(), "unit"),
        lambda: coverage_table(db.session, EVERYTHING, as_of(), "unit"),
        lambda: coverage_trend(db.session, EVERYTHING, as_of()),
        lambda: coverage_trend(db.session, EVERYTHING, as_of()),
        lambda: coverage_trend(db.session, EVERYTHING, as_of()),
        lambda: unit_people(db.session, EVERYTHING, as_of(), unit_id),
        lambda: new_hire_compliance(db.session, EVERYTHING, as_of()),
    ):
        db.session.expire_all()
        with counting_statements() as statements:
            run()
        counts.append(len(statements))
    return counts


def test_the_number_of_queries_does_not_grow_with_the_staff():
    v = factories.dated_course("v", provider_key="p1")
    h = factories.dated_course("h", provider_key="p2", validity_months=24)
    small = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "Liten")
    large = factories.unit("Sigtuna", Sector.SCHOOL, "Stor")
    factories.staff_in_bulk(
        small, 10, [v, h], hire_date=date(2024, 8, 1), assigned_on=JAN1, due=date(2025, 3, 1)
    )
    few = statements_per_report(small)
    factories.staff_in_bulk(
        large, 1000, [v, h], hire_date=date(2024, 8, 1), assigned_on=JAN1, due=date(2025, 3, 1)
    )
    many = statements_per_report(large)
    assert few == many
    # The check for uncommitted writes is one more on PostgreSQL. Everyone's report, with too
    # few units for a summary (coverage_summary.MIN_UNITS), fresh and again unchanged: the
    # table is the summary looked for, two sums (one of them also tells whether the rows are
    # fresh: cache.fresh_sums) and the course columns; the trend the summary looked for and
    # one sum that also tells whether its rows are fresh.
    check = 1 if db.engine.dialect.name == "postgresql" else 0
    table_stale, table_fresh, table_summary, trend_stale, trend_fresh, trend_summary = many[:6]
    assert table_fresh == table_summary == 4 + check
    assert trend_fresh == trend_summary == 2 + check
    assert table_stale <= 17 and trend_stale <= 17  # recomputing what is stale
    assert many[6:] == [2, 2]  # live: the unit's people, new hires
    table = coverage_table(db.session, EVERYTHING, as_of(), "unit")
    stor = next(row for row in table.rows if row.label == "Stor")
    # Every other one verified (500), every sixth one (odd and divisible by 3) reported
    # (167), and the rest overdue.
    assert stor.people == 1000
    assert stor.cell(v.id) == Cell(1000, 500, 167, 667, 333, 0)


# --- the command line ---------------------------------------------------------------------


def test_the_command_prints_the_same_numbers_as_json(data, runner):
    result = runner.invoke(
        args=["reports", "coverage", "--as-of", "2025-05-31", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["as_of"] == "2025-05-31"
    assert [row["label"] for row in report["rows"]] == ["Järfälla", "Sigtuna", "Total"]
    jarfalla = report["rows"][0]
    assert jarfalla["courses"]["v"] == {
        "required": 6,
        "covered": 3,
        "percent": 50.0,
        "verified": 1,
        "reported": 2,
        "overdue": 1,
        "exempt": 1,
    }
    assert jarfalla["all_required"]["percent"] == 40.0
    assert (jarfalla["people"], jarfalla["fully_trained"], jarfalla["counting"]) == (
        7,
        2,
        "reported",
    )
    assert report["rows"][1]["courses"]["v"]["percent"] == 33.3
    assert report["rows"][2]["all_required"]["covered"] == 6


def test_the_command_prints_csv_by_sector_for_one_municipality(data, runner):
    result = runner.invoke(
        args=[
            "reports",
            "coverage",
            "--municipality",
            "järfälla",
            "--as-of",
            "2025-05-31",
            "--format",
            "csv",
        ]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output), delimiter=";"))
    header, social, school, total = rows
    assert header[:5] == ["group", "people", "fully trained", "exempt people", "counting"]
    assert header[5:8] == ["Våld: coverage %", "Våld: covered", "Våld: required"]
    assert social[:5] == ["Socialtjänst", "4", "1", "1", "reported"]
    assert social[5:12] == ["66,7", "2", "3", "1", "1", "0", "1"]
    assert school[:5] == ["Skola och förskola", "3", "1", "0", "reported"]
    assert total[0] == "Total"
    assert total[-7:] == ["40,0", "4", "10", "2", "2", "3", "1"]  # all required


def test_the_command_prints_a_table_and_neutralises_formulas(data, runner):
    data.h.title = '=HYPERLINK("http://evil.example")'
    db.session.commit()
    table = runner.invoke(args=["reports", "coverage", "--as-of", "2025-05-31"])
    assert table.exit_code == 0, table.output
    assert "Coverage as of 2025-05-31, all municipalities" in table.output
    assert "Järfälla" in table.output and "40.0% 4/10" in table.output
    result = runner.invoke(args=["reports", "coverage", "--as-of", "2025-05-31", "--format", "csv"])
    header = next(csv.reader(io.StringIO(result.output), delimiter=";"))
    assert '\'=HYPERLINK("http://evil.example"): required' in header
    assert not any(cell.startswith("=") for cell in header)


def test_the_command_refuses_an_unknown_municipality_and_a_future_date(data, runner):
    result = runner.invoke(args=["reports", "coverage", "--municipality", "Atlantis"])
    assert result.exit_code != 0 and "unknown municipality: Atlantis" in result.output
    result = runner.invoke(args=["reports", "coverage", "--as-of", "2099-01-01"])
    assert result.exit_code != 0 and "future" in result.output
