"""The numbers of the coverage reports: by municipality, sector or unit, by person, for new
hires, and month by month. Plain functions over a session; every one of them runs a fixed
number of set-based queries, however many employees there are: at most three live; the
coverage table and the monthly trend are summed from a per-unit, per-date cache kept exactly
equal to the live computation (:mod:`training_tracker.services.reporting.coverage_cache`).

How we count, on the report date D ("as of"; today unless a past date is asked for):

- **Population**: the employees employed on D: hired on or before D (an unknown hire date
  counts as hired) and without an end date, or with one after D (whoever leaves on D is no
  longer counted on D). For today, they must also be active. System accounts (no
  municipality) never count, nor does anyone outside the reader's scope
  (:func:`training_tracker.services.core.scope.report_scope`).
- **Required**: a course assigned to a person of the population on or before D (the date the
  assignment was created; staff hired before a rule existed count from the day the rule
  assigned the course to them) and not removed by D, unless the person was **exempt** on D.
  Exemptions are excluded from "required" and counted on their own.
- **Completed** on D: the person holds a completion of the course dated on or before D,
  reported on or before D and not expired on D (it expires on its ``expires_on`` day). It is
  **verified** on D if it was verified on or before D; it is **reported** (awaiting
  verification) on D if it still awaits verification, or was verified or rejected only after D.
  A report rejected on or before D completes nothing, and neither does a withdrawn one.
- **Covered**: completed under the report's count mode: "verified" counts verified
  completions only; "reported" counts verified and awaiting ones. By default each
  municipality's own setting (``Municipality.count_reported_in_coverage``) decides; a filter
  can force one mode for everyone. Verified and reported (awaiting) are always given
  separately, whatever the mode; a person with both counts as verified.
- **Overdue** on D: required, neither verified nor awaiting verification on D (someone who
  has reported waits for their manager, not the other way round, whatever the count mode),
  and due before D. A course is due on its due date or, once a completion of it has
  expired, on the day it expired, if that is later (as for reminders and the personal pages).
- **Fully trained**: a person with at least one required course who has every required
  course covered on D.
- **Coverage %** = covered / required; with nothing required there is no percentage (None,
  not 0).

Approximations, because the past is recomputed from dates rather than stored:

- The withdrawal date of a withdrawn report is not stored: a withdrawn report is counted as
  never made, even on days when it was still awaiting verification.
- An exemption that was lifted leaves no date behind: the exemption is ignored on every day.
  An exemption without a date counts from the start.
- A verified report without a review date counts as verified from the day it was reported.
- Timestamps (assigned, removed, exempted, reported, reviewed) are stored in UTC and read as
  UTC dates: something done in Sweden between midnight and 01:00 (02:00 in summer) counts on
  the day before.
- Each person is counted in their current municipality, unit and sector, with their
  assignment's current due date: moves between units and changed due dates are not
  replayed.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Municipality,
    Provider,
    Sector,
    Unit,
)
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.core.sql import as_date, days_between
from training_tracker.services.training.assignments import effective_due
from training_tracker.services.training.progress import CourseState

MODES = ("setting", "reported", "verified")
GROUPINGS = ("municipality", "sector", "unit")
TREND_MONTHS = 12

# A date to compare with: a Python date (one report date) or a column (the trend's dates).
Day = date | ColumnElement[date]
# The per-assignment flags of :func:`_facts`: a subquery, or a CTE.
Facts = sa.Subquery | sa.CTE


# --- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageFilters:
    """What a report is narrowed to. ``as_of`` None means today; ``mode`` "setting" lets each
    municipality's setting decide whether awaiting reports count."""

    as_of: date | None = None
    municipality_id: int | None = None
    sector: Sector | None = None
    unit_id: int | None = None
    course_id: int | None = None
    provider_id: int | None = None
    mode: str = "setting"

    def day(self) -> date:
        return self.as_of or clock.today()

    def to_args(self) -> dict[str, str]:
        """The filters as URL query arguments (defaults left out), for links and bookmarks."""
        args: dict[str, str] = {}
        if self.as_of is not None:
            args["as_of"] = self.as_of.isoformat()
        for name in ("municipality_id", "unit_id", "course_id", "provider_id"):
            value = getattr(self, name)
            if value is not None:
                args[name] = str(value)
        if self.sector is not None:
            args["sector"] = self.sector.value
        if self.mode != "setting":
            args["mode"] = self.mode
        return args

    def but(self, **changes: Any) -> CoverageFilters:
        return replace(self, **changes)


