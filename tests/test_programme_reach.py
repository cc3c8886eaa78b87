"""The programme's reach on the coverage page: per municipality (and sector, drilled down) how
many of the population have a place at one of this year's events and how many attended one,
each person once; and, end to end, attendance at an event that counts as a course moving that
course's coverage on the same page."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import openpyxl
import time_machine

from tests import factories
from tests.conftest import counting_statements
from training_tracker.extensions import db
from training_tracker.models import Employee, ProgrammeEvent, Role, Sector
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.programme import attendance, signups
from training_tracker.services.reporting.coverage import coverage_table
from training_tracker.services.reporting.coverage_types import CoverageFilters
from training_tracker.services.reporting.programme_reach import ProgrammeReach, programme_reach

EVERYTHING = ReportScope(True, frozenset(), frozenset())
# Sessions on 12 November 2026, 13:00–15:00 Swedish time; sign-ups in October.
STARTS = datetime(2026, 11, 12, 13, 0)
BEFORE = datetime(2026, 10, 20, 9, 0)
AFTER = datetime(2026, 11, 13, 9, 0)


def signed_up(event: ProgrammeEvent, people: list[Employee]) -> None:
    with time_machine.travel(BEFORE, tick=False):
        for person in people:
            signups.sign_up(db.session, person, event, person)
        db.session.commit()


def staff(municipality: str, sector: Sector, unit: str, n: int, prefix: str) -> list[Employee]:
    place = factories.unit(municipality, sector, unit)
    return [
        factories.employee(unit=place, email=f"{prefix}{i}@{municipality.lower()}.example")
        for i in range(n)
    ]


def reach_of(
    scope: ReportScope, filters: CoverageFilters, group_by: str = "municipality"
) -> ProgrammeReach:
    """The reach beside the coverage table of the same scope, filters and grouping."""
    table = coverage_table(db.session, scope, filters, group_by=group_by)
    return programme_reach(db.session, scope, filters, table)


def row_of(reach, label):  # type: ignore[no-untyped-def]
    (row,) = [row for row in reach.rows if row.label == label]
    return row


@time_machine.travel(AFTER, tick=False)
def test_reach_counts_each_person_once_among_this_years_events_and_nothing_else(client):
    ifo = staff("Järfälla", Sector.SOCIAL_SERVICES, "IFO", 6, "ifo")
    school = staff("Järfälla", Sector.SCHOOL, "Skolan", 5, "skola")
    sigtuna = staff("Sigtuna", Sector.SCHOOL, "Skolan", 5, "sig")
    first = factories.programme_event(title="Barn som upplever våld", starts=STARTS, capacity=4)
    second = factories.programme_event(title="Hedersnormer", starts=datetime(2026, 11, 19, 9, 0))
    last_year = factories.programme_event(title="Förra året", starts=datetime(2025, 11, 12, 13, 0))
    called_off = factories.programme_event(title="Inställt", starts=datetime(2026, 11, 20, 9, 0))
    # ifo[0..3] have the four places of the first event, ifo[4] waits for one; ifo[0] and
    # ifo[1] have places at the second too (counted once), like school[0] and sigtuna[0].
    signed_up(first, ifo[:5])
    signed_up(second, [ifo[0], ifo[1], school[0], sigtuna[0]])
    with time_machine.travel(datetime(2025, 10, 1, 9, 0), tick=False):
        signups.sign_up(db.session, school[1], last_year, school[1])
        db.session.commit()
    signed_up(called_off, [school[2]])
    called_off.cancelled_at = datetime(2026, 11, 1, 9, 0)
    organiser = factories.organiser(None)
    # At the first event: two of those with a place, and one walk-in who never signed up.
    attendance.take_attendance(
        db.session,
        organiser,
        first.sessions[0],
        employee_ids=[ifo[0].id, ifo[2].id],
        emails=school[3].email,
    )
    db.session.commit()

    reach = reach_of(EVERYTHING, CoverageFilters(), "municipality")
    assert reach.year == 2026
    jarfalla, sigtuna_row = row_of(reach, "Järfälla"), row_of(reach, "Sigtuna")
    assert (jarfalla.people, jarfalla.signed_up, jarfalla.attended) == (11, 5, 3)
    assert (sigtuna_row.people, sigtuna_row.signed_up, sigtuna_row.attended) == (5, 1, 0)
    assert reach.total.people == sum(row.people for row in reach.rows)
    assert (reach.total.signed_up, reach.total.attended) == (6, 3)

    drilled = CoverageFilters(municipality_id=ifo[0].municipality_id)
    by_sector = reach_of(EVERYTHING, drilled, "sector")
    assert [row.label for row in by_sector.rows] == ["Socialtjänst", "Skola och förskola"]
    social, schools = by_sector.rows
    assert (social.people, social.signed_up, social.attended) == (6, 4, 2)
    assert (schools.people, schools.signed_up, schools.attended) == (5, 1, 1)

    # The report of a date last year reads last year's programme.
    before = reach_of(EVERYTHING, CoverageFilters(as_of=date(2025, 12, 1)))
    assert before.year == 2025 and before.total.signed_up == 1


def test_attendance_to_verified_completion_to_the_coverage_page_end_to_end(client):
    """The organiser ticks the list on the attendance page; the coordinator's coverage page
    then shows the course covered for those who came, and the programme's reach."""
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    people = staff("Järfälla", Sector.SOCIAL_SERVICES, "IFO", 6, "ifo")
    with time_machine.travel(BEFORE, tick=False):
        for person in people:
            factories.assignment(person, nck, due_in_days=90)
    event = factories.programme_event(starts=STARTS, course=nck)
    signed_up(event, people[:4])
    organiser = factories.organiser("Järfälla")
    coordinator = factories.with_role(
        factories.employee(email="samordnare@jarfalla.example"),
        Role.COORDINATOR,
        municipality_name="Järfälla",
    )
    page_url = f"/reports/?course_id={nck.id}&mode=verified"

    def cell_and_reach() -> tuple[str, str]:
        client.sign_in(coordinator)
        html = client.get(page_url).get_data(as_text=True)
        table = html.split('id="table-heading"')[1].split("</table>")[0]
        reach = html.split('id="reach-heading"')[1].split("</section>")[0]
        return re.sub(r"\s+", " ", table), re.sub(r"\s+", " ", reach)

    with time_machine.travel(AFTER, tick=False):
        table, reach = cell_and_reach()
        assert "0 av 6" in table
        assert "Gemensamma programmet 2026" in reach
        assert '0 <span class="cell-detail">0 %</span>' in reach  # nobody has come yet
        client.sign_in(organiser)
        response = client.post_form(
            f"/programme/manage/{event.id}/sessions/{event.sessions[0].id}/attendance",
            {"employees": [str(people[0].id), str(people[1].id), str(people[2].id)]},
        )
        assert response.status_code == 302
        table, reach = cell_and_reach()
    assert "3 av 6" in table  # the course's coverage moved: three verified completions
    # The reach: 8 people (the coordinator and the organiser too), 4 with a place, 3 came.
    assert '<td class="num" data-label="Anställda">8</td>' in reach
    assert '4 <span class="cell-detail">50 %</span>' in reach
    assert '3 <span class="cell-detail">38 %</span>' in reach


