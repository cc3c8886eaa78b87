"""The manager's week in a real browser, at 1,280 and 390 px: the start page shows the unit
first, with the count of reports waiting in the menu; the manager opens a review from the
start page, comes back and reminds an overdue person with one click, and the button becomes
"Påmind …". axe-core checks the pages on the way; nothing scrolls sideways on the phone."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests import factories
from tests.browser.support import (
    assert_accessible,
    assert_no_sideways_scroll,
    demo_email,
    sign_in,
)
from training_tracker import clock
from training_tracker.demo.seed import DemoResult
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    OutboxMessage,
    Role,
    RoleGrant,
)

pytestmark = pytest.mark.browser


def _staff_with_work(demo: DemoResult) -> str:
    """Makes sure the demo manager's unit has a report waiting and an overdue course nobody
    has reminded of by hand; returns the name of a colleague overdue."""
    manager = db.session.scalars(
        sa.select(Employee).where(Employee.email == demo_email(demo, "manager"))
    ).one()
    unit_id = db.session.scalars(
        sa.select(RoleGrant.unit_id).where(
            RoleGrant.employee_id == manager.id, RoleGrant.role == Role.MANAGER
        )
    ).first()
    staff = db.session.scalars(
        sa.select(Employee)
        .where(Employee.unit_id == unit_id, Employee.id != manager.id, Employee.active)
        .order_by(Employee.id)
    ).all()
    courses = db.session.scalars(sa.select(Course).order_by(Course.id)).all()
    waiting = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Completion)
        .join(Employee, Employee.id == Completion.employee_id)
        .where(
            Employee.unit_id == unit_id,
            Employee.id != manager.id,  # nobody reviews their own report
            Completion.status == CompletionStatus.REPORTED,
        )
    )
    if not waiting:
        factories.completion(staff[0], courses[0], status=CompletionStatus.REPORTED)
    taken = set(db.session.execute(sa.select(Assignment.employee_id, Assignment.course_id)))
    late, course = next(
        (person, course)
        for person in reversed(staff)
        for course in courses
        if (person.id, course.id) not in taken
    )
    factories.assignment(late, course, due_in_days=-20)  # commits
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.action == "reminder.manual_sent"))
    db.session.commit()
    name = late.full_name
    db.session.rollback()  # hold no lock while the server works
    return name


def _open_start_page(page: Any, base_url: str, demo: DemoResult) -> None:
    sign_in(page, base_url, demo_email(demo, "manager"))
    expect(page).to_have_url(f"{base_url}/")


@pytest.mark.parametrize("screen_fixture", ["page", "phone_page"])  # 1,280 and 390 px
def test_the_manager_sees_the_queue_opens_a_review_and_sends_a_reminder(
    request: pytest.FixtureRequest, live_server: str, demo: DemoResult, screen_fixture: str
) -> None:
    screen = request.getfixturevalue(screen_fixture)
    late_name = _staff_with_work(demo)
    _open_start_page(screen, live_server, demo)

    # The unit first, before the manager's own courses; the count of reports in the menu.
    headings = screen.get_by_role("heading", level=2).all_inner_texts()
    assert headings[0].startswith("Min enhet"), headings
    menu = screen.get_by_role("navigation", name="Huvudmeny")
    expect(menu.get_by_role("link", name="Att granska")).to_contain_text("rapport")
    expect(screen.locator(".key-figure").first).to_contain_text(" av ")
    assert_no_sideways_scroll(screen)
    assert_accessible(screen)

    # Open the oldest report waiting from the start page: its review page.
    reviews = screen.locator(".review-list a")
    first_review = reviews.first.inner_text()
    with screen.expect_navigation():
        reviews.first.click()
    expect(screen.get_by_role("heading", level=1)).to_be_visible()
    assert "/verify/" in screen.url, first_review
    assert_accessible(screen)

    # Back to the start page: remind the overdue colleague with one click.
    screen.goto(f"{live_server}/")
    button = screen.get_by_role("button", name=f"Påminn {late_name} om", exact=False).first
    with screen.expect_navigation():
        button.click()
    expect(screen.get_by_role("status").first).to_contain_text(f"skickas till {late_name}")
    row = screen.locator(".overdue-table tr", has_text=late_name).first
    expect(row).to_contain_text(f"Påmind {clock.today().day} ")
    assert_no_sideways_scroll(screen)
    assert_accessible(screen)
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "manual_reminder")
    )
    db.session.rollback()


def test_the_unit_page_filters_to_the_overdue_in_the_browser(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    late_name = _staff_with_work(demo)
    _open_start_page(phone_page, live_server, demo)
    with phone_page.expect_navigation():
        phone_page.get_by_role("link", name="Bara försenade i", exact=False).first.click()
    expect(phone_page.get_by_label("Visa bara personer med försenade kurser")).to_be_checked()
    expect(phone_page.get_by_role("row", name=late_name, exact=False).first).to_be_visible()
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
