"""One date format per language, on pages and in mails (text and HTML) alike: "3 december 2026"
in Swedish, "3 December 2026" in English (services.core.dates). ISO only for machines."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests import factories
from tests.conftest import Client, MailCatcher, mail_html, mail_text
from training_tracker.extensions import db
from training_tracker.models import CompletionStatus, Role, Sector
from training_tracker.services.messaging import outbox

COMPLETED = date(2026, 3, 9)
EXPECTED = {"sv": "9 mars 2026", "en": "9 March 2026"}


@pytest.mark.parametrize("language", ["sv", "en"])
def test_a_page_and_a_mail_show_the_same_date_the_same_way(
    client: Client, smtp_server: MailCatcher, language: str
) -> None:
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    person = factories.employee(unit=unit, language=language)
    completion = factories.completion(
        person, course, status=CompletionStatus.REPORTED, completed_on=COMPLETED
    )
    factories.evidence(completion)
    manager = factories.with_role(factories.employee(unit=unit), Role.MANAGER, on_unit=unit)
    client.sign_in(manager)
    client.post_form(f"/verify/{completion.id}/reject", {"reason": "Fel kurs"})
    outbox.deliver_outbox(db.session)
    (mail,) = smtp_server.to(person.email)

    client.sign_in(person)
    page = client.get(f"/my/completions/{completion.id}").get_data(as_text=True)
    shown = EXPECTED[language]
    assert f'<time datetime="2026-03-09">{shown}</time>' in page
    for body in (mail_text(mail), mail_html(mail)):
        assert shown in body
        assert "2026-03-09" not in body


def test_the_employee_page_shows_dates_as_every_other_page(client: Client) -> None:
    hr = factories.hr_staff("Järfälla")
    person = factories.employee(unit=factories.unit(), hire_date=date(2025, 8, 18))
    factories.assignment(person, factories.synced_catalog()["nck-webbkurs-om-vald"])
    factories.with_role(person, Role.MANAGER, on_unit=person.unit)  # an event in its history
    client.sign_in(hr)
    page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert "18 augusti 2025" in page and "2025-08-18</" not in page
    # Its history's moments too: the date as everywhere, then the time.
    assert not re.search(r">\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page)
    assert re.search(r">\s*\d{1,2} [a-zåäö]+ \d{4} \d{2}:\d{2}\s*<", page)
