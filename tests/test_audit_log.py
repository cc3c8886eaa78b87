"""The audit log (issue #7, point 10): who did what, read by HR within their municipality and
by admins across all, filtered, a page at a time, and exported as CSV and XLSX."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import counting_statements
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, Role, Sector
from training_tracker.services.compliance import audit_log
from training_tracker.services.core import audit_trail
from training_tracker.services.core.scope import audit_event_scope

# --- the world: Järfälla, Sigtuna and events of both -----------------------------------------


def record(
    action: str,
    *,
    actor: Employee | None,
    subject: Employee | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    at: datetime | None = None,
    **details: Any,
) -> int:
    """An event as the services write it, at ``at`` (naive UTC) when given; the caller
    commits."""
    event = audit_trail.record(
        db.session,
        action,
        actor=actor,
        subject=subject,
        object_type=object_type,
        object_id=object_id,
        **details,
    )
    if at is not None:
        event.occurred_at = at
    db.session.flush()
    return event.id


@dataclass
class World:
    hr: Employee  # HR of Järfälla
    sigtuna_hr: Employee
    admin: Employee
    lisa: Employee  # works in Järfälla
    sven: Employee  # works in Sigtuna
    jarfalla_id: int
    sigtuna_id: int
    visible_to_jarfalla: set[int]  # ids of the events below HR of Järfälla may read
    sigtuna_only: set[int]
    admin_only: set[int]


@pytest.fixture()
def world() -> World:
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    school = factories.unit("Sigtuna", Sector.SCHOOL, "Sigtunaskolan")
    hr = factories.hr_staff("Järfälla")
    sigtuna_hr = factories.hr_staff("Sigtuna")
    admin = factories.admin()
    lisa = factories.employee(
        unit=ifo, first_name="Lisa", last_name="Berg", email="lisa.berg@jarfalla.example"
    )
    sven = factories.employee(
        unit=school, first_name="Sven", last_name="Sigtunasson", email="sven@sigtuna.example"
    )
    course = factories.dated_course("webbkurs-om-vald", title="Webbkurs om våld")
    jarfalla_rule = factories.rule(course, municipality_name="Järfälla")
    everywhere_rule = factories.rule(course)
    jarfalla_batch = factories.import_batch("Järfälla")
    sigtuna_batch = factories.import_batch("Sigtuna")
    jarfalla, sigtuna = factories.municipality("Järfälla"), factories.municipality("Sigtuna")

    visible = {
        record(
            "employee.updated",
            actor=hr,
            subject=lisa,
            object_type="employee",
            object_id=lisa.id,
            at=datetime(2026, 3, 2, 9, 0),
            changes={"unit_id": [school.id, ifo.id]},  # names another municipality's unit
        ),
        record(
            "assignment.assigned",
            actor=hr,
            subject=lisa,
            at=datetime(2026, 3, 10, 9, 0),
            course=course.key,
            due_date="2026-06-01",
        ),
        record(
            "unit.created",
            actor=hr,
            object_type="unit",
            object_id=ifo.id,
            at=datetime(2026, 3, 1, 8, 0),
            after={"name": ifo.name, "sector": "socialtjanst", "municipality_id": jarfalla.id},
        ),
        record(
            "rule.created",
            actor=hr,
            object_type="rule",
            object_id=jarfalla_rule.id,
            at=datetime(2026, 3, 3, 8, 0),
            after={"course_id": course.id, "municipality_id": jarfalla.id},
        ),
        record(
            "import.uploaded",
            actor=hr,
            object_type="import_batch",
            object_id=jarfalla_batch.id,
            at=datetime(2026, 3, 4, 8, 0),
            filename="personal.csv",
        ),
        record(
            "municipality.settings_changed",
            actor=admin,
            object_type="municipality",
            object_id=jarfalla.id,
            at=datetime(2026, 3, 5, 8, 0),
            before={"count_reported_in_coverage": False},
            after={"count_reported_in_coverage": True},
        ),
    }
    sigtuna_only = {
        record(
            "completion.rejected",
            actor=sigtuna_hr,
            subject=sven,
            at=datetime(2026, 3, 6, 8, 0),
            course=course.key,
            reason="Intyget gäller en annan kurs",
        ),
        record(
            "unit.created",
            actor=admin,
            object_type="unit",
            object_id=school.id,
            at=datetime(2026, 3, 7, 8, 0),
            after={"name": school.name, "sector": "skola_forskola"},
        ),
        record(
            "import.uploaded",
            actor=sigtuna_hr,
            object_type="import_batch",
            object_id=sigtuna_batch.id,
            at=datetime(2026, 3, 8, 8, 0),
            filename="sigtuna-personal.csv",
        ),
        record(
            "municipality.reminders_changed",
            actor=sigtuna_hr,
            object_type="municipality",
            object_id=sigtuna.id,
            at=datetime(2026, 3, 9, 8, 0),
            before={"first_after_days": 7},
            after={"first_after_days": 14},
        ),
    }
    admin_only = {
        record(
            "outbox.requeued",
            actor=admin,
            object_type="outbox_message",
            object_id=1,
            at=datetime(2026, 3, 11, 8, 0),
            kind="reminder",
        ),
        record(
            "rule.created",
            actor=admin,
            object_type="rule",
            object_id=everywhere_rule.id,
            at=datetime(2026, 3, 12, 8, 0),
            after={"course_id": course.id, "municipality_id": None},
        ),
        record("auth.login", actor=admin, subject=admin, at=datetime(2026, 3, 13, 8, 0)),
        # Done by HR of Järfälla, but about nobody and nothing of a municipality: who acted
        # does not make an event readable.
        record("something.new", actor=hr, at=datetime(2026, 3, 14, 8, 0), note="x"),
    }
    db.session.commit()
    return World(
        hr=hr,
        sigtuna_hr=sigtuna_hr,
        admin=admin,
        lisa=lisa,
        sven=sven,
        jarfalla_id=jarfalla.id,
        sigtuna_id=sigtuna.id,
        visible_to_jarfalla=visible,
        sigtuna_only=sigtuna_only,
        admin_only=admin_only,
    )


def count_exports() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "audit.exported")
    )


def readable(user: Employee, municipality_id: int | None = None) -> set[int]:
    return set(
        db.session.scalars(sa.select(AuditEvent.id).where(audit_event_scope(user, municipality_id)))
    )


def role_grants_of(*people: Employee) -> set[int]:
    """The events the factories wrote when they granted these people their roles."""
    return set(
        db.session.scalars(
            sa.select(AuditEvent.id).where(
                AuditEvent.action == "roles.granted",
                AuditEvent.subject_employee_id.in_([p.id for p in people]),
            )
        )
    )


# --- the scope, directly ---------------------------------------------------------------------


def test_hr_reads_the_events_of_their_municipalitys_people_and_objects_only(world):
    assert readable(world.hr) == world.visible_to_jarfalla | role_grants_of(world.hr)


def test_hr_of_sigtuna_reads_sigtunas_events_and_none_of_jarfallas(world):
    seen = readable(world.sigtuna_hr)
    assert world.sigtuna_only <= seen
    assert not seen & (world.visible_to_jarfalla | world.admin_only)


def test_an_admin_reads_every_event(world):
    everything = set(db.session.scalars(sa.select(AuditEvent.id)))
    assert readable(world.admin) == everything
    assert world.admin_only <= everything


def test_narrowed_to_a_municipality_an_admin_reads_that_municipalitys_events(world):
    seen = readable(world.admin, world.sigtuna_id)
    assert seen == world.sigtuna_only | role_grants_of(world.sigtuna_hr, world.sven)


def test_hr_narrowed_to_another_municipality_reads_nothing(world):
    assert readable(world.hr, world.sigtuna_id) == set()
    assert readable(world.hr, world.jarfalla_id) == readable(world.hr)


def test_hr_of_two_municipalities_reads_both(world):
    factories.with_role(world.hr, Role.HR, municipality_name="Sigtuna")
    seen = readable(world.hr)
    assert world.visible_to_jarfalla | world.sigtuna_only <= seen
    assert not seen & world.admin_only


@pytest.mark.parametrize("role", ["employee", "manager", "coordinator", "regional"])
def test_nobody_else_reads_any_event(world, role):
    person = factories.employee(unit=world.lisa.unit)
    if role == "manager":
        factories.with_role(person, Role.MANAGER, on_unit=world.lisa.unit)
    elif role == "coordinator":
        factories.with_role(person, Role.COORDINATOR, municipality_name="Järfälla")
    elif role == "regional":
        factories.with_role(person, Role.COORDINATOR)
    assert readable(person) == set()


# --- the page --------------------------------------------------------------------------------


class LogTable(HTMLParser):
    """The log table's rows as text, cell by cell, without what only screen readers hear;
    and the links of its "Berörd person" cells."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self._in_body = False
        self._cell: list[str] | None = None
        self._hidden_depth = 0
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._depth += 1
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag in ("td", "th"):
            self._cell = []
        elif self._in_body and tag == "a" and self._cell is not None:
            self.links.append(dict(attrs).get("href") or "")
        if self._hidden_depth == 0 and ("class", "visually-hidden") in attrs:
            self._hidden_depth = self._depth

    def handle_endtag(self, tag: str) -> None:
        if self._hidden_depth == self._depth:
            self._hidden_depth = 0
        self._depth -= 1
        if tag == "tbody":
            self._in_body = False
        elif self._in_body and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._hidden_depth:
            self._cell.append(data + " ")


