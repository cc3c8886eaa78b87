"""The coverage table's cells, rendered in Python: the same HTML as the ``coverage_cell``
macro of ``templates/reports/_macros.html`` (which the unit page, with a few cells, keeps
using). A country's table has two thousand cells (290 municipalities × 7 columns), and a
macro call each, with its translations looked up through Flask-Babel every time, was four
fifths of the regional page at 850,000 employees; here the translations are bound once per
table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from flask import url_for
from flask_babel import get_translations
from markupsafe import Markup, escape

from training_tracker.services.reporting.coverage_types import (
    Cell,
    CourseColumn,
    CoverageFilters,
    CoverageRow,
)


def percent_text(value: float | None) -> str:
    """As the macro ``percent_text``: a whole percentage (rounded as Jinja's ``round``), or
    a dash."""
    return "–" if value is None else f"{round(value)} %"


def band(value: float | None) -> str:
    if value is None:
        return "band-none"
    if value >= 90:
        return "band-high"
    if value >= 60:
        return "band-mid"
    return "band-low"


def cell_renderer() -> Callable[[Cell, str | None], Markup]:
    """A function rendering one compact cell (``coverage_cell(cell)`` of the macros), with
    the request's translations bound: each text escaped once, each count's plural form
    looked up once (a country's table writes some 40,000 of them)."""
    translations = get_translations()
    _ = translations.gettext
    show = escape(_("visa antal"))
    # Escaped before the numbers go in: a number needs no escaping.
    covered_of = str(escape(_("%(covered)d av %(required)d")))
    reported = _counted("%(num)d rapporterad", "%(num)d rapporterade", "cell-detail")
    overdue = _counted("%(num)d försenad", "%(num)d försenade", "cell-detail overdue-text")
    exempt = _counted("%(num)d undantagen", "%(num)d undantagna", "cell-detail")

    def counts(cell: Cell) -> str:
        covered = covered_of % {"covered": cell.covered, "required": cell.required}
        parts = [f'<span class="cell-detail">{covered}</span>']
        if cell.reported:
            parts.append(reported(cell.reported))
        if cell.overdue:
            parts.append(overdue(cell.overdue))
        if cell.exempt:
            parts.append(exempt(cell.exempt))
        return "\n    ".join(parts)

    def render(cell: Cell, label: str | None = None) -> Markup:
        """The cell; ``label`` (its column's name) is shown before it where the table stacks
        on a phone."""
        value = cell.percent
        strong = f"<strong>{percent_text(value)}</strong>"
        if cell.required or cell.exempt:
            inner = (
                f'<details class="cell-counts"><summary>{strong}<span class="visually-hidden">'
                f", {show}</span></summary>{counts(cell)}</details>"
            )
        else:
            inner = strong
        labelled = ""
        if label:
            labelled = attributes.get(label) or attributes.setdefault(
                label, f' data-label="{escape(label)}"'
            )
        return Markup(f'<td class="num coverage-cell {band(value)}"{labelled}>{inner}</td>')

    attributes: dict[str, str] = {}  # a column's name, escaped once
    return render


def _counted(singular: str, plural: str, css: str) -> Callable[[int], str]:
    """ "3 rapporterade" as a detail span, in the request's language, kept per number."""
    ngettext = get_translations().ngettext
    written: dict[int, str] = {}

    def detail(n: int) -> str:
        found = written.get(n)
        if found is None:
            text = escape(ngettext(singular, plural, n) % {"num": n})
            found = written[n] = f'<span class="{css}">{text}</span>'
        return found

    return detail


class RowRenderer:
    """A coverage table's rows, each in two calls from the template: the people under the
    row's name (the ``row_people`` macro) and its cells after it, every course's in one call
    (or the one cell saying the row is withheld). A country's 290 rows made some twenty
    template calls each, every translation looked up through Flask-Babel: two thirds of the
    page's own time at 850,000 employees."""

    def __init__(
        self,
        courses: Sequence[CourseColumn],
        all_label: str,
        course_labels: Sequence[str],
        withheld: str,
    ) -> None:
        self.course_ids = [course.id for course in courses]
        self.labels = [all_label, *course_labels]
        self.cell = cell_renderer()
        self.ngettext = get_translations().ngettext
        self.withheld = Markup(
            f'<td colspan="{1 + len(self.course_ids)}" class="withheld">{escape(withheld)}</td>'
        )

    def people(self, row: CoverageRow) -> Markup:
        ngettext = self.ngettext
        people = ngettext("%(num)d anställd", "%(num)d anställda", row.people)
        trained = ngettext("%(num)d fullt utbildad", "%(num)d fullt utbildade", row.fully_trained)
        return Markup(
            f'<span class="cell-detail">{escape(people % {"num": row.people})}</span>'
            f'<span class="cell-detail">'
            f"{escape(trained % {'num': row.fully_trained})}</span>"
        )

    def cells(self, row: CoverageRow) -> Markup:
        if row.withheld:
            return self.withheld
        cells = [row.all_required, *(row.cell(course_id) for course_id in self.course_ids)]
        return Markup(
            "\n".join(
                self.cell(cell, label) for cell, label in zip(cells, self.labels, strict=True)
            )
        )


# Stand-ins for a row's key in a link built once (no filter value is ever either): a word in
# the query, a number where the key is in the path.
_KEY = "ROWKEY"
_KEY_ID = 2**31 - 1


def row_links(view: str, filters: CoverageFilters) -> Callable[[Any], str]:
    """The link of each row's name: down one level, the other filters kept (a municipality →
    its sectors → a sector's units → a unit's page). Built once with a stand-in for the
    row's key, which each row's link replaces: ``url_for`` for each of a country's 290 rows
    was a tenth of the page."""
    # Typed as url_for takes them (its stubs type the keyword arguments it has).
    args: dict[str, Any] = {**filters.to_args()}
    if view == "unit":
        # The unit's id is in the path, which comes before any filter in the query.
        built = url_for("reports.unit_page", unit_id=_KEY_ID, **args)
        head, _, tail = built.partition(f"/{_KEY_ID}")
        return lambda key: f"{head}/{int(key)}{tail}"
    if view == "municipality":
        args = {**filters.but(municipality_id=_KEY).to_args()}  # _KEY in its place among them
        built = url_for("reports.coverage_page", view="sector", **args)
    else:
        args = {**filters.but(sector=None).to_args()}
        built = url_for("reports.coverage_page", view="unit", sector=_KEY, **args)
    head, _, tail = built.partition(_KEY)
    return lambda key: f"{head}{quote(str(key), safe='')}{tail}"
