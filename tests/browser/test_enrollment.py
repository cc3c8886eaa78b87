"""HR's enrollment journeys in a real browser, done as a person does them: by the Swedish
labels, roles and link names on the page. A new hire by the form (with a mistake corrected on
the way, and once by keyboard only), a file from the HR system through upload, preview and
confirm, and a requirement rule with its preview. axe-core checks each page on the way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
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
from training_tracker.demo.municipalities import HOME_MUNICIPALITY
from training_tracker.demo.rules import RULE_DUE_DAYS, RULES
from training_tracker.demo.seed import DemoResult
from training_tracker.extensions import db
from training_tracker.models import (
    Course,
    Employee,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    RequirementRule,
    Sector,
    Unit,
)
from training_tracker.services.training import rules

pytestmark = pytest.mark.browser

MAIN_MENU = "Huvudmeny"
ADD_EMPLOYEE = "Lägg till anställd"
FILE_LABEL = "Fil från HR-systemet"
CREATE_UNITS = "Skapa enheterna, med sektorn du väljer"
REJECT_UNITS = "Avvisa raderna med okända enheter"
REFRESH_PREVIEW = "Uppdatera förhandsgranskningen"
BAD_EMAIL_MESSAGE = "Skriv en e-postadress som namn@kommun.se."
IMPORT_HEADER = "Förnamn;Efternamn;E-post;Enhet;Sektor;Anställningsdatum"
PREVIEW_TERMS = ["Rader i filen", "Nya anställda", "Ändras", "Oförändrade", "Avvisas"]
RESULT_TERMS = [
    "Nya anställda",
    "Ändrade",
    "Oförändrade",
    "Avvisade",
    "Nya enheter",
    "Välkomstmejl i kö",
]


# --- what the test reads from the database ---------------------------------------------------


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    sector: Sector


def _done_reading() -> None:
    """End the test's read transaction, so that it holds no lock while the server writes
    (SQLite) and the next read sees what the server committed."""
    db.session.rollback()


def _home() -> Municipality:
    return db.session.scalars(sa.select(Municipality).filter_by(code=HOME_MUNICIPALITY)).one()


def _home_units(sector: Sector) -> list[UnitInfo]:
    """The active units of one sector in HR's municipality, by name."""
    query = sa.select(Unit).where(
        Unit.municipality_id == _home().id, Unit.active, Unit.sector == sector
    )
    return [
        UnitInfo(unit.id, unit.name, unit.sector)
        for unit in db.session.scalars(query.order_by(Unit.name))
    ]


def _required_titles(sector: Sector) -> set[str]:
    """What the demo's rules require of a new hire of HR's municipality in ``sector``."""
    keys = [
        key
        for key, sectors, codes in RULES
        if sector in sectors and (codes is None or HOME_MUNICIPALITY in codes)
    ]
    return set(db.session.scalars(sa.select(Course.title).where(Course.key.in_(keys))))


def _employee_count() -> int:
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Employee))
    _done_reading()
    return int(count or 0)


# --- the pages, as a person finds things on them ----------------------------------------------


def _open_staff_list(page: Any) -> None:
    menu = page.get_by_role("navigation", name=MAIN_MENU)
    menu.get_by_role("link", name="Personal", exact=True).click()
    expect(page.get_by_role("heading", name="Personal", level=1)).to_be_visible()


def _expect_counts(where: Any, terms: list[str], values: list[int]) -> None:
    """The counts shown in ``where`` (a term and its number each), in order."""
    expect(where.get_by_role("term")).to_have_text(terms)
    expect(where.get_by_role("definition")).to_have_text([str(value) for value in values])


def _summary(page: Any) -> Any:
    return page.get_by_role("region", name="Sammanfattning")


def _tab_until_focused(page: Any, locator: Any, *, most: int = 40) -> None:
    for _press in range(most):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{most} presses of Tab never reached {locator}")


# --- 1. one new hire by the form --------------------------------------------------------------