def log_rows(html: str) -> LogTable:
    table = LogTable()
    table.feed(html)
    return table


def test_hr_sees_jarfallas_events_in_words_and_nothing_of_sigtunas_people(client, world):
    client.sign_in(world.hr)
    response = client.get("/audit/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Händelselogg</h1>" in page
    rows = log_rows(page).rows
    assert any(row[2:4] == ["Uppgifterna ändrades", "Lisa Berg"] for row in rows)
    assert any(row[2] == "Enhet skapades" and "IFO Järfälla" in row[4] for row in rows)
    assert any(row[2] == "Fil från HR-systemet laddades upp" for row in rows)
    for secret in ("Sigtunasson", "sven@sigtuna.example", "sigtuna-personal.csv", "Rapporten"):
        assert secret not in page
    # The person is linked to their page; the filter offers only the actions HR can see.
    assert f"/employees/{world.lisa.id}" in log_rows(page).links
    assert '<option value="completion.rejected"' not in page
    assert '<option value="employee.updated"' in page
    # One municipality: no municipality filter.
    assert 'id="municipality"' not in page
    exported = client.get("/audit/events.csv").data.decode("utf-8-sig")
    assert "Lisa Berg" in exported
    for secret in ("Sigtunasson", "sven@sigtuna.example", "sigtuna-personal.csv", "Rapporten"):
        assert secret not in exported


def test_newest_first_in_swedish_time(client, world):
    client.sign_in(world.hr)
    rows = log_rows(client.get("/audit/").get_data(as_text=True)).rows
    times = [row[0] for row in rows]
    assert times == [_shown_moment(moment) for moment in sorted(_iso(t) for t in times)][::-1]
    # 09:00 UTC on 2 March is 10:00 in Stockholm (winter time).
    assert any(row[0] == "2 mars 2026 10:00" and row[3] == "Lisa Berg" for row in rows)


_SV_MONTHS = "januari februari mars april maj juni juli augusti september oktober november december"


def _iso(shown: str) -> str:
    """A moment as the page shows it ("2 mars 2026 10:00") as the file has it (ISO)."""
    day, month, year, time = shown.split()
    return f"{year}-{_SV_MONTHS.split().index(month) + 1:02d}-{int(day):02d} {time}"


def _shown_moment(iso: str) -> str:
    day, time = iso.split()
    return f"{factories.shown(date.fromisoformat(day))} {time}"


def test_an_admin_sees_every_municipality_and_may_filter_by_one(client, world):
    client.sign_in(world.admin)
    page = client.get("/audit/").get_data(as_text=True)
    assert "Sven Sigtunasson" in page and "Lisa Berg" in page
    assert "Mejl lades i kö igen" in page
    assert '<select autocomplete="off" id="municipality" name="municipality">' in page
    rows = log_rows(client.get(f"/audit/?municipality={world.sigtuna_id}").get_data(as_text=True))
    assert {row[3] for row in rows.rows} <= {
        "Sven Sigtunasson (Sigtuna)",
        "Hanna Personalsson (Sigtuna)",
        "–",
    }
    assert any(row[3] == "Sven Sigtunasson (Sigtuna)" for row in rows.rows)


@pytest.mark.parametrize("role", ["employee", "manager", "coordinator"])
def test_nobody_but_hr_and_admins_opens_the_log(client, world, role):
    person = factories.employee(unit=world.lisa.unit)
    if role == "manager":
        factories.with_role(person, Role.MANAGER, on_unit=world.lisa.unit)
    elif role == "coordinator":
        factories.with_role(person, Role.COORDINATOR, municipality_name="Järfälla")
    client.sign_in(person)
    for path in ("/audit/", "/audit/events.csv", "/audit/events.xlsx"):
        assert client.get(path).status_code == 403, path
    assert count_exports() == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    response = client.get("/audit/events.csv")
    assert response.status_code == 302 and response.location.startswith("/login")


# --- filters ---------------------------------------------------------------------------------


def subjects_and_actions(client, url: str) -> list[tuple[str, str]]:
    return [(row[2], row[3]) for row in log_rows(client.get(url).get_data(as_text=True)).rows]


def test_the_action_filter_narrows_to_that_action(client, world):
    client.sign_in(world.hr)
    rows = subjects_and_actions(client, "/audit/?action=employee.updated")
    assert rows == [("Uppgifterna ändrades", "Lisa Berg")]


def test_the_actor_filter_finds_by_name_or_email(client, world):
    client.sign_in(world.admin)
    by_name = subjects_and_actions(client, "/audit/?actor=ADA+adm")
    assert sorted(action for action, _ in by_name) == [
        "Enhet skapades",
        "Kommunens inställningar ändrades",
        "Loggade in",  # in the world, and signing in just now
        "Loggade in",
        "Mejl lades i kö igen",
        "Utbildningskrav skapades",
    ]
    by_email = subjects_and_actions(client, f"/audit/?actor={world.sigtuna_hr.email.upper()}")
    assert {action for action, _ in by_email} == {
        "Rapporten avvisades",
        "Fil från HR-systemet laddades upp",
        "Kommunens påminnelser ändrades",
    }


def test_the_person_filter_finds_the_subject_by_name_or_email(client, world):
    client.sign_in(world.hr)
    assert {s for _, s in subjects_and_actions(client, "/audit/?person=berg+lisa")} == {"Lisa Berg"}
    assert len(subjects_and_actions(client, "/audit/?person=lisa.berg@")) == 2
    # Searching for someone outside the scope finds nothing, not even that they exist.
    assert subjects_and_actions(client, "/audit/?person=Sigtunasson") == []


def test_the_dates_are_swedish_days_inclusive(client, world):
    client.sign_in(world.hr)
    # 23:30 UTC on 2 March is 00:30 on 3 March in Stockholm.
    record("auth.login", actor=world.lisa, subject=world.lisa, at=datetime(2026, 3, 2, 23, 30))
    db.session.commit()
    rows = subjects_and_actions(client, "/audit/?date_from=2026-03-03&date_to=2026-03-04")
    assert sorted(rows) == sorted(
        [
            ("Loggade in", "Lisa Berg"),
            ("Utbildningskrav skapades", "–"),
            ("Fil från HR-systemet laddades upp", "–"),
        ]
    )
    assert subjects_and_actions(client, "/audit/?date_to=2026-03-01") == [("Enhet skapades", "–")]


def test_hr_cannot_reach_another_municipality_through_the_municipality_filter(client, world):
    client.sign_in(world.hr)
    page = client.get(f"/audit/?municipality={world.sigtuna_id}").get_data(as_text=True)
    assert "Sigtunasson" not in page and "Lisa Berg" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2026-13-45", "Från och med: Skriv datumet som ÅÅÅÅ-MM-DD."),
        ("date_to=igår", "Till och med: Skriv datumet som ÅÅÅÅ-MM-DD."),
        (
            "date_from=2026-03-10&date_to=2026-03-01",
            "Till och med: Datumet är före från och med-datumet.",
        ),
    ],
)
def test_an_unreadable_date_is_named_and_left_out(client, world, query, message):
    client.sign_in(world.hr)
    response = client.get(f"/audit/?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="error-summary"' in page and message in page
    assert 'aria-invalid="true"' in page
    # The date that could not be read filters nothing.
    assert len(log_rows(page).rows) >= 1
    assert "Uppgifterna ändrades" in page


def test_malformed_filters_are_ignored_never_an_error(client, world):
    client.sign_in(world.admin)

    def events(url: str) -> list[list[str]]:
        """The page's rows but the exports this test makes on the way."""
        rows = log_rows(client.get(url).get_data(as_text=True)).rows
        return [row for row in rows if row[2] != "Loggen exporterades"]

    everything = events("/audit/")
    for query in (
        "page=abc&municipality=x&action=%3Cscript%3E",
        "page=-5&municipality=99999999999999999999&action=",
        "date_from=0001-01-01&date_to=9999-12-31",
        "page=99&date_from=2026-02-30",
        "actor=%00&person=%00&action=%00",  # NUL cannot reach a PostgreSQL query
    ):
        for path in ("/audit/", "/audit/events.csv", "/audit/events.xlsx"):
            assert client.get(f"{path}?{query}").status_code == 200, (path, query)
        assert events(f"/audit/?{query}") == everything, query
    # Wildcards are searched for as text, not as patterns.
    assert subjects_and_actions(client, "/audit/?actor=%25&person=_") == []


def test_fifty_events_a_page_and_the_filters_kept_across_pages(client, world):
    db.session.execute(
        sa.insert(AuditEvent),
        [
            {
                "occurred_at": datetime(2026, 4, 1, 8, 0),
                "actor_id": world.hr.id,
                "action": "auth.login",
                "subject_employee_id": world.lisa.id,
                "details": {},
            }
            for _ in range(70)
        ],
    )
    db.session.commit()
    client.sign_in(world.hr)  # signing in is an event too: the person filter leaves it out
    url = "/audit/?action=auth.login&person=lisa"
    first = client.get(url).get_data(as_text=True)
    assert len(log_rows(first).rows) == 50
    assert "Sida 1 av 2" in first
    assert 'href="/audit/?action=auth.login&amp;person=lisa&amp;page=2"' in first
    assert len(log_rows(client.get(f"{url}&page=2").get_data(as_text=True)).rows) == 20
    # A page past the end shows the last one.
    assert len(log_rows(client.get(f"{url}&page=9").get_data(as_text=True)).rows) == 20


def test_the_page_takes_the_same_number_of_queries_however_many_events(client, world):
    client.sign_in(world.admin)

    def statements() -> int:
        with counting_statements() as seen:
            assert client.get("/audit/").status_code == 200
        return len(seen)

    few = statements()
    units = [factories.unit("Sollentuna", Sector.SCHOOL, f"Skola {n}") for n in range(5)]
    people = [factories.employee(unit=unit) for unit in units]
    for n in range(40):
        person, unit = people[n % 5], units[(n + 1) % 5]
        record(
            "employee.updated",
            actor=people[(n + 2) % 5],
            subject=person,
            changes={"unit_id": [person.unit_id, unit.id], "manager_id": [None, people[0].id]},
        )
        record(
            "unit.updated",
            actor=world.admin,
            object_type="unit",
            object_id=unit.id,
            before={"name": "Gammalt"},
            after={"name": unit.name},
        )
    db.session.commit()
    assert statements() == few


# --- the files -------------------------------------------------------------------------------


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


HEADER = [
    "Tid",
    "Utförd av",
    "Utförarens e-post",
    "Händelse",
    "Berörd person",
    "Berörd persons e-post",
    "Kommun",
    "Detaljer",
]


def test_the_csv_holds_the_pages_rows_for_the_same_filter(client, world):
    client.sign_in(world.hr)
    query = "actor=personalsson&date_from=2026-03-01"
    page = client.get(f"/audit/?{query}").get_data(as_text=True)
    assert 'href="/audit/events.csv?actor=personalsson&amp;date_from=2026-03-01"' in page
    assert 'href="/audit/events.xlsx?actor=personalsson&amp;date_from=2026-03-01"' in page
    shown = log_rows(page).rows
    response = client.get(f"/audit/events.csv?{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="logg-')
    assert response.headers["Content-Disposition"].endswith('.csv"')
    exported = csv_rows(response.data)
    assert exported[0] == HEADER
    # Her five events of March, and her signing in just now.
    assert len(exported[1:]) == len(shown) == 6
    for on_page, in_file in zip(shown, exported[1:], strict=True):
        time, actor, _email, action, subject, _subject_email, _municipality, details = in_file
        assert on_page[:4] == [_shown_moment(time), actor, action, subject or "–"]
        assert on_page[4] == (details.replace("; ", " ") or "–")


def test_the_export_holds_every_page_and_the_xlsx_the_same_rows(client, world):
    db.session.execute(
        sa.insert(AuditEvent),
        [
            {
                "occurred_at": datetime(2026, 4, 1, 8, n),
                "actor_id": world.hr.id,
                "action": "auth.login",
                "subject_employee_id": world.lisa.id,
                "details": {},
            }
            for n in range(55)
        ],
    )
    db.session.commit()
    client.sign_in(world.hr)
    exported = csv_rows(client.get("/audit/events.csv?action=auth.login&person=lisa").data)
    assert len(exported) == 1 + 55
    response = client.get("/audit/events.xlsx?action=auth.login&person=lisa")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == HEADER
    assert values[1][0] == datetime(2026, 4, 1, 10, 54)  # Swedish summer time
    assert [row[1:4] for row in values[1:56]] == [
        ["Hanna Personalsson", world.hr.email, "Loggade in"]
    ] * 55


def test_formulas_in_names_and_details_are_neutralised(client, world):
    sly = factories.employee(
        unit=world.lisa.unit, first_name='=HYPERLINK("http://x")', last_name="Ond"
    )
    record(
        "completion.rejected",
        actor=world.hr,
        subject=sly,
        course="okänd-kurs",
        reason="@SUM(1+1)",
    )
    record(
        "import.uploaded",
        actor=world.hr,
        object_type="import_batch",
        object_id=factories.import_batch("Järfälla").id,
        filename="-2+3.csv",
    )
    db.session.commit()
    client.sign_in(world.hr)
    rows = csv_rows(client.get("/audit/events.csv").data)[1:]
    rejected = next(row for row in rows if row[3] == "Rapporten avvisades")
    assert rejected[4] == '\'=HYPERLINK("http://x") Ond'
    assert rejected[7] == "okänd-kurs: @SUM(1+1)"  # not first in the cell: no formula
    uploaded = next(row for row in rows if row[7] == "'-2+3.csv")
    assert uploaded[3] == "Fil från HR-systemet laddades upp"
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/audit/events.xlsx").data)).worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    named = next(cell for cell in cells if str(cell.value).endswith("Ond"))
    assert named.value == '\'=HYPERLINK("http://x") Ond' and named.data_type == "s"
    assert not any(cell.data_type == "f" for cell in cells)


def test_exporting_is_itself_audited_within_the_municipality(client, world):
    client.sign_in(world.hr)
    client.get("/audit/events.csv?action=employee.updated")
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "audit.exported")
    ).one()
    assert event.actor_id == world.hr.id
    assert (event.object_type, event.object_id) == ("municipality", world.jarfalla_id)
    assert event.details == {
        "format": "csv",
        "rows": 1,
        "total": 1,
        "filters": {"action": "employee.updated"},
    }
    page = client.get("/audit/?action=audit.exported").get_data(as_text=True)
    assert [row[2:5] for row in log_rows(page).rows] == [
        ["Loggen exporterades", "–", "CSV, 1 händelse"]
    ]
    assert event.id not in readable(world.sigtuna_hr)
    # An admin's export across every municipality is the admins' to read.
    client.sign_in(world.admin)
    client.get("/audit/events.xlsx")
    across = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "audit.exported", AuditEvent.actor_id == world.admin.id
        )
    ).one()
    assert across.object_type is None and across.details["format"] == "xlsx"
    assert across.id not in readable(world.hr)