def test_the_reach_of_another_municipalitys_small_group_is_withheld(client):
    few = staff("Sigtuna", Sector.SCHOOL, "Skolan", 3, "sig")
    event = factories.programme_event(starts=STARTS)
    signed_up(event, few[:1])
    staff("Järfälla", Sector.SOCIAL_SERVICES, "IFO", 5, "ifo")
    regional = factories.with_role(
        factories.employee(email="region@jarfalla.example"), Role.COORDINATOR
    )
    with time_machine.travel(AFTER, tick=False):
        client.sign_in(regional)
        html = client.get("/reports/").get_data(as_text=True)
    reach = html.split('id="reach-heading"')[1].split("</section>")[0]
    sigtuna = reach.split("Sigtuna")[1].split("</tr>")[0]
    assert "färre än 5" in sigtuna
    jarfalla = reach.split("Järfälla")[1].split("</tr>")[0]
    assert "färre än" not in jarfalla


def test_the_reach_takes_one_query_however_many_events_and_sign_ups(client):
    people = staff("Järfälla", Sector.SOCIAL_SERVICES, "IFO", 6, "ifo")
    scope = ReportScope(False, frozenset({people[0].municipality_id}), frozenset())

    def statements() -> int:
        table = coverage_table(db.session, scope, CoverageFilters(), group_by="sector")
        with counting_statements() as seen:
            programme_reach(db.session, scope, CoverageFilters(), table)
        return len(seen)

    with time_machine.travel(AFTER, tick=False):
        none = statements()
    for n in range(3):
        event = factories.programme_event(
            title=f"Evenemang {n}", starts=datetime(2026, 11, 12 + n, 13, 0)
        )
        signed_up(event, people)
    with time_machine.travel(AFTER, tick=False):
        assert statements() == none == 1
        reach = reach_of(scope, CoverageFilters(), "sector")
    assert reach.total.signed_up == 6


def test_the_excel_download_has_the_reach_sheet_as_the_page_shows_it(client):
    people = staff("Järfälla", Sector.SOCIAL_SERVICES, "IFO", 6, "ifo")
    event = factories.programme_event(starts=STARTS)
    signed_up(event, people[:3])
    hr = factories.hr_staff("Järfälla")
    with time_machine.travel(AFTER, tick=False):
        client.sign_in(hr)
        data = client.get("/reports/coverage.xlsx").data
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Programmet 2026"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(max_row=4)]
    assert rows[0] == ["Sektor", "Anställda", "Anmälda", "Anmälda %", "Närvarande", "Närvarande %"]
    assert rows[1] == ["Socialtjänst", 6, 3, 50, 0, 0]
    assert rows[2] == ["Övrigt", 1, 0, 0, 0, 0]  # HR's own unit
    assert rows[3] == ["Totalt", 7, 3, 43, 0, 0]
