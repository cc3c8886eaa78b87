"""Counts read right for one and for many ("1 försenad", "2 försenade"), in Swedish and
English: each place that shows a count through ``ngettext`` is rendered here with 1 and with 2."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template

from tests import factories
from tests.conftest import Client
from training_tracker import clock
from training_tracker.models import CompletionStatus, Role, Sector


def _staff(count: int, *, language: str = "sv"):  # type: ignore[no-untyped-def]
    """HR of a unit with ``count`` people awaiting review and ``count`` overdue."""
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, f"IFO {count}")
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    assigned = clock.utcnow() - timedelta(days=200)
    for _n in range(count):
        reported, late = factories.employee(unit=unit), factories.employee(unit=unit)
        for person, due in ((reported, 30), (late, -5)):
            factories.assignment(person, course, due_in_days=due).assigned_at = assigned
        factories.evidence(factories.completion(reported, course, status=CompletionStatus.REPORTED))
    hr = factories.employee(unit=unit, first_name="Hanna", language=language)
    return factories.with_role(hr, Role.HR, municipality_name="Järfälla")


def test_coverage_cells_say_one_reported_and_one_overdue(client: Client) -> None:
    hr = _staff(1)
    client.sign_in(hr)
    html = client.get("/reports/?view=unit").get_data(as_text=True)
    assert "1 rapporterad<" in html and "1 försenad<" in html
    assert "1 rapporterade" not in html and "1 försenade" not in html


def test_coverage_cells_say_two_reported_and_two_overdue(client: Client) -> None:
    hr = _staff(2)
    client.sign_in(hr)
    html = client.get("/reports/?view=unit").get_data(as_text=True)
    assert "2 rapporterade<" in html and "2 försenade<" in html


def test_coverage_cells_in_english(client: Client) -> None:
    hr = _staff(1, language="en")
    client.sign_in(hr)
    html = client.get("/reports/?view=unit").get_data(as_text=True)
    assert "1 reported<" in html and "1 overdue<" in html


def test_the_queue_count_and_the_bulk_result_for_one_and_for_two(client: Client) -> None:
    for count, waiting, verified in (
        (1, "1 rapport väntar.", "1 rapport godkänd."),
        (2, "2 rapporter väntar.", "2 rapporter godkända."),
    ):
        hr = _staff(count)
        client.sign_in(hr)
        queue = client.get("/verify/").get_data(as_text=True)
        assert waiting in queue
        ids = [
            line.split('value="')[1].split('"')[0]
            for line in queue.splitlines()
            if 'name="completion_ids"' in line
        ]
        assert len(ids) == count
        client.post_form("/verify/bulk", {"completion_ids": ids})
        assert verified in client.get("/verify/").get_data(as_text=True)


def test_new_hires_count_one_person_and_two_people(client: Client) -> None:
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    hr = factories.with_role(factories.employee(unit=unit), Role.HR, municipality_name="Järfälla")
    client.sign_in(hr)
    recently = clock.today() - timedelta(days=20)
    factories.employee(unit=unit, hire_date=recently)
    assert "(1 person)" in client.get("/reports/new-hires").get_data(as_text=True)
    factories.employee(unit=unit, hire_date=recently)
    assert "(2 personer)" in client.get("/reports/new-hires").get_data(as_text=True)


def test_the_weekly_digest_subject_for_one_and_for_two_overdue(app) -> None:  # type: ignore[no-untyped-def]
    def subject(overdue: int) -> str:
        with app.test_request_context():
            return render_template(
                "mail/digest.subject.txt", overdue=[object()] * overdue, soon=[object()]
            ).strip()

    assert subject(1) == "Veckans utbildningsläge: 1 försenad, 1 snart"
    assert subject(2) == "Veckans utbildningsläge: 2 försenade, 1 snart"
