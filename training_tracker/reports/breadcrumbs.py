"""Where a report page sits on the way down: region › municipality › sector › unit. Every
crumb links to the same report one level up, with the page's other filters (date, course,
provider, count mode) kept; the last one is the page itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from flask import url_for
from flask_babel import gettext as _

from training_tracker.models import Sector, Unit
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage import Choice, CoverageFilters


class Crumb(NamedTuple):
    label: str
    url: str


def trail(
    endpoint: str,
    scope: ReportScope,
    filters: CoverageFilters,
    municipalities: Sequence[Choice],
    unit: Unit | None = None,
) -> list[Crumb]:
    """The crumbs of a report at ``endpoint`` (the coverage or the new-hire report) narrowed
    by ``filters`` (or to ``unit``: its own page). ``municipalities`` are those the reader
    may choose (the report's choices): with several, the trail starts at the region; with
    one, at that municipality; a manager's (no municipality of their own) at their units."""
    base = filters.but(municipality_id=None, sector=None, unit_id=None)
    regional = len(municipalities) > 1
    own_municipality = scope.all_municipalities or bool(scope.municipality_ids)
    names = {choice.id: choice.label for choice in municipalities}
    crumbs: list[Crumb] = []
    if regional:
        crumbs.append(Crumb(_("Alla kommuner"), _link(endpoint, "municipality", base)))
    elif not own_municipality:
        crumbs.append(Crumb(_("Mina enheter"), _link(endpoint, "unit", base)))

    municipality_id = unit.municipality_id if unit is not None else filters.municipality_id
    if municipality_id is None and not regional and own_municipality and municipalities:
        municipality_id = municipalities[0].id
    at = base
    if municipality_id in names and (regional or own_municipality):
        if regional:
            at = at.but(municipality_id=municipality_id)
        crumbs.append(Crumb(names[municipality_id], _link(endpoint, "sector", at)))
    sector = Sector(unit.sector) if unit is not None else filters.sector
    if sector is not None:
        at = at.but(sector=sector)
        crumbs.append(Crumb(sector.label, _link(endpoint, "unit", at)))
    if unit is not None:
        own_page: dict[str, Any] = {"unit_id": unit.id, **base.to_args()}
        url = (
            url_for("reports.unit_page", **own_page)
            if endpoint == "reports.coverage_page"
            else _link(endpoint, "unit", at.but(unit_id=unit.id))
        )
        crumbs.append(Crumb(unit.name, url))
    return crumbs


def _link(endpoint: str, view: str, filters: CoverageFilters) -> str:
    args: dict[str, Any] = {"view": view, **filters.to_args()}
    return url_for(endpoint, **args)
