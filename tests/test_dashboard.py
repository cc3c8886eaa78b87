"""The start page's summaries for managers, HR and coordinators: counts per unit and per
municipality, and the municipality's choice whether reported, not yet verified, completions
count as covered (they are always shown on their own)."""

from __future__ import annotations

import pytest

from tests import factories
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import CompletionStatus, Role, Sector
from training_tracker.services.core.scope import report_scope
from training_tracker.services.people import municipalities
from training_tracker.services.reporting import dashboard


@pytest.fixture()
def ifo_with_four_people():
    """Four people in IFO Järfälla, each required to take NCK's course: one verified, one
    reported, one overdue, one with time left."""
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    verified, reported, late, pending = (factories.employee(unit=ifo) for _ in range(4))
    for person in (verified, reported, pending):
        factories.assignment(person, course, due_in_days=30)
    factories.assignment(late, course, due_in_days=-5)
    factories.completion(verified, course, status=CompletionStatus.VERIFIED)
    factories.completion(reported, course, status=CompletionStatus.REPORTED)
    return ifo


def järfälla_row(user):  # type: ignore[no-untyped-def]
    (row,) = [
        r
        for r in dashboard.report_summary(db.session, report_scope(user), clock.today())
        if r.name == "Järfälla"
    ]
    return row


def test_reported_completions_count_as_covered_by_default_and_are_shown_apart(
    ifo_with_four_people,
):
    hr = factories.with_role(factories.employee(), Role.HR, municipality_name="Järfälla")

    row = järfälla_row(hr)

    assert (row.required, row.verified, row.reported, row.overdue) == (4, 1, 1, 1)
    assert row.counts_reported is True
    assert row.coverage_percent == 50


def test_a_municipality_that_counts_verified_only_sees_reported_ones_left_out(
    client, ifo_with_four_people
):
    hr = factories.with_role(factories.employee(), Role.HR, municipality_name="Järfälla")
    municipalities.update_settings(
        db.session, factories.municipality("Järfälla"), count_reported_in_coverage=False, actor=hr
    )
    db.session.commit()

    row = järfälla_row(hr)
    assert (row.verified, row.reported, row.counts_reported) == (1, 1, False)
    assert row.coverage_percent == 25

    (unit_row,) = [
        r
        for r in dashboard.people_summary(db.session, hr, clock.today())
        if r.name == "IFO Järfälla"
    ]
    assert unit_row.coverage_percent == 25

    client.sign_in(hr)
    page = client.get("/").get_data(as_text=True)
    assert "(räknas inte)" in page
    assert "25 %" in page


def test_a_leavers_overdue_course_is_not_counted(ifo_with_four_people):
    hr = factories.with_role(factories.employee(), Role.HR, municipality_name="Järfälla")
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    leaver = factories.employee(unit=ifo_with_four_people, active=False)
    factories.assignment(leaver, course, due_in_days=-50)

    row = järfälla_row(hr)

    assert (row.required, row.overdue) == (4, 1)
