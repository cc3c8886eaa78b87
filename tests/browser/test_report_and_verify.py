"""The daily loop in a real browser on a phone-sized screen: an employee reports a course with
a PDF certificate and sees it awaiting verification; their manager opens it from "Att granska",
sees what the certificate says and verifies it; the employee then sees the course verified.
axe-core checks every page on the way."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.support import (
    assert_accessible,
    assert_no_sideways_scroll,
    demo_email,
    sign_in,
)
from tests.samples import certificate_pdf
from training_tracker import clock
from training_tracker.demo.seed import DemoResult
from training_tracker.extensions import db
from training_tracker.models import Assignment, Completion, CompletionStatus, Course, Employee

pytestmark = pytest.mark.browser

MAIN_MENU = "Huvudmeny"


def _first_open_course(email: str) -> tuple[str, str]:
    """(the employee's full name, the title of a course required of them)."""
    employee = db.session.scalars(sa.select(Employee).where(Employee.email == email)).one()
    title = db.session.scalars(
        sa.select(Course.title)
        .join(Assignment, Assignment.course_id == Course.id)
        .where(
            Assignment.employee_id == employee.id,
            Assignment.removed_at.is_(None),
            Course.issues_certificate,
        )
        .order_by(Assignment.due_date, Course.title)
    ).first()
    name = employee.full_name
    db.session.rollback()  # hold no lock while the server writes
    assert title is not None, "the demo employee has no course to report"
    return name, title


def _status_of_latest_report(email: str) -> CompletionStatus:
    status = db.session.scalars(
        sa.select(Completion.status)
        .join(Employee, Employee.id == Completion.employee_id)
        .where(Employee.email == email)
        .order_by(Completion.id.desc())
    ).first()
    db.session.rollback()
    assert status is not None
    return status


def _sign_out(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Logga ut").click()


def _open_report_of(page: Any, name: str, title: str) -> None:
    """Open a report from the queue: the row of that person and course, by its name link."""
    row = (
        page.get_by_role("row")
        .filter(has_text=title)
        .filter(has=page.get_by_role("rowheader", name=name))
    )
    row.get_by_role("link", name=name, exact=True).click()


def _check_page(page: Any) -> None:
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def test_report_on_a_phone_then_the_manager_verifies_it(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    page = phone_page
    employee_email = demo_email(demo, "employee")
    name, title = _first_open_course(employee_email)

    # The employee reports the course from their start page.
    sign_in(page, live_server, employee_email)
    expect(page.get_by_role("heading", name="Mina utbildningar")).to_be_visible()
    _check_page(page)
    page.get_by_role("link", name=f"Rapportera att du är klar {title}").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # The course the link was for is already chosen.
    expect(page.get_by_label("Kurs", exact=True).locator("option:checked")).to_have_text(title)
    _check_page(page)
    today = clock.today().isoformat()
    page.get_by_label("Datum då du blev klar").fill(today)
    page.get_by_label("Intyg", exact=True).set_input_files(
        {
            "name": "intyg.pdf",
            "mimeType": "application/pdf",
            "buffer": certificate_pdf(
                ["Intyg", name, f"har genomfört webbkursen {title}", f"Datum: {today}"]
            ),
        }
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka rapporten").click()
    expect(page.get_by_text("Tack! Din rapport väntar på att godkännas.")).to_be_visible()
    expect(page.get_by_text("Rapporterad, väntar på godkännande").first).to_be_visible()
    _check_page(page)
    assert _status_of_latest_report(employee_email) == CompletionStatus.REPORTED
    _sign_out(page)

    # The manager finds it in "Att granska", looks at what the certificate says, verifies it.
    sign_in(page, live_server, demo_email(demo, "manager"))
    page.get_by_role("navigation", name=MAIN_MENU).get_by_role("link", name="Att granska").click()
    expect(page.get_by_role("heading", name="Att granska", level=1)).to_be_visible()
    _check_page(page)
    _open_report_of(page, name, title)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{name}: {title}")
    # What reading the certificate found: name, course and date, each in words.
    expect(page.locator("dl.reading").get_by_role("definition")).to_have_text(
        [
            re.compile(r"Finns på intyget\s*$"),
            re.compile(r"Kursens titel finns på intyget\s*$"),
            re.compile(r"Samma datum finns på intyget\s*$"),
        ]
    )
    _check_page(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Godkänn", exact=True).click()
    expect(page.get_by_text(f"Rapporten från {name} är godkänd.")).to_be_visible()
    _check_page(page)
    assert _status_of_latest_report(employee_email) == CompletionStatus.VERIFIED
    # The manager's own mail setting: the weekly digest, switched off and on again.
    page.goto(f"{live_server}/settings/notifications")
    digest = page.get_by_label("Skicka mig veckosammanfattningen")
    expect(digest).to_be_checked()
    _check_page(page)
    digest.uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text("Du får inte längre veckosammanfattningen.")).to_be_visible()
    expect(page.get_by_label("Skicka mig veckosammanfattningen")).not_to_be_checked()
    _sign_out(page)

    # The employee sees the course verified.
    sign_in(page, live_server, employee_email)
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=title))
    expect(card.get_by_text("Klar och godkänd")).to_be_visible()
    _check_page(page)


def test_a_manager_rejects_with_a_reason_the_employee_then_reads(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    """The reason is required; once given, the employee sees it on their report."""
    employee_email = demo_email(demo, "employee")
    name, title = _first_open_course(employee_email)
    sign_in(page, live_server, employee_email)
    page.get_by_role("link", name=f"Rapportera att du är klar {title}").click()
    page.get_by_label("Datum då du blev klar").fill(clock.today().isoformat())
    page.get_by_label("Intyg", exact=True).set_input_files(
        {"name": "foto.pdf", "mimeType": "application/pdf", "buffer": certificate_pdf(["Foto"])}
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka rapporten").click()
    _sign_out(page)

    sign_in(page, live_server, demo_email(demo, "manager"))
    page.goto(f"{live_server}/verify/")
    _open_report_of(page, name, title)
    expect(page.get_by_text("Namn").first).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Avvisa").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Skriv varför rapporten avvisas")
    _check_page(page)
    page.get_by_label("Skäl till att rapporten avvisas").fill("Intyget saknar ditt namn.")
    with page.expect_navigation():
        page.get_by_role("button", name="Avvisa").click()
    expect(page.get_by_text(f"Rapporten från {name} är avvisad.")).to_be_visible()
    assert _status_of_latest_report(employee_email) == CompletionStatus.REJECTED
    _sign_out(page)

    sign_in(page, live_server, employee_email)
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=title))
    expect(card.get_by_text("Rapporten avvisades", exact=True)).to_be_visible()
    expect(card.get_by_role("link", name="Rapportera igen")).to_be_visible()