def _positive_int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def parse_filters(args: Mapping[str, Any], *, today: date | None = None) -> CoverageFilters:
    """Filters from URL query arguments. Whatever cannot be read is ignored (a mistyped
    bookmark shows the unfiltered report rather than an error), and so is a date in the
    future: the report cannot know it yet."""
    today = today or clock.today()
    as_of = None
    raw = args.get("as_of")
    if raw:
        try:
            as_of = date.fromisoformat(str(raw).strip())
        except ValueError:
            as_of = None
        if as_of is not None and (as_of > today or as_of.year < 1900):
            as_of = None
    sector = None
    if args.get("sector"):
        try:
            sector = Sector(str(args.get("sector")).strip())
        except ValueError:
            sector = None
    mode = str(args.get("mode") or "setting").strip()
    return CoverageFilters(
        as_of=as_of,
        municipality_id=_positive_int(args.get("municipality_id")),
        sector=sector,
        unit_id=_positive_int(args.get("unit_id")),
        course_id=_positive_int(args.get("course_id")),
        provider_id=_positive_int(args.get("provider_id")),
        mode=mode if mode in MODES else "setting",
    )


# --- results --------------------------------------------------------------------------------


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in per cent; None when there is no whole."""
    return 100 * part / whole if whole else None


@dataclass(frozen=True)
class Cell:
    """One course (or all required courses) in one group."""

    required: int = 0
    verified: int = 0
    reported: int = 0  # awaiting verification (and not also verified)
    covered: int = 0
    overdue: int = 0
    exempt: int = 0

    @property
    def percent(self) -> float | None:
        return percent(self.covered, self.required)

    def __add__(self, other: Cell) -> Cell:
        return Cell(
            self.required + other.required,
            self.verified + other.verified,
            self.reported + other.reported,
            self.covered + other.covered,
            self.overdue + other.overdue,
            self.exempt + other.exempt,
        )


@dataclass(frozen=True)
class CourseColumn:
    id: int
    key: str
    title: str
    provider_id: int
    provider_name: str
    validity_months: int | None


@dataclass
class CoverageRow:
    key: Any  # municipality id, sector value or unit id; None for the totals
    label: str
    municipality: str | None = None  # the unit's municipality, when grouped by unit
    cells: dict[int, Cell] = field(default_factory=dict)  # course id → cell
    people: int = 0  # the population of the group (whether or not anything is required)
    fully_trained: int = 0
    exempt_people: int = 0  # people exempt from at least one course
    # Whether awaiting reports count as covered in this row; None when the row mixes
    # municipalities that count differently.
    counts_reported: bool | None = None
    # Withheld from this reader (scope.aggregate_withheld): its figures are zeros, not shown.
    withheld: bool = False

    def cell(self, course_id: int) -> Cell:
        return self.cells.get(course_id, Cell())

    @property
    def all_required(self) -> Cell:
        return sum(self.cells.values(), Cell())


@dataclass
class CoverageTable:
    as_of: date
    mode: str
    group_by: str
    courses: list[CourseColumn]
    rows: list[CoverageRow]
    total: CoverageRow


@dataclass(frozen=True)
class PersonCourse:
    course_id: int
    state: CourseState  # verified, reported, exempt, overdue or pending, on the report date
    covered: bool
    due_date: date  # the effective due date on the report date
    overdue_since: date | None  # the effective due date, for an overdue course


@dataclass
class PersonRow:
    employee_id: int
    first_name: str
    last_name: str
    counts_reported: bool
    courses: list[PersonCourse]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def fully_trained(self) -> bool:
        required = [c for c in self.courses if c.state != CourseState.EXEMPT]
        return bool(required) and all(c.covered for c in required)

    @property
    def overdue(self) -> list[PersonCourse]:
        return [c for c in self.courses if c.state == CourseState.OVERDUE]


@dataclass
class UnitPeople:
    as_of: date
    courses: list[CourseColumn]
    people: list[PersonRow]


@dataclass(frozen=True)
class NewHireRow:
    course: CourseColumn
    required: int  # assignments of the period's hires, not exempt
    judged: int  # of those, due before the report date or already completed by the due date
    completed_by_due: int
    completed: int  # covered on the report date, on time or not
    median_days: float | None  # from the hire date to the first completion, of those completed
    withheld: bool = False  # see CoverageRow.withheld

    @property
    def not_yet_due(self) -> int:
        return self.required - self.judged

    @property
    def share(self) -> float | None:
        return percent(self.completed_by_due, self.judged)


@dataclass
class NewHireReport:
    as_of: date
    hired_from: date
    hired_to: date
    hires: int  # people of the population hired in the period
    rows: list[NewHireRow]
    withheld: bool = False  # see CoverageRow.withheld


class TrendPoint(NamedTuple):
    day: date
    covered: int
    required: int
    percent: float | None
    withheld: bool = False  # see CoverageRow.withheld


# --- the building blocks --------------------------------------------------------------------


def _as_sql(day: Day) -> ColumnElement[date]:
    return sa.literal(day, sa.Date) if isinstance(day, date) else day


def employed_on_day(day: Day, today: date) -> ColumnElement[bool]:
    """In the population on ``day``: a municipality's employee, hired by then and not yet
    left; on today (or later) also still active."""
    day_ = _as_sql(day)
    clauses = [
        Employee.municipality_id.is_not(None),
        sa.or_(Employee.hire_date.is_(None), Employee.hire_date <= day_),
        sa.or_(Employee.end_date.is_(None), Employee.end_date > day_),
    ]
    if isinstance(day, date):
        if day >= today:
            clauses.append(Employee.active)
    else:
        clauses.append(sa.or_(day_ < sa.literal(today, sa.Date), Employee.active))
    return sa.and_(*clauses)


def assigned_on(day: Day) -> ColumnElement[bool]:
    """The assignment existed on ``day``: created by then and not removed by then."""
    day_ = _as_sql(day)
    return sa.and_(
        as_date(Assignment.assigned_at) <= day_,
        sa.or_(Assignment.removed_at.is_(None), as_date(Assignment.removed_at) > day_),
    )


def exempt_on(day: Day) -> ColumnElement[bool]:
    day_ = _as_sql(day)
    return sa.and_(
        Assignment.exempt,
        sa.or_(Assignment.exempted_at.is_(None), as_date(Assignment.exempted_at) <= day_),
    )


def _completion_known(day: Day) -> ColumnElement[bool]:
    """A completion of the assignment's course, done and reported by ``day``."""
    day_ = _as_sql(day)
    return sa.and_(
        Completion.employee_id == Assignment.employee_id,
        Completion.course_id == Assignment.course_id,
        Completion.completed_on <= day_,
        as_date(Completion.reported_at) <= day_,
    )


