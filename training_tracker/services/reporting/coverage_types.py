"""What a coverage report is asked and what it answers: the filters (read from a URL, turned
back into one), the rows and cells of the table, the people of a unit, the new hires' rows and
the trend's points, and the dates the trend shows. Plain values, no queries: the live
computation (:mod:`.coverage_live`), the cache (:mod:`.coverage_cache`), the exports and the
views all speak them."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, NamedTuple

from training_tracker import clock
from training_tracker.models import Sector
from training_tracker.services.training.progress import CourseState

MODES = ("setting", "reported", "verified")
GROUPINGS = ("municipality", "sector", "unit")
TREND_MONTHS = 12


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
    title_en: str | None = None  # shown when the reader chose English


@dataclass
class CoverageRow:
    key: Any  # municipality id, sector value or unit id; None for the totals
    label: str
    municipality: str | None = None  # the unit's municipality, when grouped by unit
    sector: str | None = None  # the unit's sector (its label), when grouped by unit
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
    # Not computed yet: the cache is being filled and the live computation ran past its time
    # budget (see coverage_cache.live_or_pending); no rows, and the page says so.
    pending: bool = False


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


@dataclass
class NewHireGroup:
    """New-hire compliance of one municipality, sector or unit: a row per course."""

    key: Any  # municipality id, sector value or unit id
    label: str
    municipality: str | None  # the unit's municipality, when grouped by unit
    hires: int
    rows: list[NewHireRow]
    withheld: bool = False  # see CoverageRow.withheld

    def row(self, course_id: int) -> NewHireRow | None:
        return next((row for row in self.rows if row.course.id == course_id), None)

    @property
    def partly_withheld(self) -> bool:
        """Some course's row is withheld: so is the sum of all courses, which would tell the
        withheld row's figures (the sum less the rows shown)."""
        return any(row.withheld for row in self.rows)

    @property
    def judged(self) -> int:
        return sum(row.judged for row in self.rows)

    @property
    def completed_by_due(self) -> int:
        return sum(row.completed_by_due for row in self.rows)

    @property
    def share(self) -> float | None:
        """Of all the courses judged, the share completed by the due date."""
        return percent(self.completed_by_due, self.judged)


@dataclass
class NewHireGroups:
    as_of: date
    hired_from: date
    hired_to: date
    group_by: str
    courses: list[CourseColumn]
    groups: list[NewHireGroup]


class TrendPoint(NamedTuple):
    day: date
    covered: int
    required: int
    percent: float | None
    withheld: bool = False  # see CoverageRow.withheld
    # Not yet computed: too many of the cache's rows were stale to compute them during the
    # request; the scheduler's fill job does (the page says so).
    pending: bool = False


# --- the dates of the trend ----


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def months_before(day: date, months: int) -> date:
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