def test_hr_enrolls_a_new_hire_and_the_welcome_mail_waits_in_the_outbox(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    unit = _home_units(Sector.SOCIAL_SERVICES)[0]
    required = _required_titles(unit.sector)
    _done_reading()
    assert required, "the demo requires courses of social services staff"
    first, last, email = "Annika", "Östberg", "annika.ostberg@jarfalla.example"
    hired = clock.today() - timedelta(days=3)

    sign_in(page, live_server, demo_email(demo, "hr"))
    _open_staff_list(page)
    assert_accessible(page)

    page.get_by_role("link", name=ADD_EMPLOYEE, exact=True).click()
    expect(page.get_by_role("heading", name=ADD_EMPLOYEE, level=1)).to_be_visible()
    invitation = page.get_by_label("Skicka välkomstmejl nu")
    expect(invitation).to_be_checked()  # the default: the welcome mail goes at once
    assert_accessible(page)

    # First with a mistake in the e-mail address.
    page.get_by_label("Förnamn", exact=True).fill(first)
    page.get_by_label("Efternamn", exact=True).fill(last)
    email_field = page.get_by_label("E-post", exact=True)
    email_field.fill("annika.ostberg.jarfalla.example")
    page.get_by_label("Enhet", exact=True).select_option(label=unit.name)
    page.get_by_label("Anställningsdatum", exact=True).fill(hired.isoformat())
    page.get_by_role("button", name="Lägg till", exact=True).click()

    summary = page.get_by_role("alert").filter(
        has=page.get_by_role("heading", name="Något behöver rättas")
    )
    expect(summary).to_be_visible()
    to_field = summary.get_by_role("link", name=f"E-post: {BAD_EMAIL_MESSAGE}")
    expect(to_field).to_have_attribute("href", "#email")
    expect(summary.get_by_role("link")).to_have_count(1)  # nothing else is wrong
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(email_field).to_have_accessible_description(re.compile(re.escape(BAD_EMAIL_MESSAGE)))
    # What was typed is kept, so only the mistake needs typing again.
    expect(page.get_by_label("Förnamn", exact=True)).to_have_value(first)
    expect(page.get_by_label("Enhet", exact=True)).to_have_value(str(unit.id))
    expect(page.get_by_label("Anställningsdatum", exact=True)).to_have_value(hired.isoformat())
    expect(invitation).to_be_checked()
    assert_accessible(page)

    to_field.click()
    expect(email_field).to_be_focused()
    email_field.fill(email)
    page.get_by_role("button", name="Lägg till", exact=True).click()

    name = f"{first} {last}"
    expect(page.get_by_role("status")).to_have_text(
        f"{name} är tillagd. {len(required)} kurser är tilldelade. "
        "Välkomstmejlet ligger i utkorgen och skickas inom kort."
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    courses = page.get_by_role("table", name=f"Kurser som krävs av {name}")
    expect(courses.get_by_role("rowheader")).to_have_count(len(required))
    assert set(courses.get_by_role("rowheader").all_inner_texts()) == required
    for title in required:
        row = courses.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=title, exact=True)
        )
        due = hired + timedelta(days=RULE_DUE_DAYS)
        expect(row.get_by_role("cell", name=factories.shown(due), exact=True)).to_be_visible()
    mails = page.get_by_role("table", name=f"Mejl till {name}")
    welcome = mails.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="Välkomstmejl med inbjudan")
    )
    expect(welcome).to_have_count(1)
    expect(welcome.get_by_role("cell", name="I kö", exact=True)).to_be_visible()
    assert_accessible(page)

    person = db.session.scalars(sa.select(Employee).filter_by(email=email)).one()
    queued = db.session.scalars(
        sa.select(OutboxMessage).filter_by(recipient_id=person.id, kind="invitation")
    ).all()
    assert [m.status for m in queued] == [OutboxStatus.QUEUED]
    assert (person.unit_id, person.hire_date) == (unit.id, hired)
    _done_reading()


# --- 2 and 3. a file from the HR system -------------------------------------------------------


@dataclass(frozen=True)
class ImportFile:
    content: bytes
    good: list[tuple[str, str]]  # (e-mail, unit name) of the rows that import as they are
    new_unit: tuple[str, str]  # (e-mail, unit name) of the row whose unit does not exist yet
    hired: date


