"""Data minimisation between municipalities: outside a reader's own municipality an aggregate
of fewer than 5 people is withheld ("färre än 5"), with every figure derived from it, on the
page, in its charts and in every download; coordinators read counts, never names. HR and
managers keep their named views, and admins (the operators) see every figure."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest

from tests import factories
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import CompletionStatus, Employee, Role, Sector, Unit
from training_tracker.services.core.scope import aggregate_withheld, names_visible

FEW = "färre än 5"


@pytest.fixture()
def region() -> dict[str, object]:
    """NCK's course required of: Sigtuna's "Liten enhet" (Sara, Sven and Siv, new hires; Sara
    verified), Järfälla's "Stora enheten" (six people) and Järfälla's "Lilla enheten" (two)."""
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    small = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "Liten enhet")
    big = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "Stora enheten")
    tiny = factories.unit("Järfälla", Sector.SCHOOL, "Lilla enheten")
    assigned = clock.utcnow() - timedelta(days=200)
    people: dict[str, Employee] = {}
    staff = [(small, ["Sara", "Sven", "Siv"]), (big, [f"Bo{n}" for n in range(6)]),
             (tiny, ["Tea", "Tor"])]  # fmt: skip
    for unit, names in staff:
        for name in names:
            person = factories.employee(
                unit=unit,
                first_name=name,
                last_name=f"{name}sson",
                hire_date=clock.today() - timedelta(days=100),
            )
            factories.assignment(person, course, due_in_days=-5).assigned_at = assigned
            people[name] = person
    db.session.commit()
    factories.completion(people["Sara"], course, status=CompletionStatus.VERIFIED)
    return {"small": small, "big": big, "tiny": tiny, **people}


def regional() -> Employee:
    """A regional coordinator employed by Järfälla (not in any unit above)."""
    home = factories.unit("Järfälla", Sector.OTHER, "Kansliet")
    return factories.with_role(factories.employee(unit=home, first_name="Rut"), Role.COORDINATOR)


def row_of(page: str, label: str) -> str:
    match = re.search(rf">{re.escape(label)}</a>(.*?)</tr>", page, re.S)
    assert match, f"no row for {label}"
    return match.group(1)


def csv_rows(data: bytes) -> dict[str, list[str]]:
    """Each row's figures by its first cell (a unit's municipality and sector left out)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    skip = 3 if rows[0][1:3] == ["Kommun", "Sektor"] else 1
    return {row[0].removeprefix("'"): row[skip:] for row in rows[1:]}


def xlsx_rows(data: bytes, sheet: int = 0) -> dict[str, list[object]]:
    worksheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[sheet]
    header = [cell.value for cell in worksheet[1]]
    skip = 3 if header[1:3] == ["Kommun", "Sektor"] else 1
    return {
        str(row[0]): list(row[skip:]) for row in worksheet.iter_rows(min_row=2, values_only=True)
    }


# --- the rule -------------------------------------------------------------------------------


def test_the_rule_withholds_small_aggregates_outside_ones_own_municipality(region):
    järfälla = factories.municipality("Järfälla").id
    sigtuna = factories.municipality("Sigtuna").id
    rut = regional()
    hr = factories.hr_staff("Sigtuna")
    admin = factories.admin()

    assert aggregate_withheld(rut, 3, {sigtuna})
    assert aggregate_withheld(rut, 4, None)  # the whole region is not Rut's own
    assert aggregate_withheld(rut, 1, {järfälla, sigtuna})
    assert not aggregate_withheld(rut, 3, {järfälla})  # her own municipality
    assert not aggregate_withheld(rut, 5, {sigtuna})
    assert not aggregate_withheld(rut, 0, {sigtuna})  # nobody: nothing about anyone
    assert not aggregate_withheld(hr, 3, {sigtuna})  # HR of Sigtuna, employed there
    assert aggregate_withheld(hr, 3, {järfälla})
    assert not aggregate_withheld(admin, 1, None)


def test_names_are_for_managers_hr_and_admins_not_coordinators(region):
    small: Unit = region["small"]  # type: ignore[assignment]
    manager = factories.with_role(factories.employee(unit=small), Role.MANAGER, on_unit=small)
    coordinator = factories.with_role(
        factories.employee(unit=small), Role.COORDINATOR, municipality_name="Sigtuna"
    )
    assert names_visible(manager, small)
    assert names_visible(factories.hr_staff("Sigtuna"), small)
    assert names_visible(factories.admin(), small)
    assert not names_visible(coordinator, small)
    assert not names_visible(regional(), small)
    assert not names_visible(factories.hr_staff("Järfälla"), small)


# --- a regional coordinator -----------------------------------------------------------------