def _not_expired(day: Day) -> ColumnElement[bool]:
    return sa.or_(Completion.expires_on.is_(None), Completion.expires_on > _as_sql(day))


def _verified_status(day: Day) -> ColumnElement[bool]:
    reviewed = sa.func.coalesce(Completion.reviewed_at, Completion.reported_at)
    return sa.and_(
        Completion.status == CompletionStatus.VERIFIED, as_date(reviewed) <= _as_sql(day)
    )


def _awaiting_status(day: Day) -> ColumnElement[bool]:
    """Awaiting verification on ``day``: still, or until a decision taken after it."""
    return sa.or_(
        Completion.status == CompletionStatus.REPORTED,
        sa.and_(
            Completion.status.in_([CompletionStatus.VERIFIED, CompletionStatus.REJECTED]),
            Completion.reviewed_at.is_not(None),
            as_date(Completion.reviewed_at) > _as_sql(day),
        ),
    )


def verified_on(day: Day) -> ColumnElement[bool]:
    return (
        sa.exists()
        .where(_completion_known(day), _not_expired(day), _verified_status(day))
        .correlate_except(Completion)
    )


def awaiting_on(day: Day) -> ColumnElement[bool]:
    return (
        sa.exists()
        .where(_completion_known(day), _not_expired(day), _awaiting_status(day))
        .correlate_except(Completion)
    )


def counts_reported(mode: str) -> ColumnElement[bool]:
    """Whether an awaiting report counts as covered, for the employee's municipality."""
    if mode == "reported":
        return sa.true()
    if mode == "verified":
        return sa.false()
    return Municipality.count_reported_in_coverage


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def _people_clauses(scope: ReportScope, filters: CoverageFilters) -> list[ColumnElement[bool]]:
    clauses = [scope.employee_clause()]
    if filters.municipality_id is not None:
        clauses.append(Employee.municipality_id == filters.municipality_id)
    if filters.unit_id is not None:
        clauses.append(Employee.unit_id == filters.unit_id)
    if filters.sector is not None:
        clauses.append(Unit.sector == filters.sector)
    return clauses


def _course_clauses(filters: CoverageFilters) -> list[ColumnElement[bool]]:
    clauses = []
    if filters.course_id is not None:
        clauses.append(Assignment.course_id == filters.course_id)
    if filters.provider_id is not None:
        clauses.append(
            Assignment.course_id.in_(
                sa.select(Course.id).where(Course.provider_id == filters.provider_id)
            )
        )
    return clauses


def _people(
    scope: ReportScope, filters: CoverageFilters, day: Day, today: date
) -> list[ColumnElement[bool]]:
    return [employed_on_day(day, today), *_people_clauses(scope, filters)]


