"""``flask demo seed``: realistic, repeatable data with one sign-in per role."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import sqlalchemy as sa
import time_machine
from flask import current_app

from tests.conftest import count, fresh_database
from training_tracker import clock
from training_tracker.demo import DemoError
from training_tracker.demo import certificates as demo_certificates
from training_tracker.demo.municipalities import HOME_MUNICIPALITY
from training_tracker.demo.seed import seed_demo
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Evidence,
    Municipality,
    ProgrammeEvent,
    ProgrammeRegistration,
    RegistrationStatus,
    RequirementRule,
    Role,
    Unit,
)
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.people import accounts
from training_tracker.services.programme.listing import campaign_year
from training_tracker.services.reporting import coverage
from training_tracker.services.training.certificates import (
    CertificateReading,
    Check,
    ExpectedFacts,
    read_certificate,
)
from training_tracker.services.training.evidence import path_of

PASSWORD = "demo-lösenord-för-test"
TODAY = date(2026, 11, 23)
ROLES = ["admin", "hr", "manager", "coordinator", "regional-coordinator", "employee", "organiser"]


def snapshot() -> dict[str, list[tuple]]:
    """Everything the seed decides, without the clock-stamped and salted columns. Ids are
    counted from the first of the run: PostgreSQL's sequences go on after a table is
    emptied."""
    first_employee = db.session.scalar(sa.select(sa.func.min(Employee.id))) or 0
    first_unit = db.session.scalar(sa.select(sa.func.min(Unit.id))) or 0

    def employee(value: int | None) -> int | None:
        return None if value is None else value - first_employee

    return {
        "employees": [
            (*row[:4], row[4] - first_unit, employee(row[5]), *row[6:])
            for row in db.session.execute(
                sa.select(
                    Employee.email,
                    Employee.first_name,
                    Employee.last_name,
                    Employee.employee_number,
                    Employee.unit_id,
                    Employee.manager_id,
                    Employee.hire_date,
                    Employee.end_date,
                    Employee.active,
                    Employee.preferred_language,
                )
                .where(Employee.unit_id.is_not(None))
                .order_by(Employee.id)
            )
        ],
        "units": db.session.execute(
            sa.select(Unit.name, Unit.sector, Municipality.code)
            .join(Municipality)
            .order_by(Unit.id)
        ).all(),
        "assignments": [
            (employee(employee_id), course_id, due)
            for employee_id, course_id, due in db.session.execute(
                sa.select(Assignment.employee_id, Course.key, Assignment.due_date)
                .join(Course)
                .order_by(Assignment.id)
            )
        ],
        "completions": [
            (employee(row[0]), *row[1:])
            for row in db.session.execute(
                sa.select(
                    Completion.employee_id,
                    Course.key,
                    Completion.completed_on,
                    Completion.status,
                    Completion.rejection_reason,
                )
                .join(Course)
                .order_by(Completion.id)
            )
        ],
        "certificates": [
            (employee(row[0]), *row[1:])
            for row in db.session.execute(
                sa.select(
                    Completion.employee_id,
                    Course.key,
                    Completion.completed_on,
                    Completion.status,
                    Evidence.original_filename,
                    Evidence.sha256,
                    Evidence.reading,
                )
                .join(Completion, Completion.id == Evidence.completion_id)
                .join(Course)
                .order_by(Completion.id)
            )
        ],
    }


def empty_database() -> None:
    fresh_database()


def test_the_same_seed_and_day_give_the_same_data():
    seed_demo(db.session, employees=200, seed=7, password=PASSWORD, today=TODAY)
    db.session.commit()
    first = snapshot()
    empty_database()
    seed_demo(db.session, employees=200, seed=7, password=PASSWORD, today=TODAY)
    db.session.commit()
    assert first["certificates"], "the demo's reports come with certificates"
    assert snapshot() == first
    empty_database()
    seed_demo(db.session, employees=200, seed=8, password=PASSWORD, today=TODAY)
    db.session.commit()
    assert snapshot()["employees"] != first["employees"]


def test_the_demo_covers_every_municipality_sector_and_state():
    result = seed_demo(db.session, employees=300, seed=1, password=PASSWORD, today=TODAY)
    db.session.commit()
    assert [role for role, _ in result.accounts] == ROLES
    assert count(Municipality) == 6
    sectors_per_municipality = db.session.execute(
        sa.select(Unit.municipality_id, sa.func.count(sa.distinct(Unit.sector))).group_by(
            Unit.municipality_id
        )
    ).all()
    assert {n for _, n in sectors_per_municipality} == {5}
    assert count(RequirementRule) > 0
    assert count(Assignment) > 0
    statuses = set(db.session.scalars(sa.select(Completion.status).distinct()))
    assert {"verified", "reported", "rejected"} <= {s.value for s in statuses}
    new_hires = db.session.scalar(
        sa.select(sa.func.count(Employee.id)).where(Employee.hire_date >= TODAY.replace(day=1))
    )
    assert new_hires > 0
    leavers = db.session.scalar(sa.select(sa.func.count(Employee.id)).where(~Employee.active))
    assert leavers > 0
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Completion.id)).where(Completion.completed_on > TODAY)
        )
        == 0
    )


def test_every_demo_account_signs_in_with_the_password_and_holds_its_role():
    result = seed_demo(db.session, employees=200, seed=1, password=PASSWORD, today=TODAY)
    db.session.commit()
    expected_role = {
        "admin": Role.ADMIN,
        "hr": Role.HR,
        "manager": Role.MANAGER,
        "coordinator": Role.COORDINATOR,
        "regional-coordinator": Role.COORDINATOR,
        "organiser": Role.ORGANISER,
    }
    for role, email in result.accounts:
        person = accounts.authenticate(db.session, email, PASSWORD)
        assert person is not None, role
        if role in expected_role:
            assert person.has_role(expected_role[role]), role
        else:
            assert not person.role_grants

    # The joint programme: a November campaign, open to all six or to a few, one event full.
    november = db.session.scalars(sa.select(ProgrammeEvent)).all()
    assert len(november) == 5 and all(event.campaign for event in november)
    assert {clock.to_local(event.sessions[0].starts_at).month for event in november} == {11}
    assert {clock.to_local(event.sessions[0].starts_at).year for event in november} == {
        campaign_year(TODAY)
    }
    waiting = db.session.scalar(
        sa.select(sa.func.count()).where(ProgrammeRegistration.status == RegistrationStatus.WAITING)
    )
    assert waiting and waiting > 0


def test_seeding_twice_is_refused_with_a_clear_message():
    seed_demo(db.session, employees=150, seed=1, password=PASSWORD, today=TODAY)
    db.session.commit()
    try:
        seed_demo(db.session, employees=150, seed=1, password=PASSWORD, today=TODAY)
    except DemoError as error:
        assert "empty" in str(error) or "tom" in str(error)
    else:
        raise AssertionError("a second seed must be refused")


def test_the_cli_prints_one_line_per_demo_account(runner):
    result = runner.invoke(
        args=["demo", "seed", "--employees", "150", "--seed", "3", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "\t" in line]
    assert [line.split("\t")[0] for line in lines] == ROLES
    assert all("@" in line.split("\t")[1] for line in lines)


def test_the_cli_makes_up_a_password_when_none_is_given(runner):
    result = runner.invoke(args=["demo", "seed", "--employees", "150"])
    assert result.exit_code == 0, result.output
    password_line = next(
        line for line in result.output.splitlines() if line.startswith("password\t")
    )
    password = password_line.split("\t")[1]
    assert accounts.authenticate(db.session, "admin@demo.example", password) is not None


def test_the_cli_refuses_a_weak_password(runner):
    result = runner.invoke(args=["demo", "seed", "--password", "short"])
    assert result.exit_code != 0
    assert "minst 12 tecken" in result.output
    assert count(Employee) == 0


def test_the_demo_has_a_history_for_the_coverage_trend():
    """Assignments date from the hire or the rule's start, so past month ends have people to
    count and coverage that grows towards today."""
    seed_demo(db.session, employees=200, seed=1, password=PASSWORD, today=TODAY)
    db.session.commit()
    everyone = ReportScope(True, frozenset(), frozenset())
    with time_machine.travel(datetime.combine(TODAY, time(12)), tick=False):
        trend = coverage.coverage_trend(db.session, everyone, coverage.CoverageFilters())
    assert len(trend) == 12
    assert all(point.required > 0 for point in trend)
    assert trend[0].percent < trend[-1].percent


def _home_completions_of_certificate_courses(status: CompletionStatus) -> list[Completion]:
    return list(
        db.session.scalars(
            sa.select(Completion)
            .join(Course)
            .join(Employee, Employee.id == Completion.employee_id)
            .join(Unit)
            .join(Municipality)
            .where(
                Municipality.code == HOME_MUNICIPALITY,
                Course.issues_certificate,
                Completion.status == status,
            )
        )
    )


def test_most_reports_awaiting_review_come_with_a_certificate_the_reader_finds_matching():
    seed_demo(db.session, employees=300, seed=1, password=PASSWORD, today=TODAY)
    db.session.commit()
    reported = _home_completions_of_certificate_courses(CompletionStatus.REPORTED)
    with_file = [completion for completion in reported if completion.evidence]
    # About 3 in 4: the queue shows both kinds, and bulk approval has something to approve.
    assert 0.6 * len(reported) <= len(with_file) < len(reported)
    verified = _home_completions_of_certificate_courses(CompletionStatus.VERIFIED)
    assert 0 < sum(bool(completion.evidence) for completion in verified) < len(verified)
    # Courses that issue no certificate never get one.
    assert not db.session.scalar(
        sa.select(sa.func.count(Evidence.id))
        .join(Completion)
        .join(Course)
        .where(~Course.issues_certificate)
    )

    folder = Path(current_app.config["UPLOAD_FOLDER"])
    readings = []
    for evidence in db.session.scalars(sa.select(Evidence)):
        path = path_of(folder, evidence.storage_name)
        assert path.read_bytes().startswith(b"%PDF-")
        assert path.stat().st_size == evidence.size_bytes
        assert evidence.content_type == "application/pdf"
        completion, course = evidence.completion, evidence.completion.course
        stored = CertificateReading.from_json(evidence.reading)
        assert stored is not None
        # The stored reading is what the reader makes of the file on disk today.
        again = read_certificate(
            path,
            content_type=evidence.content_type,
            expected=ExpectedFacts(
                employee_name=completion.employee.full_name,
                course_titles=(course.title,),
                provider_names=(course.provider.name,),
                completed_on=completion.completed_on,
            ),
            provider_key=course.provider.key,
        )
        assert again == stored
        readings.append(stored)
    matching = [reading for reading in readings if reading.all_matched]
    another_date = [reading for reading in readings if reading.date is Check.DIFFERENT]
    assert len(matching) >= 0.8 * len(readings)
    assert another_date, "one certificate in ten shows another date: the reviewer is warned"
    assert all(reading.name is Check.MATCHED for reading in matching)


def test_the_number_of_certificates_is_bounded_whatever_the_size(monkeypatch, uploads):
    monkeypatch.setattr(demo_certificates, "MAX_REPORTED", 4)
    monkeypatch.setattr(demo_certificates, "MAX_VERIFIED", 2)
    seed_demo(db.session, employees=300, seed=1, password=PASSWORD, today=TODAY)
    db.session.commit()
    reported = _home_completions_of_certificate_courses(CompletionStatus.REPORTED)
    assert len(reported) > 4
    with_file = sum(bool(completion.evidence) for completion in reported)
    assert 0 < with_file <= 4
    assert count(Evidence) <= 6
    assert sorted(path.name for path in uploads.iterdir()) == sorted(
        db.session.scalars(sa.select(Evidence.storage_name))
    )
