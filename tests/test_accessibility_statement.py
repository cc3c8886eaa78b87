"""The accessibility statement (tillgänglighetsredogörelse) the DOS law asks for, and its form
for reporting a problem (issue #7): public pages; a report becomes one mail to the contact
address through the outbox, delivered over real SMTP; bad input stores nothing."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from tests import factories
from tests.conftest import Client, MailCatcher, count, mail_text, subject_of
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, OutboxMessage, OutboxStatus
from training_tracker.services.messaging import outbox

CONTACT = "tillganglighet@jarfalla.example"
DESCRIPTION = (
    "Knappen <Skicka rapporten> får fokus, men fokusramen syns inte i Windows kontrastläge."
)
THANKS = "Tack! Vi har tagit emot din rapport om bristen i tillgängligheten."
# Digg's template for a statement, in its order (lagen (2018:1937), Digg's regulations).
SECTIONS = [
    "Hur tillgänglig är webbtjänsten?",
    "Vad kan du göra om du inte kan använda delar av webbtjänsten?",
    "Rapportera brister i webbtjänstens tillgänglighet",
    "Tillsyn",
    "Teknisk information om webbtjänstens tillgänglighet",
    "Hur vi testat webbtjänsten",
]
DIGG_REPORT_ADDRESS = "https://www.digg.se/tdosanmalan"


class Page(HTMLParser):
    """What a test reads from a page: headings by level, links, form values and every
    address the page would load by itself."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: dict[str, list[str]] = {"h1": [], "h2": [], "h3": []}
        self.links: list[str] = []
        self.values: dict[str, str] = {}
        self.loads: list[str] = []
        self.times: list[tuple[str, str]] = []
        self._heading: str | None = None
        self._time: str | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag in self.headings:
            self._heading, self._text = tag, []
        elif tag == "time":
            self._time, self._text = found.get("datetime", ""), []
        if tag == "a":
            self.links.append(found.get("href", ""))
        if tag in ("input", "textarea") and "id" in found:
            self.values[found["id"]] = found.get("value", "")
        if "src" in found:
            self.loads.append(found["src"])
        if tag == "link":
            self.loads.append(found.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        text = " ".join("".join(self._text).split())
        if tag == self._heading:
            self.headings[tag].append(text)
            self._heading = None
        elif tag == "time" and self._time is not None:
            self.times.append((self._time, text))
            self._time = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def page_of(response: TestResponse) -> Page:
    return Page(response.get_data(as_text=True))


def text_of(response: TestResponse) -> str:
    return " ".join(response.get_data(as_text=True).split())


@pytest.fixture()
def contact(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(app.config, "ACCESSIBILITY_CONTACT_EMAIL", CONTACT)
    return CONTACT


def reports_stored() -> tuple[int, int]:
    """(outbox rows, audit events) a report leaves."""
    return (
        count(OutboxMessage),
        count(AuditEvent, AuditEvent.action == "accessibility.reported"),
    )


# --- the statement ---------------------------------------------------------------------------


def test_the_statement_is_public_with_the_sections_digg_prescribes(client: Client) -> None:
    response = client.get("/accessibility")

    assert response.status_code == 200
    page = page_of(response)
    assert page.headings["h1"] == ["Tillgänglighetsredogörelse"]
    assert page.headings["h2"] == SECTIONS
    assert page.headings["h3"] == [
        "Innehåll som inte är tillgängligt",
        "Innehåll som inte omfattas av lagkraven",
    ]
    text = text_of(response)
    # Who it covers: the service and the six municipalities behind it.
    assert "Järfälla, Sigtuna, Sollentuna, Sundbyberg, Upplands-Bro och Upplands Väsby" in text
    assert "Redogörelsen gäller hela webbtjänsten" in text


def test_the_statement_says_partly_compliant_and_lists_the_known_shortcomings(
    client: Client,
) -> None:
    text = text_of(client.get("/accessibility"))

    assert (
        "Webbtjänsten är delvis förenlig med lagen (2018:1937) om tillgänglighet till digital "
        "offentlig service" in text
    )
    assert "helt förenlig" not in text
    for shortcoming in ("Uppladdade intyg.", "Intyget i granskningen.", "Diagram."):
        assert shortcoming in text
    assert "Samma siffror finns alltid i en tabell vid diagrammet." in text


def test_the_statement_links_to_the_form_mail_and_digg_and_loads_nothing_external(
    client: Client, contact: str
) -> None:
    page = page_of(client.get("/accessibility"))

    assert "/accessibility/report" in page.links
    assert f"mailto:{contact}" in page.links
    assert DIGG_REPORT_ADDRESS in page.links
    # Digg is a link to follow, never something the page fetches.
    assert page.loads and all(address.startswith("/") for address in page.loads), page.loads


def test_the_statement_tells_how_it_was_tested_and_when_it_was_reviewed(
    client: Client, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = client.get("/accessibility")
    text = text_of(response)
    for method in ("axe-core", "enbart tangentbord", "390 pixlar bred"):
        assert method in text
    assert ("2026-11-24", "24 november 2026") in page_of(response).times

    monkeypatch.setitem(app.config, "ACCESSIBILITY_STATEMENT_REVIEWED", "2027-03-01")
    assert ("2027-03-01", "1 mars 2027") in page_of(client.get("/accessibility")).times


# --- the report form -------------------------------------------------------------------------


def test_a_report_queues_one_mail_to_the_contact_that_arrives_over_smtp(
    client: Client, contact: str, smtp_server: MailCatcher
) -> None:
    response = client.post_form(
        "/accessibility/report",
        {
            "page": "/my/report",
            "description": DESCRIPTION,
            "name": "Sara Holm",
            "email": "sara.holm@example.se",
        },
    )

    assert response.status_code == 302
    assert response.location == "/accessibility"
    assert THANKS in text_of(client.get(response.location))
    [message] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert (message.recipient_email, message.recipient_id) == (contact, None)
    assert (message.kind, message.status) == ("accessibility_report", OutboxStatus.QUEUED)
    assert DESCRIPTION in message.body_text
    assert "&lt;Skicka rapporten&gt;" in (message.body_html or "")  # escaped in the HTML part
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "accessibility.reported")
    ).all()
    assert (event.actor_id, event.object_id) == (None, message.id)
    assert event.details == {"page": "/my/report", "wants_answer": True}

    report = outbox.deliver_outbox(db.session)

    assert report.sent == 1
    [mail] = smtp_server.to(contact)
    assert smtp_server.envelopes[0][1] == [contact]
    assert subject_of(mail) == "Rapport om brist i tillgängligheten"
    body = mail_text(mail)
    assert DESCRIPTION in body
    assert "http://127.0.0.1:5000/my/report" in body  # the page, as a link of BASE_URL
    assert "Namn: Sara Holm" in body
    assert "E-post för svar: sara.holm@example.se" in body


def test_a_signed_in_person_finds_name_and_address_filled_in_and_is_the_actor(
    client: Client, contact: str
) -> None:
    person = factories.employee(first_name="Omar", last_name="Haddad")
    client.sign_in(person)

    values = page_of(client.get("/accessibility/report")).values
    assert (values["name"], values["email"]) == ("Omar Haddad", person.email)

    response = client.post_form("/accessibility/report", {"description": DESCRIPTION})
    assert response.status_code == 302
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "accessibility.reported")
    ).one()
    assert event.actor_id == person.id
    assert event.details["wants_answer"] is False  # no address given: none is mailed