NEW_UNIT = "Fritidsgården Provbacken"  # not a demo place, so never a demo unit


def _import_file() -> ImportFile:
    """Two good rows for units of HR's municipality, then a malformed e-mail address (line 4),
    a date that is not one (line 5) and a unit that does not exist, with its sector (line 6)."""
    school, care = _home_units(Sector.SCHOOL)[0], _home_units(Sector.HEALTH_AND_CARE)[0]
    _done_reading()
    hired = clock.today() - timedelta(days=7)
    rows = [
        ("Ida", "Lind", "ida.lind@jarfalla.example", school.name, "", hired.isoformat()),
        ("Omar", "Haddad", "omar.haddad@jarfalla.example", care.name, "", hired.isoformat()),
        ("Eva", "Berg", "eva.berg.jarfalla.example", school.name, "", hired.isoformat()),
        ("Nils", "Ek", "nils.ek@jarfalla.example", care.name, "", "31/12/2024"),
        ("Sara", "Holm", "sara.holm@jarfalla.example", NEW_UNIT, "Fritid", hired.isoformat()),
    ]
    text = "\n".join([IMPORT_HEADER, *(";".join(row) for row in rows)]) + "\n"
    return ImportFile(
        content=text.encode("utf-8"),
        good=[(rows[0][2], school.name), (rows[1][2], care.name)],
        new_unit=(rows[4][2], NEW_UNIT),
        hired=hired,
    )


def _upload(page: Any, file: ImportFile, name: str = "personal.csv") -> None:
    page.get_by_label(FILE_LABEL, exact=True).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": file.content}]
    )
    page.get_by_role("button", name="Läs in och förhandsgranska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Förhandsgranskning: {name}")


def _expect_rejected_rows(page: Any, expected: list[tuple[str, str, str]]) -> None:
    """Each rejected row: its line number, the column and the reason in Swedish."""
    table = page.get_by_role("table", name="Rader som avvisas, med kolumn och orsak")
    rows = table.get_by_role("row").filter(has=page.get_by_role("rowheader"))
    expect(rows).to_have_count(len(expected))
    for row, (line, column, reason) in zip(rows.all(), expected, strict=True):
        expect(row.get_by_role("rowheader")).to_have_text(line)
        cells = row.get_by_role("cell")
        expect(cells.nth(0)).to_have_text(column)
        expect(cells.nth(1)).to_have_text(reason)


