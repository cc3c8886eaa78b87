"""What an employee may do with their own report after sending it (issue #17): open their own
certificate, correct the date while the report awaits review, withdraw it after a confirmation
step, and report the course again after a withdrawal or a rejection. Also the report form's
empty date, the start page's "2 av 4 klara" and course titles in the reader's language."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from tests.samples import certificate_pdf
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Completion,
    CompletionStatus,
    Role,
    Sector,
)
from training_tracker.services.messaging import outbox
from training_tracker.services.training.completions import (
    CompletionError,
    ReportData,
    correct_completed_on,
    report_completion,
)
from training_tracker.services.training.evidence import store_file


@pytest.fixture()
def nck():
    return factories.synced_catalog()["nck-webbkurs-om-vald"]


@pytest.fixture()
def anna():
    return factories.employee(
        unit=factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO"),
        first_name="Anna",
        last_name="Lindqvist",
    )


def reported(person, course, uploads, *, on, certificate_date=None):  # type: ignore[no-untyped-def]
    """A report as the employee makes it, with a certificate dated ``certificate_date``."""
    content = certificate_pdf(
        [
            "Intyg",
            f"{person.first_name} {person.last_name}",
            f"har genomfört webbkursen {course.title}",
            f"Datum: {(certificate_date or on).isoformat()}",
        ]
    )
    stored = store_file(io.BytesIO(content), filename="intyg.pdf", folder=uploads, max_bytes=10**7)
    result = report_completion(
        db.session,
        employee=person,
        data=ReportData(course_id=course.id, completed_on=on),
        stored=stored,
        actor=person,
    )
    db.session.commit()
    return result.completion


# --- the report form's date --------------------------------------------------------------


def test_a_report_without_a_date_says_the_date_is_missing(client, uploads, anna, nck):
    client.sign_in(anna)
    response = client.post_form(
        "/my/report",
        {"course_id": str(nck.id), "completed_on": "", "certificate": (io.BytesIO(b""), "")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Ange datumet då du blev klar med kursen." in response.get_data(as_text=True)
    assert count(Completion) == 0


# --- the own certificate -----------------------------------------------------------------


def test_the_employee_opens_their_own_certificate_from_their_report(client, uploads, anna, nck):
    completion = reported(anna, nck, uploads, on=clock.today() - timedelta(days=2))
    [evidence] = completion.evidence
    client.sign_in(anna)
    page = client.get(f"/my/completions/{completion.id}").get_data(as_text=True)
    assert f'href="/evidence/{evidence.id}"' in page and "Öppna intyget" in page
    opened = client.get(f"/evidence/{evidence.id}")
    assert opened.status_code == 200 and opened.mimetype == "application/pdf"
    assert opened.data == (uploads / evidence.storage_name).read_bytes()


def test_a_colleague_cannot_open_the_certificate(client, uploads, anna, nck):
    completion = reported(anna, nck, uploads, on=clock.today() - timedelta(days=2))
    client.sign_in(factories.employee(unit=anna.unit))
    assert client.get(f"/evidence/{completion.evidence[0].id}").status_code == 404


# --- correcting the date -----------------------------------------------------------------


def test_the_date_of_an_awaiting_report_can_be_corrected_and_is_audited(uploads, anna, nck):
    nck.validity_months = 36
    db.session.commit()
    wrong, right = clock.today() - timedelta(days=2), clock.today() - timedelta(days=9)
    completion = reported(anna, nck, uploads, on=wrong, certificate_date=right)
    assert completion.evidence[0].reading["date"] == "different"

    assert correct_completed_on(db.session, completion, right, actor=anna)
    db.session.commit()
    completion = db.session.get(Completion, completion.id)
    assert completion.completed_on == right
    assert completion.expires_on == date(right.year + 3, right.month, right.day)
    # The certificate is read again: it now agrees with the report.
    assert completion.evidence[0].reading["date"] == "matched"
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "completion.date_corrected")
    ).all()
    assert event.details["before"] == wrong.isoformat()
    assert event.details["after"] == right.isoformat()


def test_the_same_date_changes_nothing_and_audits_nothing(uploads, anna, nck):
    on = clock.today() - timedelta(days=2)
    completion = reported(anna, nck, uploads, on=on)
    assert not correct_completed_on(db.session, completion, on, actor=anna)
    assert count(AuditEvent, AuditEvent.action == "completion.date_corrected") == 0


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "senare än i dag"), (None, "Kursen fanns inte före 1 mars 2022")],
)
def test_a_corrected_date_gets_the_same_checks_as_a_report(uploads, anna, nck, days, message):
    nck.available_from = datetime(2022, 3, 1)
    db.session.commit()
    on = clock.today() - timedelta(days=2)
    completion = reported(anna, nck, uploads, on=on)
    new = clock.today() - timedelta(days=days) if days is not None else date(2022, 2, 28)
    with pytest.raises(CompletionError, match=message) as refused:
        correct_completed_on(db.session, completion, new, actor=anna)
    assert refused.value.field == "completed_on"
    db.session.rollback()
    assert db.session.get(Completion, completion.id).completed_on == on


@pytest.mark.parametrize(
    "status", [CompletionStatus.VERIFIED, CompletionStatus.REJECTED, CompletionStatus.WITHDRAWN]
)
def test_a_reviewed_or_withdrawn_report_keeps_its_date(anna, nck, status):
    completion = factories.completion(anna, nck, status=status)
    with pytest.raises(CompletionError, match="redan granskad"):
        correct_completed_on(db.session, completion, clock.today() - timedelta(days=1), actor=anna)
    db.session.rollback()
    assert db.session.get(Completion, completion.id).completed_on == clock.today() - timedelta(10)


def test_the_employee_corrects_the_date_on_their_report_page(client, uploads, anna, nck):
    wrong, right = clock.today() - timedelta(days=2), clock.today() - timedelta(days=9)
    completion = reported(anna, nck, uploads, on=wrong, certificate_date=right)
    client.sign_in(anna)
    location = f"/my/completions/{completion.id}"
    page = client.get(location).get_data(as_text=True)
    assert f'action="{location}/date"' in page
    assert re.search(rf'<input[^>]*name="completed_on"[^>]*value="{wrong.isoformat()}"', page)

    response = client.post_form(f"{location}/date", {"completed_on": right.isoformat()})
    assert response.status_code == 302 and response.location == location
    assert db.session.get(Completion, completion.id).completed_on == right
    assert "Datumet är ändrat." in client.get(location).get_data(as_text=True)

    # The reviewer sees the corrected date.
    manager = factories.with_role(
        factories.employee(unit=anna.unit), Role.MANAGER, on_unit=anna.unit
    )
    client.sign_in(manager)
    review = client.get(f"/verify/{completion.id}").get_data(as_text=True)
    assert f'datetime="{right.isoformat()}"' in review
    assert f'datetime="{wrong.isoformat()}"' not in review


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Ange datumet då du blev klar med kursen."),
        ("i går", ""),
        ("tomorrow", None),
    ],
)
def test_a_bad_corrected_date_is_named_and_nothing_changes(
    client, uploads, anna, nck, value, message
):
    on = clock.today() - timedelta(days=2)
    completion = reported(anna, nck, uploads, on=on)
    if value == "tomorrow":
        value, message = (clock.today() + timedelta(days=1)).isoformat(), "senare än i dag"
    client.sign_in(anna)
    response = client.post_form(f"/my/completions/{completion.id}/date", {"completed_on": value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="error-summary"' in page and 'href="#completed_on"' in page
    assert message in page
    assert db.session.get(Completion, completion.id).completed_on == on


def test_nobody_else_may_correct_the_date(client, uploads, anna, nck):
    on = clock.today() - timedelta(days=2)
    completion = reported(anna, nck, uploads, on=on)
    for other in (
        factories.employee(unit=anna.unit),
        factories.with_role(factories.employee(unit=anna.unit), Role.MANAGER, on_unit=anna.unit),
        factories.with_role(
            factories.employee(unit=anna.unit), Role.HR, municipality_name="Järfälla"
        ),
    ):
        client.sign_in(other)
        response = client.post_form(
            f"/my/completions/{completion.id}/date",
            {"completed_on": (on - timedelta(days=1)).isoformat()},
        )
        assert response.status_code == 404
    assert db.session.get(Completion, completion.id).completed_on == on


def test_a_verified_report_offers_no_date_change_and_refuses_one(client, uploads, anna, nck):
    done = factories.completion(anna, nck, status=CompletionStatus.VERIFIED)
    client.sign_in(anna)
    page = client.get(f"/my/completions/{done.id}").get_data(as_text=True)
    assert "/date" not in page and "Ändra datumet" not in page
    response = client.post_form(
        f"/my/completions/{done.id}/date",
        {"completed_on": (clock.today() - timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 302
    assert "redan granskad" in client.get(response.location).get_data(as_text=True)
    db.session.refresh(done)
    assert done.completed_on == clock.today() - timedelta(days=10)


# --- withdrawing asks first --------------------------------------------------------------


def test_withdrawing_asks_first_and_the_question_changes_nothing(client, uploads, anna, nck):
    completion = reported(anna, nck, uploads, on=clock.today() - timedelta(days=2))
    client.sign_in(anna)
    location = f"/my/completions/{completion.id}"
    page = client.get(location).get_data(as_text=True)
    # The report page links to the question; it has no form that withdraws at once.
    assert f'href="{location}/withdraw"' in page
    assert f'action="{location}/withdraw"' not in page

    question = client.get(f"{location}/withdraw")
    assert question.status_code == 200
    text = question.get_data(as_text=True)
    assert "Återkalla rapporten?" in text and nck.title in text
    assert f'<form method="post" action="{location}/withdraw"' in text
    assert 'value="Ja, återkalla rapporten"' in text
    assert f'href="{location}">Avbryt</a>' in text
    assert db.session.get(Completion, completion.id).status == CompletionStatus.REPORTED

    response = client.post_form(f"{location}/withdraw")
    assert response.status_code == 302 and response.location == location
    assert db.session.get(Completion, completion.id).status == CompletionStatus.WITHDRAWN


def test_a_reviewed_report_is_not_asked_about(client, anna, nck):
    done = factories.completion(anna, nck, status=CompletionStatus.VERIFIED)
    client.sign_in(anna)
    response = client.get(f"/my/completions/{done.id}/withdraw")
    assert response.status_code == 302 and response.location == f"/my/completions/{done.id}"
    assert "kan inte återkallas" in client.get(response.location).get_data(as_text=True)


# --- reporting again ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [CompletionStatus.WITHDRAWN, CompletionStatus.REJECTED])
def test_a_withdrawn_or_rejected_report_offers_to_report_again(client, anna, nck, status):
    completion = factories.completion(anna, nck, status=status)
    client.sign_in(anna)
    page = client.get(f"/my/completions/{completion.id}").get_data(as_text=True)
    assert f'href="/my/report?course={nck.id}">Rapportera igen' in page


def test_a_verified_report_does_not_offer_to_report_again(client, anna, nck):
    completion = factories.completion(anna, nck, status=CompletionStatus.VERIFIED)
    client.sign_in(anna)
    assert "Rapportera igen" not in client.get(f"/my/completions/{completion.id}").get_data(
        as_text=True
    )


def test_the_course_card_offers_to_report_again_after_a_withdrawal(client, anna, nck):
    factories.assignment(anna, nck)
    client.sign_in(anna)
    assert "Rapportera igen" not in client.get("/").get_data(as_text=True)
    factories.completion(anna, nck, status=CompletionStatus.WITHDRAWN)
    page = client.get("/").get_data(as_text=True)
    assert "Du återkallade din rapport." in page
    assert f'href="/my/report?course={nck.id}">Rapportera igen' in page


# --- "2 av 4 klara" ----------------------------------------------------------------------


def test_the_start_page_counts_the_required_courses_done(client, anna):
    courses = factories.synced_catalog()
    keys = sorted(courses)[:3]
    for key in keys:
        factories.assignment(anna, courses[key])
    client.sign_in(anna)
    assert "0 av 3 kurser klara" in client.get("/").get_data(as_text=True)
    factories.completion(anna, courses[keys[0]], status=CompletionStatus.VERIFIED)
    factories.completion(anna, courses[keys[1]], status=CompletionStatus.REPORTED)
    factories.completion(anna, courses[keys[2]], status=CompletionStatus.WITHDRAWN)
    assert "2 av 3 kurser klara" in client.get("/").get_data(as_text=True)


def test_one_required_course_is_counted_in_the_singular(client, anna, nck):
    factories.assignment(anna, nck)
    anna.preferred_language = "en"
    db.session.commit()
    client.sign_in(anna)
    assert "0 of 1 course completed" in client.get("/").get_data(as_text=True)


# --- course titles in the reader's language ----------------------------------------------


def test_course_titles_are_english_when_english_is_chosen(client, anna, nck):
    factories.assignment(anna, nck)
    completion = factories.completion(anna, nck, status=CompletionStatus.REPORTED)
    client.sign_in(anna)
    swedish = client.get("/").get_data(as_text=True)
    assert "Webbkurs om våld" in swedish and "Web course on violence" not in swedish
    anna.preferred_language = "en"
    db.session.commit()
    for path in ("/", f"/my/completions/{completion.id}", "/my/report"):
        page = client.get(path).get_data(as_text=True)
        assert "Web course on violence" in page, path
        assert "Webbkurs om våld" not in page, path


@pytest.mark.parametrize(
    ("language", "title", "other"),
    [
        ("en", "Web course on violence", "Webbkurs om våld"),
        ("sv", "Webbkurs om våld", "Web course"),
    ],
)
def test_a_mail_names_the_course_in_the_recipients_language(app, anna, nck, language, title, other):
    completion = factories.completion(anna, nck, status=CompletionStatus.REJECTED)
    mail = outbox.render_mail(
        "completion_rejected",
        language,
        employee=anna,
        completion=completion,
        course=nck,
        reason="Fel intyg",
        report_url="https://x.example/r",
        completion_url="https://x.example/c",
    )
    assert title in mail.subject and title in mail.text and title in mail.html
    assert other not in mail.subject + mail.text + mail.html
