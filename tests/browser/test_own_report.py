"""An employee's own report, after sending it, in a real browser at 390 and 1280 px (issue
#17): the date field starts empty and says so when left empty; once reported, the date can be
corrected while the report awaits review, the certificate opens, withdrawing asks first, and
the course can be reported again. axe-core checks every page on the way, and none scrolls
sideways."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.support import assert_accessible, assert_no_sideways_scroll, demo_email, sign_in
from tests.samples import certificate_pdf
from training_tracker import clock
from training_tracker.demo.seed import DemoResult
from training_tracker.extensions import db
from training_tracker.models import Assignment, Completion, CompletionStatus, Course, Employee

pytestmark = pytest.mark.browser


def _open_course(email: str) -> tuple[str, str, int]:
    """(the employee's full name, the title and id of a course required of them that issues
    a certificate)."""
    employee = db.session.scalars(sa.select(Employee).where(Employee.email == email)).one()
    course = db.session.scalars(
        sa.select(Course)
        .join(Assignment, Assignment.course_id == Course.id)
        .where(
            Assignment.employee_id == employee.id,
            Assignment.removed_at.is_(None),
            Course.issues_certificate,
        )
        .order_by(Assignment.due_date, Course.title)
    ).first()
    assert course is not None, "the demo employee has no course to report"
    found = (employee.full_name, course.title, course.id)
    db.session.rollback()  # hold no lock while the server writes
    return found


def _latest(email: str) -> tuple[CompletionStatus, str]:
    completion = db.session.scalars(
        sa.select(Completion)
        .join(Employee, Employee.id == Completion.employee_id)
        .where(Employee.email == email)
        .order_by(Completion.id.desc())
    ).first()
    assert completion is not None
    found = (completion.status, completion.completed_on.isoformat())
    db.session.rollback()
    return found


def _check(page: Any) -> None:
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def _journey(page: Any, base: str, email: str) -> None:
    name, title, course_id = _open_course(email)
    wrong = (clock.today() - timedelta(days=1)).isoformat()
    right = (clock.today() - timedelta(days=4)).isoformat()
    page.goto(f"{base}/my/report?course={course_id}")
    expect(page.get_by_label("Kurs", exact=True).locator("option:checked")).to_have_text(title)
    date_field = page.get_by_label("Datum då du blev klar")
    expect(date_field).to_have_value("")
    _check(page)

    certificate = {
        "name": "intyg.pdf",
        "mimeType": "application/pdf",
        "buffer": certificate_pdf(
            ["Intyg", name, f"har genomfört webbkursen {title}", f"Datum: {right}"]
        ),
    }
    # Sent without a date: the summary names what is missing and leads to the field.
    page.get_by_label("Intyg", exact=True).set_input_files(certificate)
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka rapporten").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Ange datumet då du blev klar med kursen.")
    _check(page)

    # Reported, with the wrong day.
    page.get_by_label("Datum då du blev klar").fill(wrong)
    page.get_by_label("Intyg", exact=True).set_input_files(certificate)
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka rapporten").click()
    expect(page.get_by_text("Tack! Din rapport väntar på att godkännas.")).to_be_visible()
    assert _latest(email) == (CompletionStatus.REPORTED, wrong)
    _check(page)

    # The date corrected while the report awaits review.
    corrected = page.get_by_label("Rätt datum då du blev klar")
    expect(corrected).to_have_value(wrong)
    corrected.fill(right)
    with page.expect_navigation():
        page.get_by_role("button", name="Ändra datumet").click()
    expect(page.get_by_text("Datumet är ändrat.")).to_be_visible()
    expect(page.locator(f'dd time[datetime="{right}"]')).to_be_visible()
    assert _latest(email) == (CompletionStatus.REPORTED, right)
    _check(page)

    # The own certificate opens from the report.
    link = page.get_by_role("link", name="Öppna intyget (intyg.pdf)")
    opened = page.request.get(f"{base}{link.get_attribute('href')}")
    assert opened.status == 200 and opened.headers["content-type"] == "application/pdf"

    # Withdrawing asks first; the question changes nothing.
    page.get_by_role("link", name="Återkalla rapporten").click()
    expect(page.get_by_role("heading", name="Återkalla rapporten?", level=1)).to_be_visible()
    expect(page.get_by_text(f"Du återkallar din rapport om {title}")).to_be_visible()
    _check(page)
    page.get_by_role("link", name="Avbryt").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    assert _latest(email)[0] == CompletionStatus.REPORTED
    page.get_by_role("link", name="Återkalla rapporten").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Ja, återkalla rapporten").click()
    expect(page.get_by_text("Rapporten är återkallad.", exact=True)).to_be_visible()
    assert _latest(email)[0] == CompletionStatus.WITHDRAWN
    _check(page)

    # Reported again, from the withdrawn report.
    page.get_by_role("link", name=f"Rapportera igen {title}").click()
    expect(page.get_by_label("Kurs", exact=True).locator("option:checked")).to_have_text(title)
    expect(page.get_by_label("Datum då du blev klar")).to_have_value("")

    # The start page offers it again too, and counts what is done.
    page.goto(f"{base}/")
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=title))
    expect(card.get_by_role("link", name=f"Rapportera igen {title}")).to_be_visible()
    expect(page.locator(".progress-summary")).to_contain_text(" av ")
    _check(page)


def test_an_employee_corrects_withdraws_and_reports_again_at_both_widths(
    phone_page: Any, page: Any, live_server: str, demo: DemoResult
) -> None:
    email = demo_email(demo, "employee")
    for browser_page in (phone_page, page):
        sign_in(browser_page, live_server, email)
        _journey(browser_page, live_server, email)