def _facts(
    scope: ReportScope,
    filters: CoverageFilters,
    day: Day,
    today: date,
    *columns: ColumnElement[Any],
    with_dates: bool = False,
    days: sa.Subquery | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
    materialized: bool = False,
) -> Facts:
    """One row per assignment counting on ``day`` of the population: the flags each count
    is summed from (0 or 1), so every EXISTS is evaluated once per row. ``extra`` narrows
    the population further (the coverage cache: the units it recomputes). ``materialized``
    makes it a MATERIALIZED CTE: PostgreSQL would otherwise inline the subquery and evaluate
    each flag's EXISTS again wherever a sum refers to it."""
    selected: list[ColumnElement[Any]] = [
        Assignment.employee_id.label("employee_id"),
        Assignment.course_id.label("course_id"),
        *columns,
        _flag(counts_reported(filters.mode)).label("counts_reported"),
        _flag(exempt_on(day)).label("exempt"),
        _flag(verified_on(day)).label("verified"),
        _flag(awaiting_on(day)).label("awaiting"),
    ]
    if with_dates:
        due = effective_due(day)
        selected += [
            Assignment.due_date.label("due_date"),
            due.label("effective_due"),
            _flag(due < _as_sql(day)).label("late"),
        ]
    select = sa.select(*selected)
    select = (
        select.select_from(days).join(Assignment, sa.true())
        if days is not None
        else select.select_from(Assignment)
    )
    select = (
        select.join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .where(
            *_people(scope, filters, day, today),
            *extra,
            assigned_on(day),
            *_course_clauses(filters),
        )
    )
    if materialized:
        return select.cte("facts").prefix_with("MATERIALIZED")
    return select.subquery("facts")


def _sums(facts: Facts) -> list[ColumnElement[int]]:
    """required, verified, reported, covered, overdue and exempt of ``facts`` (made
    ``with_dates``), in :class:`Cell`'s order."""
    f = facts.c
    required = f.exempt == 0
    return [
        sa.func.sum(_flag(required)),
        sa.func.sum(_flag(sa.and_(required, f.verified == 1))),
        sa.func.sum(_flag(sa.and_(required, f.verified == 0, f.awaiting == 1))),
        sa.func.sum(_flag(sa.and_(required, _covered(facts)))),
        sa.func.sum(_flag(sa.and_(required, f.verified == 0, f.awaiting == 0, f.late == 1))),
        sa.func.sum(f.exempt),
    ]


def _covered(facts: Facts) -> ColumnElement[bool]:
    f = facts.c
    return sa.or_(f.verified == 1, sa.and_(f.awaiting == 1, f.counts_reported == 1))


def _courses(session: Session, ids: Iterable[int]) -> list[CourseColumn]:
    ids = sorted(set(ids))
    if not ids:
        return []
    rows = session.execute(
        sa.select(Course, Provider.name)
        .join(Provider, Provider.id == Course.provider_id)
        .where(Course.id.in_(ids))
        .order_by(Provider.name, Course.title, Course.id)
    ).all()
    return [
        CourseColumn(
            id=course.id,
            key=course.key,
            title=course.title,
            provider_id=course.provider_id,
            provider_name=provider,
            validity_months=course.validity_months,
        )
        for course, provider in rows
    ]


def _int(value: Any) -> int:
    return int(value or 0)


def _a_date(value: date | str) -> date:
    """A date the database computed (SQLite hands those back as text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


# --- the reports ----------------------------------------------------------------------------


def _grouping(group_by: str) -> tuple[ColumnElement[Any], list[ColumnElement[Any]]]:
    """The group's key and the columns that name it."""
    if group_by == "municipality":
        return Employee.municipality_id, [Municipality.name]
    if group_by == "sector":
        return Unit.sector, []
    if group_by == "unit":
        return Employee.unit_id, [Unit.name, Municipality.name]
    raise ValueError(f"unknown grouping: {group_by}")


def coverage_table(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str = "municipality",
) -> CoverageTable:
    """One row per municipality, sector or unit of the population on the report date, one
    cell per course (and all required courses together), and the totals.

    Summed from the per-unit cache (:mod:`training_tracker.services.reporting.coverage_cache`),
    which     recomputes the units that changed first and gives exactly what
    :func:`coverage_table_live` gives; a fixed number of queries whatever the size. A
    session holding writes it has not committed is answered live (the cache only knows
    committed data)."""
    from training_tracker.services.reporting import coverage_cache  # it builds on this module

    today = clock.today()
    if scope.is_empty or filters.day() > today or coverage_cache.has_uncommitted_writes(session):
        return coverage_table_live(session, scope, filters, group_by)
    return coverage_cache.cached_table(session, scope, filters, group_by, today)


