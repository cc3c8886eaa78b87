"""The joint programme in a real browser (issue #20): an employee signs up for a lecture of the
November campaign on a desktop; the organiser, on a phone, takes attendance with "everyone
with a place", and the employee's completion of the course follows. axe-core checks every
page on the way, and the organiser's pages at both widths."""

from __future__ import annotations

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
from training_tracker.demo.seed import DemoResult
from training_tracker.extensions import db
from training_tracker.models import (
    Completion,
    CompletionStatus,
    Employee,
    OutboxMessage,
    ProgrammeAttendance,
    ProgrammeEvent,
    ProgrammeRegistration,
    RegistrationStatus,
)
from training_tracker.services.programme import signups

pytestmark = pytest.mark.browser

LECTURE = "Att ställa frågan om våld"  # counts as NCK's web course


def test_sign_up_on_a_desktop_then_attendance_on_a_phone(
    page: Any, phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    # The employee finds the lecture in the programme and signs up.
    sign_in(page, live_server, demo_email(demo, "employee"))
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Programmet").click()
    expect(page.get_by_role("heading", name="Gemensamma programmet", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=LECTURE).click()
    expect(page.get_by_text("Visas när du har en plats.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Anmäl dig").click()
    expect(page.get_by_text("Du har en plats. En bekräftelse")).to_be_visible()
    expect(page.get_by_role("link", name="Hämta kalenderinbjudan (.ics)")).to_be_visible()
    assert_accessible(page)

    # The organiser, on a phone, opens the session's attendance list and takes everyone.
    sign_in(phone_page, live_server, demo_email(demo, "organiser"))
    phone_page.goto(f"{live_server}/programme/manage/")
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
    phone_page.get_by_role("link", name=LECTURE).click()
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
    phone_page.get_by_role("link", name="Närvaro").first.click()
    expect(phone_page.get_by_text("Kod för självincheckning")).to_be_visible()
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
    employee = db.session.scalars(
        sa.select(Employee).where(Employee.email == demo_email(demo, "employee"))
    ).one()
    own_box = phone_page.get_by_role("checkbox", name=employee.full_name)
    expect(own_box).not_to_be_checked()
    phone_page.get_by_role("checkbox", name="Alla med plats").check()
    expect(own_box).to_be_checked()  # the script ticks every box
    phone_page.get_by_role("button", name="Registrera närvaro").click()
    expect(phone_page.get_by_text("närvarande registrerade")).to_be_visible()
    expect(phone_page.get_by_role("checkbox", name=employee.full_name)).to_be_disabled()
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)

    db.session.expire_all()
    event = db.session.scalars(
        sa.select(ProgrammeEvent).where(ProgrammeEvent.title == LECTURE)
    ).one()
    assert db.session.scalar(
        sa.select(sa.func.count()).where(
            ProgrammeAttendance.employee_id == employee.id,
            ProgrammeAttendance.session_id == event.sessions[0].id,
        )
    )
    completion = db.session.scalars(
        sa.select(Completion).where(
            Completion.employee_id == employee.id, Completion.course_id == event.course_id
        )
    ).one()
    assert completion.status == CompletionStatus.VERIFIED


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_programme_pages_are_accessible_at_both_widths(
    page: Any, phone_page: Any, live_server: str, demo: DemoResult, width: str
) -> None:
    browser_page = page if width == "desktop" else phone_page
    event = db.session.scalars(sa.select(ProgrammeEvent).order_by(ProgrammeEvent.id)).first()
    assert event is not None
    year = event.sessions[0].starts_at.year
    sign_in(browser_page, live_server, demo_email(demo, "organiser"))
    paths = [
        "/programme/",
        f"/programme/kampanj/{year}",
        f"/programme/events/{event.id}",
        "/programme/manage/",
        "/programme/manage/new",
        f"/programme/manage/{event.id}",
        f"/programme/manage/{event.id}/edit",
        f"/programme/manage/{event.id}/sessions/{event.sessions[0].id}/attendance",
        f"/programme/manage/{event.id}/sessions/{event.sessions[0].id}/edit",
        f"/programme/manage/{event.id}/cancel",
        "/programme/checkin",
        "/programme/manage/report",
    ]
    problems = []
    for path in paths:
        response = browser_page.goto(f"{live_server}{path}")
        assert response is not None and response.ok, path
        assert_no_sideways_scroll(browser_page)
        try:
            assert_accessible(browser_page)
        except AssertionError as error:
            problems.append(f"{path}: {error}")
    assert not problems, "\n".join(problems)


def test_a_manager_approves_a_sign_up_from_the_mails_link_on_a_phone(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    """An employee's sign-up to an event that asks for approval: the manager opens the page the
    mail links to, on a phone, and approves; the employee then has a place."""
    manager = db.session.scalars(
        sa.select(Employee).where(Employee.email == demo_email(demo, "manager"))
    ).one()
    employee = db.session.scalars(
        sa.select(Employee).where(Employee.email == demo_email(demo, "employee"))
    ).one()
    event = db.session.scalars(
        sa.select(ProgrammeEvent).where(ProgrammeEvent.title == LECTURE)
    ).one()
    event.requires_approval = True
    registration = signups.sign_up(db.session, employee, event, employee)
    db.session.commit()
    assert registration.status == RegistrationStatus.PENDING
    link = db.session.scalars(
        sa.select(OutboxMessage.body_text).where(
            OutboxMessage.recipient_id == manager.id, OutboxMessage.kind == "programme_approval"
        )
    ).one()
    assert f"/programme/approvals/{registration.id}" in link

    sign_in(phone_page, live_server, manager.email)
    phone_page.goto(f"{live_server}/programme/approvals/{registration.id}")
    expect(phone_page.get_by_text(employee.full_name).first).to_be_visible()
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
    phone_page.get_by_role("button", name="Godkänn", exact=True).click()
    expect(phone_page.get_by_text(f"{employee.full_name} har en plats.").first).to_be_visible()
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
    db.session.expire_all()
    assert db.session.get(ProgrammeRegistration, registration.id).status == (
        RegistrationStatus.CONFIRMED
    )
