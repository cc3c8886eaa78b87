"""Routes; see the package docstring. Every number comes from ``services.coverage`` within the
user's ``report_scope``: what lies outside it is not counted, and a unit outside it is 404.
Pages and downloads read the numbers through ``services.minimisation``, which withholds the
small aggregates of other municipalities (``scope.aggregate_withheld``)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from training_tracker.access import role_required
from training_tracker.charts import Point, Series, format_value
from training_tracker.downloads import file_download
from training_tracker.extensions import db
from training_tracker.models import Role, Sector, Unit
from training_tracker.reports.breadcrumbs import trail
from training_tracker.reports.cells import RowRenderer, row_links
from training_tracker.services.core.scope import ReportScope, names_visible, report_scope
from training_tracker.services.core.spreadsheets import export_filename, to_csv, to_xlsx
from training_tracker.services.reporting import (
    coverage,
    coverage_exports,
    manager_overview,
    minimisation,
)
from training_tracker.services.reporting.coverage import (
    CoverageFilters,
    CoverageRow,
    CoverageTable,
    ReportChoices,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")
bp.add_app_template_global(RowRenderer, "coverage_row_renderer")
bp.add_app_template_global(row_links, "coverage_row_links")

READERS = (Role.MANAGER, Role.HR, Role.COORDINATOR, Role.ADMIN)
VIEWS = coverage_exports.VIEWS
# The trend has a line per municipality up to this many (the region's six; the chart has six
# looks, reused twice). A country's 290 lines would be unreadable, and a 290-column table
# under them: the total's trend only, as for one municipality.
MAX_TREND_LINES = 12


def _view_for(scope: ReportScope) -> str:
    """Regional readers compare municipalities; a municipality's readers its sectors; a
    manager their units. ``?view=`` chooses another."""
    chosen = request.args.get("view", "")
    if chosen in VIEWS:
        return chosen
    if scope.all_municipalities or len(scope.municipality_ids) > 1:
        return "municipality"
    return "sector" if scope.municipality_ids else "unit"


def _sorted(table: CoverageTable) -> tuple[list[CoverageRow], str, bool]:
    """The rows in the order the user asked for: by name, or by a column's coverage (rows
    without a percentage last either way)."""
    sort = request.args.get("sort", "label")
    descending = request.args.get("dir") == "desc"
    course_ids = {str(course.id) for course in table.courses}
    if sort != "all" and sort not in course_ids:
        rows = sorted(table.rows, key=lambda row: row.label.casefold(), reverse=descending)
        return rows, "label", descending

    def percent_of(row: CoverageRow) -> float | None:
        cell = row.all_required if sort == "all" else row.cell(int(sort))
        return cell.percent

    known = [row for row in table.rows if percent_of(row) is not None]
    unknown = [row for row in table.rows if percent_of(row) is None]
    known.sort(key=lambda row: percent_of(row) or 0.0, reverse=descending)
    return known + unknown, sort, descending


def _axis(days: list[date]) -> list[Point]:
    """A trend's x axis: the month ("jan.") with its year, which the chart shows under the
    first month and under each January."""
    return [Point(format_date(day, "LLL"), None, str(day.year)) for day in days]


def _chosen_unit(filters: CoverageFilters) -> Unit | None:
    return db.session.get(Unit, filters.unit_id) if filters.unit_id is not None else None


def _shown_table(scope: ReportScope, filters: CoverageFilters, view: str) -> CoverageTable:
    """The table as the reader may see it. A cache too stale to answer from (empty after a
    restore) is not waited for: past the live budget the table is ``pending``, and the page
    says the figures are being computed."""
    budget = current_app.config["COVERAGE_LIVE_BUDGET_SECONDS"]
    return minimisation.shown_table(db.session, current_user, scope, filters, view, budget)


def _choices(scope: ReportScope, filters: CoverageFilters) -> ReportChoices:
    return coverage.report_choices(db.session, scope, filters.municipality_id)


@bp.route("/")
@role_required(*READERS)
def coverage_page() -> str:
    scope = report_scope(current_user)
    if scope.is_empty:
        abort(403)
    filters = coverage.parse_filters(request.args)
    view = _view_for(scope)
    table = _shown_table(scope, filters, view)
    rows, sort, descending = _sorted(table)
    if (
        view == "municipality"
        and 1 < len(table.rows) <= MAX_TREND_LINES
        and not table.total.withheld
    ):
        # Regional readers compare the municipalities over time too: a line each, and the
        # total summed from them (as many queries as the total alone).
        trend, trends = minimisation.shown_trends(db.session, current_user, scope, filters, table)
    else:
        trend = minimisation.shown_trend(db.session, current_user, scope, filters, table)
        trends = []
    choices = _choices(scope, filters)
    axis = _axis([point.day for point in trend])
    return render_template(
        "reports/coverage.html",
        filters=filters,
        view=view,
        views=VIEWS,
        table=table,
        rows=rows,
        sort=sort,
        descending=descending,
        group_label=coverage_exports.group_label(view),
        trend=trend,
        trends=trends,
        trend_pending=any(point.pending for point in trend),
        points=[
            Point(tick.label, point.percent, tick.year)
            for tick, point in zip(axis, trend, strict=True)
        ],
        axis=axis,
        series=[Series(one.label, [point.percent for point in one.points]) for one in trends],
        series_summary=_(
            "Vid det senaste datumet: %(values)s.",
            values=", ".join(
                f"{one.label} {format_value(one.points[-1].percent)}"
                for one in trends
                if one.points
            ),
        ),
        bars=[(row.label, row.all_required.percent) for row in rows],
        choices=choices,
        crumbs=trail(
            "reports.coverage_page", scope, filters, choices.municipalities, _chosen_unit(filters)
        ),
        sectors=list(Sector),
        definitions=coverage_exports.definitions(),
        reach=minimisation.shown_reach(db.session, scope, filters, table),
    )


@bp.route("/units/<int:unit_id>")
@role_required(*READERS)
def unit_page(unit_id: int) -> str:
    scope = report_scope(current_user)
    unit = db.session.get(Unit, unit_id)
    if unit is None or not scope.includes_unit(unit.id, unit.municipality_id):
        abort(404)
    filters = coverage.parse_filters(request.args)
    only_overdue = request.args.get("overdue") == "1"
    if names_visible(current_user, unit):
        people = coverage.unit_people(db.session, scope, filters, unit_id)
        if only_overdue:
            people = manager_overview.only_overdue(people)
        counts = None
    else:  # a coordinator: the unit's counts, not its people
        people = None
        counts = minimisation.shown_table(
            db.session, current_user, scope, filters.but(unit_id=unit.id), "unit"
        )
    choices = _choices(scope, filters)
    return render_template(
        "reports/unit.html",
        unit=unit,
        filters=filters,
        people=people,
        counts=counts,
        only_overdue=only_overdue,
        can_open_people=current_user.has_role(Role.HR, Role.ADMIN),
        crumbs=trail("reports.coverage_page", scope, filters, choices.municipalities, unit),
    )


@bp.route("/new-hires")
@role_required(*READERS)
def new_hires_page() -> str:
    scope = report_scope(current_user)
    if scope.is_empty:
        abort(403)
    filters = coverage.parse_filters(request.args)
    view = _view_for(scope)
    report = minimisation.shown_new_hires(db.session, current_user, scope, filters)
    groups = minimisation.shown_new_hire_groups(db.session, current_user, scope, filters, view)
    choices = _choices(scope, filters)
    return render_template(
        "reports/new_hires.html",
        filters=filters,
        report=report,
        groups=groups,
        view=view,
        views=VIEWS,
        group_label=coverage_exports.group_label(view),
        choices=choices,
        crumbs=trail(
            "reports.new_hires_page", scope, filters, choices.municipalities, _chosen_unit(filters)
        ),
        sectors=list(Sector),
    )


def _new_hires_export(extension: str) -> Response:
    scope = report_scope(current_user)
    if scope.is_empty:
        abort(403)
    filters = coverage.parse_filters(request.args)
    view = _view_for(scope)
    groups = minimisation.shown_new_hire_groups(db.session, current_user, scope, filters, view)
    sheet = coverage_exports.new_hire_groups_sheet(groups, coverage_exports.group_label(view))
    filename = export_filename(_("nyanställda"), groups.as_of, extension)
    if extension == "csv":
        return file_download(to_csv(sheet), filename, extension)
    total = coverage_exports.new_hire_sheet(
        minimisation.shown_new_hires(db.session, current_user, scope, filters)
    )
    body = to_xlsx([sheet, total], definitions=coverage_exports.definitions())
    return file_download(body, filename, extension)


@bp.route("/new-hires.csv")
@role_required(*READERS)
def new_hires_csv() -> Response:
    return _new_hires_export("csv")


@bp.route("/new-hires.xlsx")
@role_required(*READERS)
def new_hires_xlsx() -> Response:
    return _new_hires_export("xlsx")


def _export(extension: str) -> Response:
    scope = report_scope(current_user)
    if scope.is_empty:
        abort(403)
    filters = coverage.parse_filters(request.args)
    view = _view_for(scope)
    table = _shown_table(scope, filters, view)
    if table.pending:
        return _being_computed()
    rows, _sort, _descending = _sorted(table)
    filename = export_filename(_("täckning"), table.as_of, extension)
    if extension == "csv":
        label = coverage_exports.group_label(view)
        body = to_csv(coverage_exports.table_sheet(table, _("Täckning"), label, rows))
    else:
        sheets = coverage_exports.coverage_workbook(
            db.session, current_user, scope, filters, view, table, rows
        )
        body = to_xlsx(sheets, definitions=coverage_exports.definitions())
    return file_download(body, filename, extension)


def _being_computed() -> Response:
    """A download whose figures are still being computed (see the page's notice): no file
    with nothing in it, but a page that says when to try again."""
    message = _(
        "Siffrorna räknas fram just nu, efter en återställning eller en stor ändring. "
        "Försök igen om en minut eller två."
    )
    page = render_template("errors/error.html", code=503, message=message)
    return Response(page, 503, headers={"Retry-After": "60"})


@bp.route("/coverage.csv")
@role_required(*READERS)
def coverage_csv() -> Response:
    return _export("csv")


@bp.route("/coverage.xlsx")
@role_required(*READERS)
def coverage_xlsx() -> Response:
    return _export("xlsx")
