"""The coverage table's cells, rendered in Python: the same HTML as the ``coverage_cell``
macro of ``templates/reports/_macros.html`` (which the unit page, with a few cells, keeps
using). A country's table has two thousand cells (290 municipalities × 7 columns), and a
macro call each, with its translations looked up through Flask-Babel every time, was four
fifths of the regional page at 850,000 employees; here the translations are bound once per
table."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import get_translations
from markupsafe import Markup, escape

from training_tracker.services.reporting.coverage_types import Cell


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


def cell_renderer() -> Callable[[Cell], Markup]:
    """A function rendering one compact cell (``coverage_cell(cell)`` of the macros), with
    the request's translations bound."""
    translations = get_translations()
    _ = translations.gettext
    ngettext = translations.ngettext
    show = escape(_("visa antal"))
    covered_of = _("%(covered)d av %(required)d")

    def detail(text: str, css: str = "cell-detail") -> str:
        return f'<span class="{css}">{escape(text)}</span>'

    def counts(cell: Cell) -> str:
        parts = [detail(covered_of % {"covered": cell.covered, "required": cell.required})]
        if cell.reported:
            n = cell.reported
            parts.append(
                detail(ngettext("%(num)d rapporterad", "%(num)d rapporterade", n) % {"num": n})
            )
        if cell.overdue:
            n = cell.overdue
            parts.append(
                detail(
                    ngettext("%(num)d försenad", "%(num)d försenade", n) % {"num": n},
                    "cell-detail overdue-text",
                )
            )
        if cell.exempt:
            n = cell.exempt
            parts.append(
                detail(ngettext("%(num)d undantagen", "%(num)d undantagna", n) % {"num": n})
            )
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
        labelled = f' data-label="{escape(label)}"' if label else ""
        return Markup(f'<td class="num coverage-cell {band(value)}"{labelled}>{inner}</td>')

    return render
