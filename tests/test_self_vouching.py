"""Nobody vouches for themselves (issue #15, point 2): HR, or anyone, cannot record a verified
completion for themselves or exempt themselves, through any route. Their own completion goes
in as a report awaiting another HR person or their manager, like a self-report."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import Client
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Role,
    Sector,
)
from training_tracker.services.training.completions import ReportData, report_completion
from training_tracker.services.training.group_records import record_group_completion
from training_tracker.services.training.verification import ReviewError, verify_completions

NCK = "nck-webbkurs-om-vald"
GROUP_URL = "/employees/record-completions"


@pytest.fixture()
def nck() -> Course:
    return factories.synced_catalog()[NCK]


@pytest.fixture()
def hr() -> Employee:
    return factories.hr_staff("Järfälla")


@pytest.fixture()
def colleague() -> Employee:
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    return factories.employee(unit=unit, first_name="Lisa", last_name="Berg")


def completion_of(person: Employee, course: Course) -> Completion:
    return db.session.scalars(
        sa.select(Completion).where(
            Completion.employee_id == person.id, Completion.course_id == course.id
        )
    ).one()


def group_form(course: Course, people: list[Employee]) -> dict:  # type: ignore[type-arg]
    return {
        "course": str(course.id),
        "completed_on": (clock.today() - timedelta(days=3)).isoformat(),
        "note": "Utbildningsdag",
        "employees": [str(p.id) for p in people],
        "identifiers": "",
    }


# --- group recording --------------------------------------------------------------------------


def test_the_recorders_own_completion_in_a_group_awaits_someone_elses_review(
    hr: Employee, colleague: Employee, nck: Course
) -> None:
    result = record_group_completion(
        db.session,
        actor=hr,
        course_id=nck.id,
        completed_on=clock.today() - timedelta(days=3),
        employee_ids=[hr.id, colleague.id],
    )
    db.session.commit()

    assert [p.id for p in result.recorded] == [colleague.id]
    assert [p.id for p in result.awaiting_review] == [hr.id]
    own = completion_of(hr, nck)
    assert own.status == CompletionStatus.REPORTED
    assert (own.reported_by_id, own.reviewed_by_id, own.reviewed_at) == (hr.id, None, None)
    assert completion_of(colleague, nck).status == CompletionStatus.VERIFIED
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.subject_employee_id == hr.id)
    ).all()
    assert "completion.reported" in actions and "completion.recorded" not in actions


def test_the_page_says_the_recorders_own_course_awaits_review_and_sending_again_adds_nothing(
    client: Client, hr: Employee, colleague: Employee, nck: Course
) -> None:
    client.sign_in(hr)

    page = client.post_form(
        GROUP_URL, group_form(nck, [hr, colleague]), follow_redirects=True
    ).get_data(as_text=True)
    client.post_form(GROUP_URL, group_form(nck, [hr]), follow_redirects=True)

    assert "Genomförd kurs registrerad för 1 person" in page
    assert "Din egen kurs är registrerad som en rapport" in page
    assert completion_of(hr, nck).status == CompletionStatus.REPORTED  # one, not two


def test_another_hr_person_verifies_what_hr_recorded_for_themselves(
    hr: Employee, nck: Course
) -> None:
    record_group_completion(
        db.session,
        actor=hr,
        course_id=nck.id,
        completed_on=clock.today() - timedelta(days=3),
        employee_ids=[hr.id],
    )
    db.session.commit()
    own = completion_of(hr, nck)

    with pytest.raises(ReviewError):
        verify_completions(db.session, [own.id], actor=hr)
    db.session.rollback()
    other_hr = factories.hr_staff("Järfälla")
    verify_completions(db.session, [own.id], actor=other_hr)
    db.session.commit()

    db.session.refresh(own)
    assert (own.status, own.reviewed_by_id) == (CompletionStatus.VERIFIED, other_hr.id)


# --- verifying one's own report ---------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_nobody_verifies_their_own_report_whatever_their_role(
    client: Client, nck: Course, role: Role
) -> None:
    person = factories.employee()
    factories.with_role(person, role, municipality_name="Järfälla" if role == Role.HR else None)
    result = report_completion(
        db.session,
        employee=person,
        data=ReportData(course_id=nck.id, completed_on=clock.today(), note=""),
        stored=None,
        actor=person,
    )
    db.session.commit()
    client.sign_in(person)

    assert client.post_form(f"/verify/{result.completion.id}/verify").status_code == 404
    bulk = client.post_form("/verify/bulk", {"completion_ids": [str(result.completion.id)]})
    assert "Välj rapporter i listan." in client.get(bulk.location).get_data(as_text=True)
    db.session.refresh(result.completion)
    assert result.completion.status == CompletionStatus.REPORTED


# --- exemptions -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_nobody_exempts_themselves(client: Client, nck: Course, role: Role) -> None:
    person = factories.employee()
    factories.with_role(person, role, municipality_name="Järfälla" if role == Role.HR else None)
    assignment = factories.assignment(person, nck)
    client.sign_in(person)

    response = client.post_form(
        f"/employees/{person.id}/assignments/{assignment.id}/exemption",
        {"exempt": "1", "reason": "Jag kan redan det här"},
    )

    assert response.status_code == 422
    assert "Du kan inte undanta dig själv." in response.get_data(as_text=True)
    db.session.refresh(assignment)
    assert assignment.exempt is False


def test_another_hr_person_exempts_them(client: Client, hr: Employee, nck: Course) -> None:
    assignment = factories.assignment(hr, nck)
    client.sign_in(factories.hr_staff("Järfälla"))

    response = client.post_form(
        f"/employees/{hr.id}/assignments/{assignment.id}/exemption",
        {"exempt": "1", "reason": "Gick kursen hos förra arbetsgivaren"},
    )

    assert response.status_code == 302
    db.session.refresh(assignment)
    assert assignment.exempt is True
