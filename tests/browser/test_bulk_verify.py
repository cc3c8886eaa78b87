"""Bulk approval in a real browser, at 1,280 and 390 px: HR ticks two reports in "Att granska"
and approves them at once; the one with its certificate is approved, the one without (for a
course that gives one) stays waiting, and the message names it. The queue marks the missing
certificate before anyone ticks it. axe-core checks each page; nothing scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.support import assert_accessible, assert_no_sideways_scroll, sign_in
from tests.samples import certificate_pdf
from training_tracker.extensions import db
from training_tracker.models import Completion, CompletionStatus, Sector

pytestmark = pytest.mark.browser


def _two_reports() -> tuple[str, str, int, int]:
    """Two reports of a course that gives a certificate, in Järfälla: Ann's with it, Bo's
    without. Returns the two names and the two reports' ids."""
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    assert course.issues_certificate
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    ann = factories.employee(unit=unit, first_name="Ann", last_name="Ek")
    bo = factories.employee(unit=unit, first_name="Bo", last_name="Lind")
    with_certificate = factories.completion(ann, course, status=CompletionStatus.REPORTED)
    factories.evidence(
        with_certificate,
        certificate_pdf(["Intyg", ann.full_name, f"har genomfört {course.title}"]),
    )
    without = factories.completion(bo, course, status=CompletionStatus.REPORTED)
    names = (ann.full_name, bo.full_name, with_certificate.id, without.id)
    db.session.rollback()  # hold no lock while the server works
    return names


def _status(completion_id: int) -> CompletionStatus:
    status = db.session.get(Completion, completion_id).status  # type: ignore[union-attr]
    db.session.rollback()
    return status


@pytest.mark.parametrize("screen_fixture", ["page", "phone_page"])  # 1,280 and 390 px
def test_bulk_approval_leaves_a_report_without_its_certificate_waiting(
    screen_fixture: str, request: pytest.FixtureRequest, live_server: str
) -> None:
    page = request.getfixturevalue(screen_fixture)
    ann, bo, ann_report, bo_report = _two_reports()
    hr = factories.hr_staff("Järfälla")
    email = hr.email
    db.session.rollback()
    sign_in(page, live_server, email, factories.PASSWORD)
    page.goto(f"{live_server}/verify/")
    expect(page.get_by_role("heading", name="Att granska", level=1)).to_be_visible()
    bo_row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=bo))
    expect(bo_row).to_contain_text("Inget intyg")
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    for name in (ann, bo):
        page.get_by_label(f"Markera {name}", exact=False).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Godkänn markerade").click()

    expect(page.get_by_text("1 rapport godkänd.")).to_be_visible()
    refused = page.get_by_role("alert")
    expect(refused).to_contain_text("1 rapport godkändes inte, eftersom intyget saknas")
    expect(refused).to_contain_text(bo)
    # Bo's report is still in the queue, Ann's is not.
    expect(page.get_by_role("rowheader", name=bo)).to_be_visible()
    expect(page.get_by_role("rowheader", name=ann)).to_have_count(0)
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    assert _status(ann_report) == CompletionStatus.VERIFIED
    assert _status(bo_report) == CompletionStatus.REPORTED
