"""Reporting a completion: what is accepted, expiry, one report per form however often it is
sent, replacing the certificate and withdrawing while it awaits verification."""

from __future__ import annotations

import io
import threading
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Completion,
    CompletionStatus,
    CourseStatus,
    Employee,
    Evidence,
)
from training_tracker.services.training.completions import (
    CompletionError,
    ReportData,
    add_months,
    replace_certificate,
    report_completion,
    withdraw_completion,
)
from training_tracker.services.training.evidence import store_file

PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.fixture()
def nck():
    return factories.synced_catalog()["nck-webbkurs-om-vald"]


def stored(tmp_path, name="intyg.pdf"):  # type: ignore[no-untyped-def]
    return store_file(io.BytesIO(PDF), filename=name, folder=tmp_path, max_bytes=10_000)


def report(person, course, *, on=None, key=None, file=None, today=None):  # type: ignore[no-untyped-def]
    return report_completion(
        db.session,
        employee=person,
        data=ReportData(
            course_id=course.id,
            completed_on=on or clock.today() - timedelta(days=2),
            submission_key=key,
        ),
        stored=file,
        actor=person,
        today=today,
    )


def test_a_report_awaits_verification_with_its_certificate_and_is_audited(tmp_path, nck):
    person = factories.employee()
    result = report(person, nck, file=stored(tmp_path, "Intyg NCK.pdf"))
    db.session.commit()
    completion = result.completion
    assert result.created
    assert (completion.status, completion.reported_by_id) == (CompletionStatus.REPORTED, person.id)
    [evidence] = completion.evidence
    assert (evidence.original_filename, evidence.content_type) == (
        "Intyg NCK.pdf",
        "application/pdf",
    )
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "completion.reported")
    ).all()
    assert event.details["certificate"] == "Intyg NCK.pdf"


def test_a_course_with_a_validity_expires_that_many_months_later(nck):
    nck.validity_months = 36
    db.session.commit()
    completion = report(factories.employee(), nck, on=date(2025, 1, 31)).completion
    assert completion.expires_on == date(2028, 1, 31)
    nck.validity_months = None
    db.session.commit()
    assert report(factories.employee(), nck).completion.expires_on is None


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 11, 15), 2, date(2025, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_months_are_calendar_months(start, months, expected):
    assert add_months(start, months) == expected


def test_a_date_in_the_future_is_refused_and_nothing_stored(nck):
    with pytest.raises(CompletionError, match="senare än i dag") as refused:
        report(factories.employee(), nck, on=clock.today() + timedelta(days=1))
    assert refused.value.field == "completed_on"
    assert count(Completion) == 0


def test_a_date_before_the_course_existed_is_refused(nck):
    nck.available_from = datetime(2022, 3, 1)
    db.session.commit()
    with pytest.raises(CompletionError, match="Kursen fanns inte före 1 mars 2022"):
        report(factories.employee(), nck, on=date(2021, 12, 24))
    assert count(Completion) == 0


def test_an_unknown_or_switched_off_course_is_refused(nck):
    person = factories.employee()
    nck.status = CourseStatus.INACTIVE
    db.session.commit()
    with pytest.raises(CompletionError, match="Välj en kurs") as refused:
        report(person, nck)
    assert refused.value.field == "course_id"
    nck.id = 999_999  # not in the database (not committed)
    with pytest.raises(CompletionError):
        report(person, nck)
    db.session.rollback()
    assert count(Completion) == 0


def test_the_same_form_sent_twice_makes_one_report(nck):
    person = factories.employee()
    first = report(person, nck, key="form-1")
    db.session.commit()
    second = report(person, nck, key="form-1")
    db.session.commit()
    assert (first.created, second.created) == (True, False)
    assert second.completion.id == first.completion.id
    assert count(Completion) == 1
    assert report(person, nck, key="form-2").created


def test_two_identical_submissions_at_the_same_moment_make_one_report(app, nck):
    person_id, course_id = factories.employee().id, nck.id
    db.session.commit()
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            with app.app_context():
                person = db.session.get(Employee, person_id)
                barrier.wait(timeout=10)
                result = report_completion(
                    db.session,
                    employee=person,
                    data=ReportData(
                        course_id=course_id,
                        completed_on=clock.today() - timedelta(days=1),
                        submission_key="same-form",
                    ),
                    stored=None,
                    actor=person,
                )
                db.session.commit()
                outcomes.append(result.created)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(outcomes) == [False, True]
    assert count(Completion) == 1


def test_the_certificate_can_be_replaced_while_awaiting_verification(tmp_path, nck):
    person = factories.employee()
    first = stored(tmp_path, "suddig.jpg.pdf")
    completion = report(person, nck, file=first).completion
    db.session.commit()
    replaced = replace_certificate(
        db.session, completion, stored(tmp_path, "tydlig.pdf"), actor=person
    )
    db.session.commit()
    assert replaced == [first.storage_name]
    assert [e.original_filename for e in completion.evidence] == ["tydlig.pdf"]
    assert count(Evidence) == 1


def test_a_report_can_be_withdrawn_while_awaiting_verification_and_stays_in_history(nck):
    person = factories.employee()
    completion = report(person, nck).completion
    withdraw_completion(db.session, completion, actor=person)
    db.session.commit()
    assert db.session.get(Completion, completion.id).status == CompletionStatus.WITHDRAWN
    assert count(AuditEvent, AuditEvent.action == "completion.withdrawn") == 1


@pytest.mark.parametrize("status", [CompletionStatus.VERIFIED, CompletionStatus.REJECTED])
def test_a_reviewed_report_can_be_neither_withdrawn_nor_given_a_new_certificate(
    tmp_path, nck, status
):
    person = factories.employee()
    completion = factories.completion(person, nck, status=status)
    with pytest.raises(CompletionError, match="redan granskad"):
        withdraw_completion(db.session, completion, actor=person)
    with pytest.raises(CompletionError, match="redan granskad"):
        replace_certificate(db.session, completion, stored(tmp_path), actor=person)
    db.session.rollback()
    assert db.session.get(Completion, completion.id).status == status