def test_a_regional_coordinator_sees_fewer_than_5_for_another_municipalitys_small_unit(
    client, region
):
    client.sign_in(regional())

    page = client.get("/reports/?view=unit").get_data(as_text=True)
    small = row_of(page, "Liten enhet")
    assert FEW in small and "av 3" not in small and "33 %" not in small
    assert "av 2" in row_of(page, "Lilla enheten")  # Järfälla is her own: shown
    assert "0 av 6" in row_of(page, "Stora enheten")

    exported = csv_rows(client.get("/reports/coverage.csv?view=unit").data)
    assert set(exported["Liten enhet"]) == {FEW}
    assert exported["Lilla enheten"][0] == "2"
    assert exported["Stora enheten"][0] == "6"

    book = client.get("/reports/coverage.xlsx?view=unit").data
    assert set(xlsx_rows(book)["Liten enhet"]) == {FEW}
    assert xlsx_rows(book)["Stora enheten"][0] == 6


def test_her_unit_page_of_the_small_unit_shows_neither_names_nor_figures(client, region):
    client.sign_in(regional())
    page = client.get(f"/reports/units/{region['small'].id}").get_data(as_text=True)  # type: ignore[attr-defined]
    assert FEW in page
    for name in ("Sara", "Sven", "Siv"):
        assert name not in page
    assert "1 av 3" not in page


def test_a_small_municipality_is_withheld_everywhere_she_reads_it(client, region):
    client.sign_in(regional())
    sigtuna = factories.municipality("Sigtuna").id
    args = f"municipality_id={sigtuna}"

    # The table, its total, the trend and its chart.
    page = client.get(f"/reports/?view=sector&{args}").get_data(as_text=True)
    assert "1 av 3" not in page and "33 %" not in page
    assert page.count(FEW) >= 3
    # Per municipality on her start page.
    home = client.get("/").get_data(as_text=True)
    assert re.search(rf"<th scope=\"row\">Sigtuna</th>\s*<td[^>]*>{FEW}</td>", home)
    # New hires: three of them.
    hires = client.get(f"/reports/new-hires?{args}").get_data(as_text=True)
    assert FEW in hires and "(3 personer)" not in hires

    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/coverage.xlsx?{args}").data))
    by_title = {sheet.title: sheet for sheet in book.worksheets}
    trend = list(by_title["Utveckling"].iter_rows(min_row=2, values_only=True))
    assert trend and all(set(row[1:]) == {FEW} for row in trend)
    new_hires = list(by_title["Nyanställda"].iter_rows(min_row=2, values_only=True))
    assert new_hires and all(set(row[1:]) == {FEW} for row in new_hires)
    for sheet in book.worksheets[:3]:  # per municipality, sector and unit: every row
        figures = 3 if sheet.title == "Per enhet" else 1  # a unit's municipality, sector
        for row in sheet.iter_rows(min_row=2, values_only=True):
            assert set(row[figures:]) == {FEW}, (sheet.title, row)


# --- HR and coordinators of the municipality --------------------------------------------------


def test_hr_sees_their_own_small_unit_with_figures_and_names(client, region):
    client.sign_in(factories.hr_staff("Sigtuna"))

    page = client.get("/reports/?view=unit").get_data(as_text=True)
    assert "1 av 3" in row_of(page, "Liten enhet")
    assert csv_rows(client.get("/reports/coverage.csv?view=unit").data)["Liten enhet"][0] == "3"
    unit_page = client.get(f"/reports/units/{region['small'].id}").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Sara Sarasson" in unit_page and "Siv Sivsson" in unit_page


def test_a_municipal_coordinator_reads_her_own_units_counts_but_no_names(client, region):
    coordinator = factories.with_role(
        factories.employee(unit=factories.unit("Sigtuna", Sector.OTHER, "Kansliet")),
        Role.COORDINATOR,
        municipality_name="Sigtuna",
    )
    client.sign_in(coordinator)

    page = client.get(f"/reports/units/{region['small'].id}").get_data(as_text=True)  # type: ignore[attr-defined]

    assert "1 av 3" in page  # her own municipality: small, but shown
    assert FEW not in page
    for name in ("Sara", "Sven", "Siv"):
        assert name not in page


def test_an_admin_sees_every_figure(client, region):
    client.sign_in(factories.admin())
    page = client.get("/reports/?view=unit").get_data(as_text=True)
    assert "1 av 3" in row_of(page, "Liten enhet")
    assert FEW not in page


def test_the_privacy_notice_states_the_rule_in_swedish_and_english(client):
    page = client.get("/privacy").get_data(as_text=True)
    assert "en sammanställning över färre än 5 personer visas inte alls" in page
    assert "Samordnare ser antal, aldrig namn" in page

    client.post_form("/language", {"language": "en", "next": "/privacy"})
    english = client.get("/privacy").get_data(as_text=True)
    assert "a summary of fewer than 5 people is not shown at all" in english
    assert "Coordinators see counts, never names" in english