def coverage_table_live(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str = "municipality",
) -> CoverageTable:
    """:func:`coverage_table` computed from the data itself, for any date. Three queries."""
    day = filters.day()
    today = clock.today()
    empty = CoverageRow(key=None, label="")
    if scope.is_empty:
        return CoverageTable(day, filters.mode, group_by, [], [], empty)
    key, names = _grouping(group_by)
    cells, rows = grouped_counts(scope, filters, day, today, key, names)
    return assemble_table(
        session, day, filters, group_by, session.execute(cells), session.execute(rows)
    )


def dates_table(days: Iterable[date], name: str = "report_days") -> sa.Subquery:
    """The dates as a one-column table (``day``): a UNION ALL of literals."""
    return sa.union_all(
        *(sa.select(sa.literal(day, sa.Date).label("day")) for day in days)
    ).subquery(name)


def grouped_counts(
    scope: ReportScope,
    filters: CoverageFilters,
    day: date,
    today: date,
    key: ColumnElement[Any],
    names: Sequence[ColumnElement[Any]],
    extra: Sequence[ColumnElement[bool]] = (),
    *,
    materialized: bool = False,
    days: Sequence[date] = (),
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The two queries of a coverage table grouped by ``key``: (group, course id, the
    :class:`Cell` counts) and (group, *names, people, fully trained, exempt people, min and
    max of "awaiting reports count"). ``extra`` narrows the population. ``materialized``
    computes the facts and the per-person sums once each, as CTEs: a planner misled about a
    few units' row counts (tables not yet analysed) would otherwise nest-loop over the
    per-person sums, recomputing them for every person.

    With ``days``, the tables of all those dates at once (``day`` is then not used): each
    row starts with its date, before the group."""
    # One date is compared as a literal, as without ``days``: the planner then knows it.
    dated = dates_table(days) if len(days) > 1 else None
    on: Day = dated.c.day if dated is not None else (days[0] if days else day)
    leading: list[ColumnElement[Any]] = []
    if days:
        leading = [(dated.c.day if dated is not None else sa.literal(on, sa.Date)).label("day")]
    facts = _facts(
        scope,
        filters,
        on,
        today,
        key.label("group_key"),
        *leading,
        with_dates=True,
        days=dated,
        extra=extra,
        materialized=materialized,
    )
    f = facts.c
    by_day = [f.day] if days else []
    cells = sa.select(*by_day, f.group_key, f.course_id, *_sums(facts)).group_by(
        *by_day, f.group_key, f.course_id
    )
    per_person = sa.select(
        *by_day,
        f.employee_id,
        sa.func.sum(_flag(f.exempt == 0)).label("required"),
        sa.func.sum(_flag(sa.and_(f.exempt == 0, _covered(facts)))).label("covered"),
        sa.func.sum(f.exempt).label("exempt"),
    ).group_by(*by_day, f.employee_id)
    per_person = (
        per_person.cte("per_person").prefix_with("MATERIALIZED")
        if materialized
        else per_person.subquery("per_person")
    )
    mode_flag = _flag(counts_reported(filters.mode))
    person_of = per_person.c.employee_id == Employee.id
    if dated is not None:
        person_of = sa.and_(person_of, per_person.c.day == dated.c.day)
    rows = sa.select(
        *leading,
        key,
        *names,
        sa.func.count(Employee.id),
        sa.func.sum(
            _flag(
                sa.and_(
                    per_person.c.required > 0,
                    per_person.c.covered == per_person.c.required,
                )
            )
        ),
        sa.func.sum(_flag(per_person.c.exempt > 0)),
        sa.func.min(mode_flag),
        sa.func.max(mode_flag),
    )
    if dated is not None:
        rows = rows.select_from(dated).join(Employee, sa.true())
    else:
        rows = rows.select_from(Employee)
    rows = (
        rows.join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .outerjoin(per_person, person_of)
        .where(*_people(scope, filters, on, today), *extra)
        .group_by(*([dated.c.day] if dated is not None else []), key, *names)
    )
    return cells, rows


def assemble_table(
    session: Session,
    day: date,
    filters: CoverageFilters,
    group_by: str,
    cell_rows: Iterable[Any],
    group_rows: Iterable[Any],
) -> CoverageTable:
    """The table from the rows of :func:`grouped_counts` (or sums of cached ones, alike):
    labelled, ordered, with the totals and the course columns (one more query)."""
    cells: dict[Any, dict[int, Cell]] = defaultdict(dict)
    for group, course_id, *sums in cell_rows:
        cells[group][course_id] = Cell(*map(_int, sums))
    rows: list[CoverageRow] = []
    for group, *labels, people, trained, exempt_people, low, high in group_rows:
        if group_by == "sector":
            label, municipality = Sector(group).label, None
        elif group_by == "unit":
            label, municipality = labels
        else:
            label, municipality = labels[0], None
        rows.append(
            CoverageRow(
                key=group.value if isinstance(group, Sector) else group,
                label=label,
                municipality=municipality,
                cells=cells.get(group, {}),
                people=_int(people),
                fully_trained=_int(trained),
                exempt_people=_int(exempt_people),
                counts_reported=bool(low) if low == high else None,
            )
        )
    if group_by == "sector":
        order = {sector.value: n for n, sector in enumerate(Sector)}
        rows.sort(key=lambda row: order[row.key])
    else:
        rows.sort(key=lambda row: (row.municipality or "", row.label, row.key))

    courses = _courses(session, {c for row in rows for c in row.cells})
    total = CoverageRow(key=None, label="")
    for row in rows:
        for course_id, cell in row.cells.items():
            total.cells[course_id] = total.cell(course_id) + cell
        total.people += row.people
        total.fully_trained += row.fully_trained
        total.exempt_people += row.exempt_people
    modes = {row.counts_reported for row in rows}
    total.counts_reported = modes.pop() if len(modes) == 1 else None
    return CoverageTable(day, filters.mode, group_by, courses, rows, total)


def unit_people(
    session: Session, scope: ReportScope, filters: CoverageFilters, unit_id: int
) -> UnitPeople:
    """Each person of the unit's population on the report date, with the state of each of
    their courses then; overdue ones with the date they have been overdue since. Two
    queries. A unit outside the scope has nobody."""
    day = filters.day()
    today = clock.today()
    if scope.is_empty:
        return UnitPeople(day, [], [])
    filters = filters.but(unit_id=unit_id)
    facts = _facts(scope, filters, day, today, with_dates=True)
    f = facts.c
    rows = session.execute(
        sa.select(
            Employee.id.label("employee_id"),
            Employee.first_name,
            Employee.last_name,
            _flag(counts_reported(filters.mode)).label("counting"),
            f.course_id,
            f.exempt,
            f.verified,
            f.awaiting,
            f.late,
            f.effective_due,
        )
        .select_from(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .outerjoin(facts, f.employee_id == Employee.id)
        .where(*_people(scope, filters, day, today))
        .order_by(Employee.last_name, Employee.first_name, Employee.id)
    ).all()
    courses = _courses(session, {row.course_id for row in rows if row.course_id is not None})
    position = {course.id: n for n, course in enumerate(courses)}
    people: dict[int, PersonRow] = {}
    for row in rows:
        person = people.setdefault(
            row.employee_id,
            PersonRow(row.employee_id, row.first_name, row.last_name, bool(row.counting), []),
        )
        if row.course_id is None:
            continue
        if row.exempt:
            state = CourseState.EXEMPT
        elif row.verified:
            state = CourseState.VERIFIED
        elif row.awaiting:
            state = CourseState.REPORTED
        elif row.late:
            state = CourseState.OVERDUE
        else:
            state = CourseState.PENDING
        due = _a_date(row.effective_due)
        person.courses.append(
            PersonCourse(
                course_id=row.course_id,
                state=state,
                covered=state == CourseState.VERIFIED
                or (state == CourseState.REPORTED and person.counts_reported),
                due_date=due,
                overdue_since=due if state == CourseState.OVERDUE else None,
            )
        )
    for person in people.values():
        person.courses.sort(key=lambda c: position[c.course_id])
    return UnitPeople(day, courses, list(people.values()))


def default_hire_period(as_of: date) -> tuple[date, date]:
    """The twelve months up to and including ``as_of``."""
    return _months_before(as_of, 12) + timedelta(days=1), as_of


@dataclass
class _CourseTally:
    """One course's counts over the period's hires, summed from its groups of hires with the
    same number of days to completion."""

    required: int = 0
    judged: int = 0
    completed_by_due: int = 0
    # Days from the hire to the first completion → how many completed after that many days.
    days_to_complete: dict[int, int] = field(default_factory=dict)

    def median_days(self) -> float | None:
        """``statistics.median`` of the days, each repeated as many times as it occurs: the
        middle value of an odd count (an int), the mean of the middle two of an even one."""
        completed = sum(self.days_to_complete.values())
        if not completed:
            return None
        middle = completed // 2
        if completed % 2:
            return self._nth_day(middle)
        return (self._nth_day(middle - 1) + self._nth_day(middle)) / 2

    def _nth_day(self, index: int) -> int:
        """The ``index``-th (from 0) of the days in ascending order."""
        seen = 0
        for days in sorted(self.days_to_complete):
            seen += self.days_to_complete[days]
            if index < seen:
                return days
        raise IndexError(index)


def new_hire_compliance(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    hired_from: date | None = None,
    hired_to: date | None = None,
) -> NewHireReport:
    """Of the population's employees hired in the period (by default the twelve months up to
    the report date), per course: how many completed it by its due date, and the median days
    from the hire to the completion. Two queries: the database counts the assignments by
    course and by days to the completion (a few hundred rows a course, whatever the staff),
    and the courses.

    A course counts as completed by its due date when a completion dated on or before the
    due date counts on the report date (its status then, under the count mode; whether it
    has expired since does not matter). The share is of the courses already judged: due
    before the report date, or completed by the due date already; a hire whose course is
    still ahead is not counted as late. The days run from the hire date to the date of the
    earliest completion that counts; a completion dated before the hire counts 0 days.
    """
    day = filters.day()
    today = clock.today()
    default_from, default_to = default_hire_period(day)
    hired_from = hired_from or default_from
    hired_to = min(hired_to or default_to, day)
    if scope.is_empty:
        return NewHireReport(day, hired_from, hired_to, 0, [])
    counting_completion = sa.and_(
        _completion_known(day),
        sa.or_(
            _verified_status(day),
            sa.and_(_awaiting_status(day), counts_reported(filters.mode)),
        ),
    )
    assignment = sa.and_(
        Assignment.employee_id == Employee.id,
        assigned_on(day),
        sa.not_(exempt_on(day)),
        *_course_clauses(filters),
    )
    hires_in_population = [
        *_people(scope, filters, day, today),
        Employee.hire_date >= sa.literal(hired_from, sa.Date),
        Employee.hire_date <= sa.literal(hired_to, sa.Date),
    ]

    def hires_joined(select: sa.Select[Any]) -> sa.Select[Any]:
        return (
            select.select_from(Employee)
            .join(Unit, Unit.id == Employee.unit_id)
            .join(Municipality, Municipality.id == Employee.municipality_id)
        )

    # Counted on their own, as a hire is in the group of each of their courses; in the same
    # statement as the groups, so both read the same snapshot.
    hires = hires_joined(sa.select(sa.func.count())).where(*hires_in_population)
    # One row per hire and assignment (one for a hire without any: outer-joined), with the
    # earliest completion that counts. Joined and folded rather than looked up by a subquery
    # per row: on PostgreSQL that subquery's cost estimate turned on JIT compilation with
    # inlining and optimization, which took longer than running the query (1 to 1.7 s of
    # compiling at 850,000 employees).
    assignments = (
        hires_joined(
            sa.select(
                Employee.hire_date.label("hired"),
                Assignment.course_id.label("course_id"),
                Assignment.due_date.label("due"),
                sa.func.min(Completion.completed_on).label("completed"),
            )
        )
        .outerjoin(Assignment, assignment)
        .outerjoin(Completion, counting_completion)
        .where(*hires_in_population)
        .group_by(Employee.id, Assignment.id)
        .subquery("new_hire_assignments")
    )
    a = assignments.c
    on_time = sa.and_(a.completed.is_not(None), a.completed <= a.due)
    days = days_between(a.hired, a.completed)
    days_to_complete = sa.case((days < 0, 0), else_=days)  # NULL when not completed
    groups = session.execute(
        sa.select(
            hires.scalar_subquery().label("hires"),
            a.course_id,
            days_to_complete.label("days"),
            sa.func.count().label("assignments"),
            sa.func.sum(_flag(sa.or_(on_time, a.due < _as_sql(day)))).label("judged"),
            sa.func.sum(_flag(on_time)).label("completed_by_due"),
        ).group_by(a.course_id, days_to_complete)
    ).all()
    hire_count = 0  # no group at all when nobody was hired
    tallies: dict[int, _CourseTally] = defaultdict(_CourseTally)
    for group in groups:
        hire_count = group.hires
        if group.course_id is None:
            continue
        tally = tallies[group.course_id]
        tally.required += group.assignments
        tally.judged += group.judged
        tally.completed_by_due += group.completed_by_due
        if group.days is not None:
            tally.days_to_complete[group.days] = group.assignments
    report_rows = [
        NewHireRow(
            course=course,
            required=tallies[course.id].required,
            judged=tallies[course.id].judged,
            completed_by_due=tallies[course.id].completed_by_due,
            completed=sum(tallies[course.id].days_to_complete.values()),
            median_days=tallies[course.id].median_days(),
        )
        for course in _courses(session, tallies)
    ]
    return NewHireReport(day, hired_from, hired_to, hire_count, report_rows)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day if it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def trend_days(as_of: date, months: int = TREND_MONTHS) -> list[date]:
    """The month ends of the ``months`` months up to ``as_of``'s, the last one being
    ``as_of`` itself (the month so far), so the trend ends on the report's own number."""
    days = []
    for back in range(months - 1, 0, -1):
        year, month = divmod(as_of.year * 12 + as_of.month - 1 - back, 12)
        days.append(_month_end(year, month + 1))
    return [*days, as_of]