def test_the_same_form_sent_twice_queues_one_mail(client: Client, contact: str) -> None:
    data = {"description": DESCRIPTION, "submission_key": "k" * 24}

    first = client.post_form("/accessibility/report", data)
    again = client.post_form("/accessibility/report", data)

    assert (first.status_code, again.status_code) == (302, 302)
    assert reports_stored() == (1, 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"description": ""}, "Beskriv bristen, så att vi kan rätta den."),
        ({"description": " \r\n "}, "Beskriv bristen, så att vi kan rätta den."),
        (
            {"description": "x" * 2001},
            "Beskrivningen får vara högst 2000 tecken; nu är den 2001.",
        ),
        (
            {"description": DESCRIPTION, "email": "sara.holm.example.se"},
            "Skriv en e-postadress som namn@exempel.se.",
        ),
        ({"description": DESCRIPTION, "page": "/" + "p" * 500}, "Högst 500 tecken."),
    ],
    ids=["empty", "only-whitespace", "too-long", "bad-email", "page-too-long"],
)
def test_bad_input_is_named_in_the_error_summary_and_nothing_is_stored(
    client: Client, contact: str, data: dict[str, str], message: str
) -> None:
    response = client.post_form("/accessibility/report", data)

    assert response.status_code == 422
    text = text_of(response)
    assert "Något behöver rättas" in text
    assert message in text
    assert reports_stored() == (0, 0)


def test_line_breaks_count_as_one_character_each(client: Client, contact: str) -> None:
    """What the person typed is 2,000 characters; the browser sends CRLF line breaks."""
    description = "a" * 999 + "\r\n" + "b" * 1000

    response = client.post_form("/accessibility/report", {"description": description})

    assert response.status_code == 302
    message = db.session.scalars(sa.select(OutboxMessage)).one()
    assert "a" * 999 + "\n" + "b" * 1000 in message.body_text


def test_reports_are_rate_limited(client: Client, contact: str) -> None:
    for _ in range(5):  # ACCESSIBILITY_REPORT_RATE_LIMIT = "5 per hour"
        assert client.post_form("/accessibility/report", {"description": "x"}).status_code == 302

    refused = client.post_form("/accessibility/report", {"description": "x"})

    assert refused.status_code == 429
    assert "För många försök på kort tid" in text_of(refused)
    assert reports_stored() == (5, 5)


@pytest.mark.parametrize(
    ("given", "prefilled"),
    [
        ("/employees/new", "/employees/new"),
        ("/reports/?municipality=2", "/reports/?municipality=2"),
        ("https://evil.example/phish", ""),
        ("//evil.example/phish", ""),
        ("/\\evil.example", ""),
        ("javascript:alert(1)", ""),
        ("/\t/evil.example", ""),
    ],
    ids=["path", "path-with-query", "other-site", "scheme-relative", "backslash", "js", "tab"],
)
def test_page_is_prefilled_only_from_a_local_path(
    client: Client, given: str, prefilled: str
) -> None:
    response = client.get("/accessibility/report", query_string={"page": given})

    assert response.status_code == 200
    assert page_of(response).values["page"] == prefilled