def test_a_file_stops_at_its_limit_and_says_so(client, world, monkeypatch):
    monkeypatch.setitem(audit_log.EXPORT_LIMITS, "csv", 3)
    monkeypatch.setitem(audit_log.EXPORT_LIMITS, "xlsx", 2)
    client.sign_in(world.admin)
    page = client.get("/audit/").get_data(as_text=True)
    assert "Filtret ger fler händelser än en fil rymmer" in page
    exported = csv_rows(client.get("/audit/events.csv").data)
    assert len(exported) == 1 + 3
    # The newest come first: the admin signing in just now is in the file.
    assert exported[1][3:5] == ["Loggade in", "Ada Admin"]
    book = openpyxl.load_workbook(io.BytesIO(client.get("/audit/events.xlsx").data))
    texts = [
        str(cell.value) for row in book.worksheets[0].iter_rows() for cell in row if cell.value
    ]
    assert any(text.startswith("Filen innehåller de 2 senaste av") for text in texts)


# --- the person page keeps its history -------------------------------------------------------


def test_the_person_page_shows_the_same_words_as_the_log(client, world):
    client.sign_in(world.hr)
    page = client.get(f"/employees/{world.lisa.id}").get_data(as_text=True)
    assert "Uppgifterna ändrades" in page and "Kurs tilldelad" in page
    assert "Sigtunaskolan" in page  # the unit she moved from, named
    assert "sista dag 1 juni 2026" in page
    assert factories.shown(date(2026, 3, 2)) in page
