"""Every file download answers with the headers of :mod:`training_tracker.downloads`: CSV
carries exactly one charset, and nothing downloaded is cached."""

from __future__ import annotations

import pytest

from tests import factories
from training_tracker.extensions import db
from training_tracker.models import Role, Sector
from training_tracker.services.programme import signups

CSV_ROUTES = [
    "/reports/coverage.csv",
    "/reports/new-hires.csv",
    "/audit/events.csv",
    "/team/overdue.csv",
    "/employees/import/<int:batch_id>/rejected.csv",
    "/employees/list.csv",
    "/programme/manage/report.csv",
]
XLSX_ROUTES = [
    "/reports/coverage.xlsx",
    "/reports/new-hires.xlsx",
    "/audit/events.xlsx",
    "/team/overdue.xlsx",
    "/employees/import/<int:batch_id>/rejected.xlsx",
    "/employees/list.xlsx",
    "/programme/manage/report.xlsx",
]


def test_every_csv_route_is_checked_here(app):
    csv_paths = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith(".csv")}
    assert csv_paths == set(CSV_ROUTES), "add the new CSV download to CSV_ROUTES"


def test_every_xlsx_route_is_checked_here(app):
    paths = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith(".xlsx")}
    assert paths == set(XLSX_ROUTES), "add the new XLSX download to XLSX_ROUTES"


def _sign_in_for(client, path: str) -> None:  # type: ignore[no-untyped-def]
    if path.startswith("/team/"):  # a manager's own team
        unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
        client.sign_in(
            factories.with_role(factories.employee(unit=unit), Role.MANAGER, on_unit=unit)
        )
    else:
        client.sign_in(factories.admin())


def _path(rule: str) -> str:
    """The address of a download; an import's rejected rows need an import that has them."""
    if "<int:batch_id>" not in rule:
        return rule
    content = None
    if rule.endswith(".xlsx"):
        content = factories.xlsx_file([["förnamn", "efternamn", "e-post"], ["L", "B", "x"]])
    batch = factories.import_batch("Järfälla", content, applied_with_rejections=True)
    return rule.replace("<int:batch_id>", str(batch.id))


@pytest.mark.parametrize("path", CSV_ROUTES)
def test_a_csv_download_names_one_charset(client, path):
    _sign_in_for(client, path)
    response = client.get(_path(path))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="')


@pytest.mark.parametrize("path", XLSX_ROUTES)
def test_an_xlsx_download_has_no_charset(client, path):
    _sign_in_for(client, path)
    response = client.get(_path(path))
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


def test_a_calendar_invitation_names_one_charset_and_is_not_cached(client):
    """Every .ics route is checked here."""
    assert {
        rule.rule for rule in client.application.url_map.iter_rules() if rule.rule.endswith(".ics")
    } == {"/programme/events/<int:event_id>/calendar.ics"}
    event = factories.programme_event()
    person = factories.employee(unit=factories.unit("Järfälla"))
    signups.sign_up(db.session, person, event, person)
    db.session.commit()
    client.sign_in(person)
    response = client.get(f"/programme/events/{event.id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="evenemang-{event.id}.ics"'
    )