def coverage_trend(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    months: int = TREND_MONTHS,
) -> list[TrendPoint]:
    """Coverage of all required courses at each month end (see :func:`trend_days`), by the
    same rules as :func:`coverage_table`. Summed from the per-unit cache, like the table
    (past dates' numbers stay cached until a unit changes); live for a session holding
    writes it has not committed."""
    from training_tracker.services.reporting import coverage_cache  # it builds on this module

    today = clock.today()
    points = trend_days(filters.day(), max(1, months))
    sums: Mapping[date, tuple[int, int]] | None = {}
    if not scope.is_empty:
        sums = None
        if filters.day() <= today and not coverage_cache.has_uncommitted_writes(session):
            sums = coverage_cache.cached_trend(session, scope, filters, points, today)
        if sums is None:
            sums = _trend_sums_live(session, scope, filters, points, today)
    return _trend_points(points, sums)


def _trend_points(points: Sequence[date], sums: Mapping[date, tuple[int, int]]) -> list[TrendPoint]:
    result = []
    for point in points:
        required, covered = sums.get(point, (0, 0))
        result.append(TrendPoint(point, covered, required, percent(covered, required)))
    return result


def _trend_sums_live(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    points: Sequence[date],
    today: date,
) -> dict[date, tuple[int, int]]:
    """Per date, (required, covered) computed from the data itself. One query: the dates
    are a UNION ALL list joined to the assignments."""
    days = dates_table(points, "month_ends")
    facts = _facts(scope, filters, days.c.day, today, days.c.day.label("day"), days=days)
    return {
        _a_date(point): (_int(required), _int(covered))
        for point, required, covered in session.execute(
            sa.select(
                facts.c.day,
                sa.func.sum(_flag(facts.c.exempt == 0)),
                sa.func.sum(_flag(sa.and_(facts.c.exempt == 0, _covered(facts)))),
            ).group_by(facts.c.day)
        )
    }


