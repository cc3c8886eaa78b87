"""HR's import preview and group recording in a real browser, at desktop and phone width
(issue #17): the preview lists who will be added and asks a sector for each new unit, the
result hands the rejected rows back as a file, the group's attendee list narrows as one types
and "tick everyone shown" ticks only those shown; the audit log reads on a phone. axe-core
checks each page on the way."""

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
from training_tracker.demo.municipalities import HOME_MUNICIPALITY
from training_tracker.demo.seed import DemoResult
from training_tracker.extensions import db
from training_tracker.models import Employee, Municipality, Sector, Unit
from training_tracker.services.people.scim import tokens, users

pytestmark = pytest.mark.browser

NEW_UNIT = "Fritidsgården Provbacken"  # not a demo place, so never a demo unit
HEADER = "Förnamn;Efternamn;E-post;Enhet;Anställningsdatum"


def _home_unit() -> str:
    home = db.session.scalars(sa.select(Municipality).filter_by(code=HOME_MUNICIPALITY)).one()
    name = db.session.scalars(
        sa.select(Unit.name)
        .where(Unit.municipality_id == home.id, Unit.active, Unit.sector == Sector.SCHOOL)
        .order_by(Unit.name)
    ).first()
    db.session.rollback()  # hold no lock while the server writes
    assert name
    return name


def _import_file(unit: str) -> bytes:
    """A known unit's new hire, a bad e-mail address (line 3), and a unit that does not exist,
    without a sector (line 4)."""
    rows = [
        f"Ida;Lind;ida.lind@jarfalla.example;{unit};2026-11-02",
        f"Eva;Berg;eva.berg.jarfalla.example;{unit};2026-11-02",
        f"Sara;Holm;sara.holm@jarfalla.example;{NEW_UNIT};2026-11-02",
    ]
    return ("\n".join([HEADER, *rows]) + "\n").encode("cp1252")


def _upload(page: Any, content: bytes) -> None:
    page.get_by_label("Fil från HR-systemet", exact=True).set_input_files(
        files=[{"name": "personal.csv", "mimeType": "text/csv", "buffer": content}]
    )
    # Hold the upload back (after app.js has seen it) until the progress bar has been seen.
    page.evaluate("() => document.addEventListener('submit', e => e.preventDefault())")
    page.get_by_role("button", name="Läs in och förhandsgranska").click()
    progress = page.get_by_role("progressbar", name="Filen läses in")
    expect(progress).to_be_visible()
    expect(page.get_by_role("status").filter(has=progress)).to_contain_text("Läser in filen")
    with page.expect_navigation():
        page.evaluate(
            "() => HTMLFormElement.prototype.submit.call(document.querySelector('form[enctype]'))"
        )
    expect(page.get_by_role("heading", level=1)).to_have_text("Förhandsgranskning: personal.csv")


def _sector_choice(page: Any) -> Any:
    return page.get_by_label(re.compile(f"Sektor för {NEW_UNIT}"))


def test_hr_imports_with_a_new_unit_and_downloads_the_rejected_rows(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    unit = _home_unit()
    sign_in(page, live_server, demo_email(demo, "hr"))
    page.goto(f"{live_server}/employees/import/")
    _upload(page, _import_file(unit))
    expect(page.get_by_text("Filen var sparad från Excel (Windows)")).to_be_visible()
    added = page.get_by_role("table", name="Anställda som läggs till")
    expect(added.get_by_role("rowheader")).to_have_text(["Ida Lind"])
    expect(added).to_contain_text(unit)
    expect(_sector_choice(page)).to_have_value("")  # the file gives none
    assert_accessible(page)

    # Creating the unit without a sector is refused, and says where to choose it.
    page.get_by_label("Skapa enheterna, med sektorn du väljer").check()
    page.get_by_role("button", name="Importera 1 rad").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text(f"Välj en sektor för den nya enheten {NEW_UNIT}.")
    assert_accessible(page)
    summary.get_by_role("link").click()
    expect(_sector_choice(page)).to_be_focused()

    _sector_choice(page).select_option(label="Fritid")
    page.get_by_role("button", name="Uppdatera förhandsgranskningen").click()
    expect(added.get_by_role("rowheader")).to_have_text(["Ida Lind", "Sara Holm"])
    expect(_sector_choice(page)).to_have_value(Sector.LEISURE.value)
    page.get_by_role("button", name="Importera 2 rader").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import av personal.csv")
    expect(page.get_by_role("heading", name="1 rad avvisades")).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner de avvisade raderna (CSV)").click()
    lines = download.value.path().read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0] == HEADER + ";Orsak till att raden avvisades"
    assert lines[1].startswith(f"Eva;Berg;eva.berg.jarfalla.example;{unit};2026-11-02;E-post:")
    assert len(lines) == 2
    assert not page.get_by_role("link", name=re.compile("XLSX")).count()  # a CSV upload

    created = db.session.scalars(sa.select(Unit).where(Unit.name == NEW_UNIT)).one()
    assert created.sector == Sector.LEISURE
    db.session.rollback()


def _attendees(page: Any) -> Any:
    return page.locator("#attendee-list li")


