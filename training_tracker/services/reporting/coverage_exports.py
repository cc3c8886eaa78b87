"""The coverage report as spreadsheets: the very tables the page shows, from the same service
calls, so the numbers always match."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker.models import Employee
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.core.spreadsheets import Sheet
from training_tracker.services.reporting import minimisation
from training_tracker.services.reporting.coverage import (
    Cell,
    CoverageFilters,
    CoverageRow,
    CoverageTable,
    NewHireGroups,
    NewHireReport,
    NewHireRow,
    TrendPoint,
)
from training_tracker.services.reporting.minimisation import withheld_text
from training_tracker.services.reporting.programme_reach import ProgrammeReach, ReachRow

# The report's groupings: a row per municipality, sector or unit.
VIEWS = ("municipality", "sector", "unit")


def view_title(view: str) -> str:
    return {
        "municipality": _("Per kommun"),
        "sector": _("Per sektor"),
        "unit": _("Per enhet"),
    }[view]


def group_label(view: str) -> str:
    return {"municipality": _("Kommun"), "sector": _("Sektor"), "unit": _("Enhet")}[view]


def coverage_workbook(
    session: Session,
    user: Employee,
    scope: ReportScope,
    filters: CoverageFilters,
    view: str,
    table: CoverageTable,
    rows: Sequence[CoverageRow],
) -> list[Sheet]:
    """The coverage report's XLSX: the page's table (``rows``, in the page's order), then
    the other groupings, the trend, the new hires and the programme's reach, each as
    ``user`` may see it (small groups withheld alike)."""
    others = [
        table_sheet(
            minimisation.shown_table(session, user, scope, filters, other),
            view_title(other),
            group_label(other),
        )
        for other in VIEWS
        if other != view
    ]
    return [
        table_sheet(table, view_title(view), group_label(view), rows),
        *others,
        trend_sheet(minimisation.shown_trend(session, user, scope, filters, table)),
        new_hire_sheet(minimisation.shown_new_hires(session, user, scope, filters)),
        reach_sheet(minimisation.shown_reach(session, scope, filters, table), group_label(view)),
    ]


def rounded(value: float | None) -> int | None:
    """A percentage as the page shows it."""
    return None if value is None else round(value)


def definitions() -> list[str]:
    """How we count: the same text as the page's note."""
    return [
        _(
            "Befolkning: anställda som är anställda på rapportdagen (anställningsdatum senast "
            "den dagen och inget slutdatum före eller samma dag)."
        ),
        _(
            "Krävs: kurser som ett utbildningskrav gäller för personen på rapportdagen, utom "
            "de hen är undantagen från. Undantag räknas för sig."
        ),
        _(
            "Godkänd: en genomförd kurs som chef eller HR har godkänt, och som inte har gått "
            "ut. Rapporterad: väntar på granskning."
        ),
        _(
            "Täckning: klara delat med krävda. Klara är godkända, och rapporterade där "
            "kommunen räknar dem (eller där rapporten valts att räkna dem)."
        ),
        _("Försenad: krävs, inte klar, och sista dagen har passerat."),
        _("Fullt utbildad: klar med alla kurser som krävs av personen."),
    ]


def _cell_values(cell: Cell) -> list[int | None]:
    return [
        cell.required,
        cell.verified,
        cell.reported,
        cell.covered,
        cell.overdue,
        cell.exempt,
        rounded(cell.percent),
    ]


def _cell_headers(name: str) -> list[str]:
    return [
        f"{name}: " + _("krävs"),
        f"{name}: " + _("godkända"),
        f"{name}: " + _("rapporterade"),
        f"{name}: " + _("klara"),
        f"{name}: " + _("försenade"),
        f"{name}: " + _("undantagna"),
        f"{name}: " + _("täckning %"),
    ]


def table_sheet(
    table: CoverageTable,
    title: str,
    group_label: str,
    rows_in_order: Sequence[CoverageRow] | None = None,
) -> Sheet:
    """The table as the page shows it: its rows in the page's order, then the totals. A
    unit's row also names its municipality and sector, so that two municipalities' units of
    one name can be told apart."""
    by_unit = table.group_by == "unit"
    where = [_("Kommun"), _("Sektor")] if by_unit else []
    header = [group_label, *where, _("Anställda"), _("Fullt utbildade")]
    header += _cell_headers(_("Alla krävda kurser"))
    for course in table.courses:
        header += _cell_headers(course.title)
    rows: list[list[str | int | None]] = []
    ordered = table.rows if rows_in_order is None else rows_in_order
    for row in [*ordered, table.total]:
        label = row.label if row.key is not None else _("Totalt")
        values: list[str | int | None] = [label]
        if by_unit:
            values += [row.municipality, row.sector]
        if row.withheld:  # every figure of the row, not only some (services.minimisation)
            values += [withheld_text()] * (len(header) - len(values))
        else:
            values += [row.people, row.fully_trained, *_cell_values(row.all_required)]
            for course in table.courses:
                values += _cell_values(row.cell(course.id))
        rows.append(values)
    return Sheet(title=title, header=header, rows=rows)


def pending_text() -> str:
    """A trend point not yet computed (see :attr:`~.coverage_types.TrendPoint.pending`)."""
    return _("räknas fram")


def trend_sheet(points: Sequence[TrendPoint]) -> Sheet:
    return Sheet(
        title=_("Utveckling"),
        header=[_("Datum"), _("Klara"), _("Krävda"), _("Täckning %")],
        rows=[
            [point.day, *([withheld_text()] * 3)]
            if point.withheld
            else [point.day, *([pending_text()] * 3)]
            if point.pending
            else [point.day, point.covered, point.required, rounded(point.percent)]
            for point in points
        ],
    )


def new_hire_sheet(report: NewHireReport) -> Sheet:
    if report.withheld:
        rows: list[list[str | int | float | None]] = [[_("Alla kurser"), *[withheld_text()] * 6]]
    else:
        rows = [
            [row.course.title, *[withheld_text()] * 6]
            if row.withheld
            else [
                row.course.title,
                row.required,
                row.judged,
                row.completed_by_due,
                rounded(row.share),
                row.completed,
                None if row.median_days is None else round(row.median_days, 1),
            ]
            for row in report.rows
        ]
    return Sheet(
        title=_("Nyanställda"),
        header=[
            _("Kurs"),
            _("Krävs"),
            _("Bedömda"),
            _("Klara i tid"),
            _("Andel i tid %"),
            _("Klara"),
            _("Median dagar till klar"),
        ],
        rows=rows,
    )


def _new_hire_values(row: NewHireRow | None) -> list[str | int | float | None]:
    if row is None:  # not required of the group's hires
        return [0, 0, 0, None, None]
    if row.withheld:
        return [withheld_text()] * 5
    median = None if row.median_days is None else round(row.median_days, 1)
    return [row.required, row.judged, row.completed_by_due, rounded(row.share), median]


def new_hire_groups_sheet(report: NewHireGroups, group_label: str) -> Sheet:
    """New-hire compliance per group as the page shows it: the hires, all courses together
    (judged, completed by the due date, the share), then each course. A unit's row names its
    municipality."""
    by_unit = report.group_by == "unit"
    header = [group_label, *([_("Kommun")] if by_unit else []), _("Nyanställda")]
    everything = _("Alla kurser")
    header += [
        f"{everything}: " + _("bedömda"),
        f"{everything}: " + _("klara i tid"),
        f"{everything}: " + _("andel i tid %"),
    ]
    for course in report.courses:
        header += [
            f"{course.title}: " + _("krävs"),
            f"{course.title}: " + _("bedömda"),
            f"{course.title}: " + _("klara i tid"),
            f"{course.title}: " + _("andel i tid %"),
            f"{course.title}: " + _("median dagar till klar"),
        ]
    rows: list[list[str | int | float | None]] = []
    for group in report.groups:
        values: list[str | int | float | None] = [group.label]
        if by_unit:
            values.append(group.municipality)
        if group.withheld:
            values += [withheld_text()] * (len(header) - len(values))
        else:
            values.append(group.hires)
            if group.partly_withheld:  # the sum would tell the withheld course's figures
                values += [withheld_text()] * 3
            else:
                values += [group.judged, group.completed_by_due, rounded(group.share)]
            for course in report.courses:
                values += _new_hire_values(group.row(course.id))
        rows.append(values)
    return Sheet(title=_("Nyanställda per grupp"), header=header, rows=rows)


def reach_sheet(reach: ProgrammeReach, group_label: str) -> Sheet:
    """The joint programme's reach, as the coverage page shows it."""

    def values(row: ReachRow, label: str) -> list[str | int | float | None]:
        if row.withheld:
            return [label, *[withheld_text()] * 5]
        return [
            label,
            row.people,
            row.signed_up,
            rounded(row.signed_up_percent),
            row.attended,
            rounded(row.attended_percent),
        ]

    rows = [values(row, row.label) for row in reach.rows]
    rows.append(values(reach.total, _("Totalt")))
    return Sheet(
        title=_("Programmet %(year)s", year=reach.year),
        header=[
            group_label,
            _("Anställda"),
            _("Anmälda"),
            _("Anmälda %"),
            _("Närvarande"),
            _("Närvarande %"),
        ],
        rows=rows,
        notes=[
            _(
                "Gemensamma programmet: anmälda har en plats på ett av årets evenemang, "
                "närvarande har varit med på ett tillfälle. Var och en räknas en gång."
            )
        ],
    )
