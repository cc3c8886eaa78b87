"""Drill-down on the coverage and new-hire reports (issue #17): municipality → sector → unit,
each level a link that keeps the page's other filters, and a breadcrumb (a named navigation
whose last crumb is the page itself) on every level."""

from __future__ import annotations

from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import url_for

from tests import factories
from training_tracker import clock
from training_tracker.models import Role, Sector
from training_tracker.reports.cells import row_links
from training_tracker.services.reporting.coverage_types import CoverageFilters


class Links(HTMLParser):
    """The breadcrumb's links (label, href, current) and the report table's row links."""

    def __init__(self) -> None:
        super().__init__()
        self.crumbs: list[tuple[str, str, bool]] = []
        self.row_links: list[tuple[str, str]] = []
        self._nav = False
        self._row_header = False
        self._href: str | None = None
        self._current = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "nav" and found.get("aria-label") == "Brödsmulor":
            self._nav = True
        elif tag == "th" and found.get("scope") == "row":
            self._row_header = True
        elif tag == "a" and (self._nav or self._row_header):
            self._href, self._current, self._text = found.get("href"), False, []
            self._current = found.get("aria-current") == "page"

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._nav = False
        elif tag == "th":
            self._row_header = False
        elif tag == "a" and self._href is not None:
            label = "".join(self._text).strip()
            if self._nav:
                self.crumbs.append((label, self._href, self._current))
            else:
                self.row_links.append((label, self._href))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)


def links_of(client, path: str) -> Links:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, path
    parser = Links()
    parser.feed(response.get_data(as_text=True))
    return parser


def args_of(href: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(href).query).items()}


@pytest.fixture()
def region():  # type: ignore[no-untyped-def]
    """Staff hired two months ago with a required course, in two sectors of Järfälla and in
    Sigtuna."""
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    units = [
        factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla"),
        factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan"),
        factories.unit("Sigtuna", Sector.SCHOOL, "Skolan"),
    ]
    for unit in units:
        for _ in range(5):
            hired = clock.today() - timedelta(days=60)  # a new hire, for the new-hire report
            person = factories.employee(unit=unit, password=None, hire_date=hired)
            factories.assignment(person, course)
    return course, units


def test_a_regional_coordinator_goes_down_from_the_region_to_a_unit(client, region):
    course, (ifo, _school, _sigtuna) = region
    jarfalla = factories.municipality("Järfälla")
    client.sign_in(
        factories.with_role(
            factories.employee(unit=factories.unit("Sundbyberg", Sector.OTHER, "Kansliet")),
            Role.COORDINATOR,
        )
    )
    kept = {"course_id": str(course.id), "mode": "verified"}
    query = f"course_id={course.id}&mode=verified"

    top = links_of(client, f"/reports/?{query}")
    assert [(label, current) for label, _, current in top.crumbs] == [("Alla kommuner", True)]
    municipality_links = dict(top.row_links)
    assert {"Järfälla", "Sigtuna"} <= set(municipality_links)
    down = args_of(municipality_links["Järfälla"])
    assert down == {**kept, "view": "sector", "municipality_id": str(jarfalla.id)}

    sectors = links_of(client, municipality_links["Järfälla"])
    assert [(label, current) for label, _, current in sectors.crumbs] == [
        ("Alla kommuner", False),
        ("Järfälla", True),
    ]
    assert args_of(sectors.crumbs[0][1]) == {**kept, "view": "municipality"}
    sector_links = dict(sectors.row_links)
    assert set(sector_links) == {"Socialtjänst", "Skola och förskola"}
    assert args_of(sector_links["Socialtjänst"]) == {
        **kept,
        "view": "unit",
        "municipality_id": str(jarfalla.id),
        "sector": Sector.SOCIAL_SERVICES.value,
    }

    units = links_of(client, sector_links["Socialtjänst"])
    assert [(label, current) for label, _, current in units.crumbs] == [
        ("Alla kommuner", False),
        ("Järfälla", False),
        ("Socialtjänst", True),
    ]
    assert args_of(units.crumbs[1][1]) == down
    unit_links = dict(units.row_links)
    assert list(unit_links) == ["IFO Järfälla"]  # the school is in another sector
    assert urlsplit(unit_links["IFO Järfälla"]).path == f"/reports/units/{ifo.id}"
    assert args_of(unit_links["IFO Järfälla"])["course_id"] == str(course.id)

    unit_page = links_of(client, unit_links["IFO Järfälla"])
    assert [(label, current) for label, _, current in unit_page.crumbs] == [
        ("Alla kommuner", False),
        ("Järfälla", False),
        ("Socialtjänst", False),
        ("IFO Järfälla", True),
    ]
    for _, href, _ in unit_page.crumbs:
        assert args_of(href)["course_id"] == str(course.id)
        assert args_of(href)["mode"] == "verified"