def _group_record(page: Any, live_server: str, demo: DemoResult, *, signed_in: bool) -> None:
    """Narrow the list to one person, tick everyone shown, record: one person recorded."""
    home = db.session.scalars(sa.select(Municipality).filter_by(code=HOME_MUNICIPALITY)).one()
    person = db.session.scalars(
        sa.select(Employee)
        .where(Employee.municipality_id == home.id, Employee.active)
        .order_by(Employee.last_name, Employee.first_name)
        .offset(3)
    ).first()
    db.session.rollback()
    assert person is not None
    if not signed_in:
        sign_in(page, live_server, demo_email(demo, "hr"))
    page.goto(f"{live_server}/employees/record-completions")
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    everyone = _attendees(page).count()
    assert everyone > 3

    page.get_by_label("Filtrera listan").fill(person.email)
    expect(_attendees(page).locator("visible=true")).to_have_count(1)
    expect(page.locator("#attendee-filter-status")).to_have_text(
        re.compile(rf"Visar 1 av {everyone} anställda\.")
    )
    page.get_by_role("button", name="Bocka i alla som visas").click()
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(1)
    expect(
        page.get_by_label(re.compile(f"^{person.last_name}, {person.first_name}"))
    ).to_be_checked()
    page.get_by_label("Filtrera listan").fill("")
    expect(_attendees(page).locator("visible=true")).to_have_count(everyone)
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(1)  # the rest unticked
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    page.get_by_label("Kurs", exact=True).select_option(index=1)
    page.get_by_role("button", name="Registrera genomförd kurs").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Genomförd kurs registrerad för 1 person"
    )


def test_hr_records_a_group_by_filtering_the_list(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    _group_record(page, live_server, demo, signed_in=False)


def test_the_import_preview_and_the_group_record_fit_a_phone(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    page = phone_page
    unit = _home_unit()
    sign_in(page, live_server, demo_email(demo, "hr"))
    page.goto(f"{live_server}/employees/import/")
    _upload(page, _import_file(unit))
    page.get_by_label("Skapa enheterna, med sektorn du väljer").check()
    # The widths are read at once, so the new page must have loaded (with its stylesheet):
    # read mid-load, once on PostgreSQL, the table was still unstyled and 393 px wide.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Uppdatera förhandsgranskningen").click()
    for name in ("Anställda som läggs till", "Enheter som inte finns"):
        table = page.get_by_role("table", name=name)
        # Stacked rows: each value under its column's name, nothing to scroll sideways to.
        width, room = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
        assert width <= room, f"{name}: {width} px in {room} px"
    expect(_sector_choice(page)).to_be_visible()
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    _group_record(page, live_server, demo, signed_in=True)


def test_the_audit_log_reads_on_a_phone(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    page = phone_page
    sign_in(page, live_server, demo_email(demo, "hr"))
    page.goto(f"{live_server}/audit/")
    region = page.get_by_role("region", name=re.compile(r"händelse"))
    width, room = region.evaluate("r => [r.scrollWidth, r.clientWidth]")
    assert width <= room, f"the log is {width} px wide in {room} px"
    # Each value after its column's name (the cell's ::before, from data-label).
    labels = (
        page.locator(".audit-table tbody tr")
        .first.locator("th, td")
        .evaluate_all("cells => cells.map(c => getComputedStyle(c, '::before').content)")
    )
    # For the eye only: the alt text is empty, since a screen reader says the column header.
    assert labels == [
        '"Tid: " / ""',
        '"Utförd av: " / ""',
        '"Händelse: " / ""',
        '"Berörd person: " / ""',
        '"Detaljer: " / ""',
    ]
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def test_the_preview_on_a_phone_shows_what_the_directory_keeps(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    """A person the municipality's directory manages (SCIM): the preview explains that the
    file's values for them are skipped and lists where the file differs."""
    page = phone_page
    unit = _home_unit()
    home = db.session.scalars(sa.select(Municipality).filter_by(code=HOME_MUNICIPALITY)).one()
    token, _secret = tokens.create_token(db.session, home, label="Entra ID", actor=None)
    payload = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ida.lind@jarfalla.example",
        "name": {"givenName": "Ida", "familyName": "Lind"},
        "emails": [{"type": "work", "primary": True, "value": "ida.lind@jarfalla.example"}],
        "active": True,
    }
    users.create_user(db.session, token, payload, lambda user_id: user_id)
    db.session.commit()
    sign_in(page, live_server, demo_email(demo, "hr"))
    page.goto(f"{live_server}/employees/import/")
    _upload(page, (f"{HEADER}\nIda;Lindqvist;ida.lind@jarfalla.example;{unit};\n").encode())

    expect(page.get_by_role("heading", name="Hanteras av kommunens katalog (SCIM)")).to_be_visible()
    expect(page.get_by_text("De värdena i filen sparas inte", exact=False)).to_be_visible()
    kept = page.get_by_role("table", name=re.compile("Rader där filen skiljer sig från katalogen"))
    expect(kept.get_by_role("rowheader")).to_contain_text(["Ida Lindqvist"])
    expect(kept).to_contain_text("Efternamn: Lind (filen: Lindqvist)")
    assert_accessible(page)
    assert_no_sideways_scroll(page)