def test_hr_imports_a_file_reads_the_preview_and_confirms(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    file = _import_file()
    before = _employee_count()

    sign_in(page, live_server, demo_email(demo, "hr"))
    _open_staff_list(page)
    page.get_by_role("link", name="Importera från HR-system", exact=True).click()
    expect(page.get_by_role("heading", name="Importera personal från HR-systemet")).to_be_visible()
    assert_accessible(page)

    _upload(page, file)
    _expect_counts(_summary(page), PREVIEW_TERMS, [5, 2, 0, 0, 3])
    _expect_rejected_rows(
        page,
        [
            ("4", "E-post", "är inte en giltig e-postadress"),
            ("5", "Anställningsdatum", "är inte ett datum (ÅÅÅÅ-MM-DD)"),
            ("6", "Enhet", "okänd enhet"),
        ],
    )
    # The unknown unit is listed, with the sector from the file; its row is rejected unless
    # HR chooses to create it.
    new_units = page.get_by_role("table", name="Enheter som inte finns")
    expect(new_units.get_by_role("row", name=re.compile(NEW_UNIT))).to_contain_text("Fritid")
    expect(page.get_by_label(REJECT_UNITS)).to_be_checked()
    assert_accessible(page)
    assert _employee_count() == before, "the preview wrote nothing"

    page.get_by_label(CREATE_UNITS).check()
    page.get_by_role("button", name=REFRESH_PREVIEW).click()
    _expect_counts(_summary(page), PREVIEW_TERMS, [5, 3, 0, 0, 2])
    expect(page.get_by_label(CREATE_UNITS)).to_be_checked()
    expect(new_units.get_by_role("row", name=re.compile(NEW_UNIT))).to_contain_text("Fritid")
    _expect_rejected_rows(
        page,
        [
            ("4", "E-post", "är inte en giltig e-postadress"),
            ("5", "Anställningsdatum", "är inte ett datum (ÅÅÅÅ-MM-DD)"),
        ],
    )
    assert_accessible(page)
    assert _employee_count() == before, "nor did refreshing it"

    page.get_by_role("button", name="Importera 3 rader").click()
    expect(page.get_by_role("status")).to_have_text("Importen är klar.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import av personal.csv")
    _expect_counts(page.get_by_role("main"), RESULT_TERMS, [3, 0, 0, 2, 1, 3])
    assert_accessible(page)

    assert _employee_count() == before + 3
    imported = {
        person.email: (person.unit.name, person.unit.sector, person.hire_date)
        for person in db.session.scalars(
            sa.select(Employee).where(
                Employee.email.in_([e for e, _u in [*file.good, file.new_unit]])
            )
        )
    }
    _done_reading()
    assert {email: unit for email, (unit, _s, _h) in imported.items()} == dict(
        [*file.good, file.new_unit]
    )
    assert imported[file.new_unit[0]][1] == Sector.LEISURE
    assert {hired for _u, _s, hired in imported.values()} == {file.hired}


def test_import_preview_fits_a_phone(phone_page: Any, live_server: str, demo: DemoResult) -> None:
    page = phone_page
    file = _import_file()
    sign_in(page, live_server, demo_email(demo, "hr"))
    page.goto(f"{live_server}/employees/import/")
    _upload(page, file)
    _expect_counts(_summary(page), PREVIEW_TERMS, [5, 2, 0, 0, 3])
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    page.get_by_label(CREATE_UNITS).check()
    page.get_by_role("button", name=REFRESH_PREVIEW).click()
    _expect_counts(_summary(page), PREVIEW_TERMS, [5, 3, 0, 0, 2])
    assert_no_sideways_scroll(page)
    assert_accessible(page)


# --- 4. a requirement rule, previewed before it is saved -------------------------------------


def test_hr_previews_a_rules_reach_and_saves_it(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    home = _home()
    course = db.session.scalars(sa.select(Course).filter_by(key="nck-webbkurs-om-vald")).one()
    title, sector = course.title, Sector.SCHOOL
    reach = rules.rule_reach(
        db.session,
        rules.RuleData(
            course_id=course.id,
            municipality_id=home.id,
            sector=sector,
            unit_id=None,
            due_days=course.due_days,
            applies_from=clock.today(),
        ),
    )
    rules_before = db.session.scalar(sa.select(sa.func.count()).select_from(RequirementRule))
    home_name = home.name
    _done_reading()
    # School staff are already required to take it, so some have: both numbers say something.
    assert 0 < reach.not_completed < reach.employees

    sign_in(page, live_server, demo_email(demo, "hr"))
    menu = page.get_by_role("navigation", name=MAIN_MENU)
    menu.get_by_role("link", name="Utbildningskrav", exact=True).click()
    expect(page.get_by_role("heading", name="Utbildningskrav", level=1)).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Ny regel", exact=True).click()
    expect(page.get_by_role("heading", name="Ny regel", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Kurs", exact=True).select_option(label=title)
    page.get_by_label("Sektor", exact=True).select_option(label=sector.label)
    page.get_by_role("button", name="Förhandsgranska", exact=True).click()

    preview = page.get_by_role("status").filter(
        has=page.get_by_role("heading", name="Förhandsgranskning")
    )
    expect(preview).to_contain_text(
        f"Regeln gäller {reach.employees} anställda. "
        f"{reach.not_completed} av dem har inte gått kursen."
    )
    expect(preview).to_contain_text("Inget är sparat ännu.")
    expect(page.get_by_label("Kurs", exact=True)).to_have_value(str(course.id))
    expect(page.get_by_label("Sektor", exact=True)).to_have_value(sector.value)
    assert_accessible(page)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RequirementRule)) == (
        rules_before
    ), "the preview saved nothing"
    _done_reading()

    page.get_by_role("button", name="Spara", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Regeln är sparad.")
    in_force = page.get_by_role("table", name=re.compile(r"^Gällande regler"))
    saved = (
        in_force.get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=re.compile(re.escape(title))))
        .filter(has_text=home_name)
        .filter(has_text=sector.label)
    )
    expect(saved).to_have_count(1)
    expect(saved.get_by_role("link", name=f"Ändra regeln för {title}")).to_be_visible()
    assert_accessible(page)

    rule = db.session.scalars(
        sa.select(RequirementRule).filter_by(
            course_id=course.id, municipality_id=home.id, sector=sector
        )
    ).one()
    assert (rule.unit_id, rule.for_new_hires, rule.for_existing_staff) == (None, True, True)
    _done_reading()


# --- 5. a new hire by keyboard alone ----------------------------------------------------------


def test_hr_enrolls_a_new_hire_with_the_keyboard_only(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    unit = _home_units(Sector.HEALTH_AND_CARE)[0]
    _done_reading()
    first, last, email = "Kerstin", "Åkesson", "kerstin.akesson@jarfalla.example"
    sign_in(page, live_server, demo_email(demo, "hr"))
    expect(page).to_have_url(f"{live_server}/")

    staff = page.get_by_role("navigation", name=MAIN_MENU).get_by_role("link", name="Personal")
    _tab_until_focused(page, staff)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Personal", level=1)).to_be_visible()
    _tab_until_focused(page, page.get_by_role("link", name=ADD_EMPLOYEE, exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=ADD_EMPLOYEE, level=1)).to_be_visible()

    _tab_until_focused(page, page.get_by_label("Förnamn", exact=True))
    page.keyboard.type(first)
    for label, text in (("Efternamn", last), ("E-post", email)):
        page.keyboard.press("Tab")
        expect(page.get_by_label(label, exact=True)).to_be_focused()
        page.keyboard.type(text)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Språk", exact=True)).to_be_focused()  # Svenska stays
    page.keyboard.press("Tab")
    unit_field = page.get_by_label("Enhet", exact=True)
    expect(unit_field).to_be_focused()
    # A closed list jumps to the first option that starts with what is typed. (A space would
    # open the list instead, so the first word is what a person types here; and only up to
    # its first å, ä or ö: Playwright's keyboard has no such key, and the text it sends for
    # one moves the focus out of the list.)
    word = re.match(r"[A-Za-z-]+", unit.name.split()[0]).group()  # type: ignore[union-attr]
    page.keyboard.type(word)
    expect(unit_field).not_to_have_value("")
    chosen = unit_field.evaluate("select => select.selectedOptions[0].textContent.trim()")
    assert chosen.startswith(word), (word, chosen)
    page.keyboard.press("Tab")
    hire_date = page.get_by_label("Anställningsdatum", exact=True)
    expect(hire_date).to_be_focused()
    expect(hire_date).to_have_value(clock.today().isoformat())  # starts today, as filled in

    # Hold the welcome mail this time: Space unticks the box.
    invitation = page.get_by_label("Skicka välkomstmejl nu")
    _tab_until_focused(page, invitation)
    page.keyboard.press("Space")
    expect(invitation).not_to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Lägg till", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    added = re.compile(
        rf"^{first} {last} är tillagd\. (\d+) kurser är tilldelade\. "
        r"Inget välkomstmejl är skickat; du kan skicka det från personens sida\.$"
    )
    expect(page.get_by_role("status")).to_have_text(added)
    match = added.match(page.get_by_role("status").inner_text().strip())
    assert match
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{first} {last}")
    expect(
        page.get_by_role("region", name="Utskick").get_by_text("Inga mejl till personen ännu.")
    ).to_be_visible()
    person = db.session.scalars(sa.select(Employee).filter_by(email=email)).one()
    assert (person.unit.name, person.hire_date, person.invited_at) == (chosen, clock.today(), None)
    assert int(match.group(1)) == len(_required_titles(person.unit.sector))
    _done_reading()