def test_a_municipal_coordinators_trail_starts_at_her_municipality(client, region):
    _course, (_ifo, school, _sigtuna) = region
    client.sign_in(
        factories.with_role(
            factories.employee(unit=factories.unit("Järfälla", Sector.OTHER, "Kansliet")),
            Role.COORDINATOR,
            municipality_name="Järfälla",
        )
    )
    top = links_of(client, "/reports/")
    assert [(label, current) for label, _, current in top.crumbs] == [("Järfälla", True)]
    sectors = dict(top.row_links)
    assert {"Socialtjänst", "Skola och förskola"} <= set(sectors)
    school_units = links_of(client, sectors["Skola och förskola"])
    assert [label for label, _, _ in school_units.crumbs] == ["Järfälla", "Skola och förskola"]
    assert dict(school_units.row_links).keys() == {"Viksjöskolan"}
    page = links_of(client, f"/reports/units/{school.id}")
    assert [label for label, _, _ in page.crumbs] == [
        "Järfälla",
        "Skola och förskola",
        "Viksjöskolan",
    ]


def test_the_new_hire_report_drills_down_the_same_way(client, region):
    client.sign_in(factories.admin())
    top = links_of(client, "/reports/new-hires?view=municipality&mode=verified")
    assert [label for label, _, _ in top.crumbs] == ["Alla kommuner"]
    jarfalla = dict(top.row_links)["Järfälla"]
    assert args_of(jarfalla)["view"] == "sector" and args_of(jarfalla)["mode"] == "verified"
    sectors = links_of(client, jarfalla)
    assert [label for label, _, _ in sectors.crumbs] == ["Alla kommuner", "Järfälla"]
    units = links_of(client, dict(sectors.row_links)["Socialtjänst"])
    assert [label for label, _, _ in units.crumbs] == ["Alla kommuner", "Järfälla", "Socialtjänst"]
    assert list(dict(units.row_links)) == ["IFO Järfälla"]
    assert args_of(dict(units.row_links)["IFO Järfälla"])["mode"] == "verified"


@pytest.mark.parametrize(
    "filters",
    [
        CoverageFilters(),
        CoverageFilters(as_of=date(2026, 3, 1), course_id=7, mode="verified"),
        CoverageFilters(municipality_id=3, sector=Sector.SCHOOL, provider_id=2),
    ],
)
def test_each_rows_link_is_the_link_url_for_builds(app, filters):
    """The table builds its rows' links once, with a stand-in for the key (row_links): each
    is the one url_for gives for its row, every other filter kept."""
    with app.test_request_context():
        expected = {
            "municipality": lambda key: url_for(
                "reports.coverage_page",
                view="sector",
                **filters.but(municipality_id=key).to_args(),
            ),
            "sector": lambda key: url_for(
                "reports.coverage_page",
                view="unit",
                sector=key,
                **filters.but(sector=None).to_args(),
            ),
            "unit": lambda key: url_for("reports.unit_page", unit_id=key, **filters.to_args()),
        }
        keys = {
            "municipality": [1, 290],
            "sector": ["school", "health_and_care"],
            "unit": [5, 21659],
        }
        for view, link in expected.items():
            link_of = row_links(view, filters)
            for key in keys[view]:
                assert link_of(key) == link(key), (view, key)