def coverage_trend_live(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    months: int = TREND_MONTHS,
) -> list[TrendPoint]:
    """:func:`coverage_trend` computed from the data itself."""
    points = trend_days(filters.day(), max(1, months))
    if scope.is_empty:
        return _trend_points(points, {})
    return _trend_points(points, _trend_sums_live(session, scope, filters, points, clock.today()))


# --- what the filters offer -----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    id: int
    label: str
    group: str = ""  # a unit's municipality, when the choices span several


@dataclass
class ReportChoices:
    municipalities: list[Choice]
    units: list[Choice]
    courses: list[Choice]
    providers: list[Choice]
    # The scope has too many units to list them all: they are listed once a municipality
    # is chosen (nobody scrolls through 20,000 units, and the page would be megabytes).
    units_need_municipality: bool = False


# More units than this in the scope and the unit filter waits for a municipality to be chosen.
MAX_UNIT_CHOICES = 600


def report_choices(
    session: Session, scope: ReportScope, municipality_id: int | None = None
) -> ReportChoices:
    """The municipalities and units a user may filter by (their scope; the units of
    ``municipality_id`` only, when the scope has more than :data:`MAX_UNIT_CHOICES`), and
    the catalogue's courses and providers. At most five small queries."""
    if scope.is_empty:
        return ReportChoices([], [], [], [])
    unit_in_scope = (
        sa.true()
        if scope.all_municipalities
        else sa.or_(Unit.municipality_id.in_(scope.municipality_ids), Unit.id.in_(scope.unit_ids))
    )
    municipalities = session.execute(
        sa.select(Municipality.id, Municipality.name)
        .where(sa.exists().where(Unit.municipality_id == Municipality.id, unit_in_scope))
        .order_by(Municipality.name)
    ).all()
    units_query = (
        sa.select(Unit.id, Unit.name, Municipality.name)
        .join(Municipality, Municipality.id == Unit.municipality_id)
        .where(unit_in_scope)
        .order_by(Municipality.name, Unit.name)
    )
    units = session.execute(units_query.limit(MAX_UNIT_CHOICES + 1)).all()
    too_many = len(units) > MAX_UNIT_CHOICES
    if too_many:
        units = (
            session.execute(units_query.where(Unit.municipality_id == municipality_id)).all()
            if municipality_id is not None
            else []
        )
    courses = session.execute(sa.select(Course.id, Course.title).order_by(Course.title)).all()
    providers = session.execute(sa.select(Provider.id, Provider.name).order_by(Provider.name)).all()
    return ReportChoices(
        municipalities=[Choice(m_id, name) for m_id, name in municipalities],
        units=[Choice(u_id, name, m_name) for u_id, name, m_name in units],
        courses=[Choice(c_id, title) for c_id, title in courses],
        providers=[Choice(p_id, name) for p_id, name in providers],
        units_need_municipality=too_many and municipality_id is None,
    )
