"""Each demo employee's training record: the assignments the rules in force give them, with
their history (backdated, leavers' closed, a few exempt), and their completions: none, one, or
a history of reports rejected and made again, verified and expired and renewed.

Assignments are computed here with the same rule as ``assignments.required_by_rules`` and
written with their history, which costs less than a recompute plus an update of millions of
rows; the tests prove them equal to what ``recompute_assignments`` makes.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from training_tracker.demo import names_people
from training_tracker.demo.draws import add_months, below, moment, pick, random_day, years_before
from training_tracker.demo.people import Person
from training_tracker.demo.plan import RuleInForce
from training_tracker.demo.rules import CourseInfo
from training_tracker.models import AssignmentSource, CompletionStatus

# Per assignment, in a unit of average diligence (units and municipalities vary).
EXEMPT_SHARE = 0.02
COMPLETED_WHEN_DUE = 0.75  # the due date has passed
COMPLETED_BEFORE_DUE = 0.35  # a new hire, still within the due days
COMPLETED_BY_LEAVERS = 0.60
REPORTED_SHARE = 0.09  # awaiting verification
REJECTED_SHARE = 0.04
BUSY_REPORTED_SHARE = 0.40  # in the demo manager's unit, so the demo has a queue to verify
BUSY_REJECTED_SHARE = 0.10
REPORTED_AGAIN_SHARE = 0.5  # of rejected reports, reported again later
RENEWED_SHARE = 0.5  # of expired completions, renewed
COMPLETION_YEARS = 3  # the earliest completions of a course without validity …
VALID_COURSE_COMPLETION_YEARS = 4  # … and of one with: some of those have expired
REPORTED_WITHIN_DAYS = 45  # reports awaiting verification are this recent at most

# Plain strings in the rows: an enum member's attribute costs more, millions of times.
_RULE = AssignmentSource.RULE.value
_REPORTED = CompletionStatus.REPORTED.value
_VERIFIED = CompletionStatus.VERIFIED.value
_REJECTED = CompletionStatus.REJECTED.value

ASSIGNMENT_COLUMNS = (
    "employee_id",
    "course_id",
    "rule_id",
    "source",
    "due_date",
    "assigned_at",
    "removed_at",
    "exempt",
    "exemption_reason",
    "exempted_at",
    "exempted_by_id",
)
COMPLETION_COLUMNS = (
    "employee_id",
    "course_id",
    "completed_on",
    "expires_on",
    "status",
    "note",
    "reported_at",
    "reported_by_id",
    "reviewed_at",
    "reviewed_by_id",
    "rejection_reason",
)


class Records:
    """Adds each person's assignment and completion rows (of :data:`ASSIGNMENT_COLUMNS` and
    :data:`COMPLETION_COLUMNS`) to ``assignments`` and ``completions``."""

    def __init__(
        self,
        rng: random.Random,
        today: date,
        courses: dict[int, CourseInfo],
        assignments: list[tuple[object, ...]],
        completions: list[tuple[object, ...]],
    ):
        self.rng = rng
        self.today = today
        self.courses = courses
        self.assignments = assignments
        self.completions = completions
        self._required_cache: dict[tuple[int, date], list[tuple[RuleInForce, date]]] = {}
        self.earliest_completion = years_before(today, COMPLETION_YEARS)
        self.earliest_valid_completion = years_before(today, VALID_COURSE_COMPLETION_YEARS)
        self.reported_from = today - timedelta(days=REPORTED_WITHIN_DAYS)

    def add(self, person: Person, reviewers: list[int]) -> None:
        """``person``'s records; a manager's own reports are verified by one of ``reviewers``
        (not themselves), everyone else's by their manager."""
        unit, active = person.unit, person.employed_on(self.today)
        reviewer = unit.manager_id
        if person.is_manager:
            reviewer = reviewers[0] if reviewers[0] != person.id else reviewers[1]
        for rule, due in self._required(unit.rules, person.hire_date):
            self._add_assignment(person, active, rule, due, reviewer)

    def _required(
        self, rules: tuple[RuleInForce, ...], hired: date
    ) -> list[tuple[RuleInForce, date]]:
        """``assignments.required_by_rules`` for one person: per course, the rule giving the
        earliest due date (the lowest id on a tie)."""
        key = (id(rules), hired)  # units share their rule tuple, so its id stands for it
        cached = self._required_cache.get(key)
        if cached is not None:
            return cached
        best: dict[int, tuple[date, int, RuleInForce]] = {}
        for rule in rules:
            new_hire = hired >= rule.applies_from
            if not (rule.for_new_hires if new_hire else rule.for_existing_staff):
                continue
            due = (hired if new_hire else rule.applies_from) + timedelta(days=rule.due_days)
            current = best.get(rule.course_id)
            if current is None or (due, rule.id) < current[:2]:
                best[rule.course_id] = (due, rule.id, rule)
        result = [(best[c][2], best[c][0]) for c in sorted(best)]
        self._required_cache[key] = result
        return result

    def _add_assignment(
        self, person: Person, active: bool, rule: RuleInForce, due: date, reviewer: int
    ) -> None:
        rng, today = self.rng, self.today
        assigned_on = max(person.hire_date, rule.applies_from)
        removed_at = None
        if not active:
            assert person.end_date is not None
            if assigned_on >= person.end_date:
                return  # left before the rule began
            removed_at = datetime.combine(person.end_date, time(2))  # the nightly job
        exempt = False
        reason = exempted_at = exempted_by = None
        if person.slot == "employee":
            pass  # the demo employee has every course still to do
        elif active and rng.random() < EXEMPT_SHARE:
            exempt = True
            reason = pick(rng, names_people.EXEMPTION_REASONS)
            exempted_at = moment(rng, random_day(rng, assigned_on, today), today)
            exempted_by = reviewer
        else:
            self._add_completions(person, active, rule, due, reviewer)
        self.assignments.append(
            (
                person.id,
                rule.course_id,
                rule.id,
                _RULE,
                due,
                datetime.combine(assigned_on, time(6)),
                removed_at,
                exempt,
                reason,
                exempted_at,
                exempted_by,
            )
        )

    def _add_completions(
        self, person: Person, active: bool, rule: RuleInForce, due: date, reviewer: int
    ) -> None:
        """Completions of one required course: none, one, or a history (rejected and
        reported again, expired and renewed)."""
        rng, today = self.rng, self.today
        if not active:
            share = COMPLETED_BY_LEAVERS
        elif due < today:
            share = COMPLETED_WHEN_DUE
        else:
            share = COMPLETED_BEFORE_DUE
        if rng.random() >= share * person.unit.diligence:
            return
        course = self.courses[rule.course_id]
        earliest = (
            self.earliest_valid_completion if course.validity_months else self.earliest_completion
        )
        start = max(person.hire_date, earliest)
        if course.available_from is not None:
            start = max(start, course.available_from)
        if active:
            last = today
        else:
            assert person.end_date is not None  # who is not active has left
            last = person.end_date - timedelta(days=1)
        if start > last:
            return
        busy = person.unit.busy and not person.is_manager
        draw = rng.random()
        if not active:
            status = _VERIFIED
        elif draw < (BUSY_REPORTED_SHARE if busy else REPORTED_SHARE):
            status = _REPORTED
            start = max(start, self.reported_from)
        elif draw < (
            BUSY_REPORTED_SHARE + BUSY_REJECTED_SHARE if busy else REPORTED_SHARE + REJECTED_SHARE
        ):
            status = _REJECTED
        else:
            status = _VERIFIED
        completed_on = random_day(rng, start, last)
        reviewed_on = self._add_completion(person.id, course, completed_on, status, reviewer)

        if status == _REJECTED and rng.random() < REPORTED_AGAIN_SHARE:
            assert reviewed_on is not None
            if reviewed_on < today:
                again = random_day(rng, reviewed_on + timedelta(days=1), today)
                again_status = (
                    _REPORTED if again >= self.reported_from and rng.random() < 0.3 else _VERIFIED
                )
                self._add_completion(person.id, course, again, again_status, reviewer)
        elif (
            active
            and status == _VERIFIED
            and course.validity_months
            and add_months(completed_on, course.validity_months) <= today
            and rng.random() < RENEWED_SHARE
        ):
            expired_on = add_months(completed_on, course.validity_months)
            again = random_day(rng, max(completed_on, expired_on - timedelta(days=60)), today)
            again_status = (
                _REPORTED if again >= self.reported_from and rng.random() < 0.3 else _VERIFIED
            )
            self._add_completion(person.id, course, again, again_status, reviewer)

    def _add_completion(
        self,
        employee_id: int,
        course: CourseInfo,
        completed_on: date,
        status: str,
        reviewer: int,
    ) -> date | None:
        """One completion row; the day it was reviewed, if it was."""
        rng, today = self.rng, self.today
        reported_on = min(completed_on + timedelta(days=below(rng, 4)), today)
        reported_at = moment(rng, reported_on, today)
        reviewed_on = reviewed_at = reviewed_by = reason = None
        if status != _REPORTED:
            reviewed_on = min(reported_on + timedelta(days=below(rng, 11)), today)
            reviewed_at = max(moment(rng, reviewed_on, today), reported_at)
            reviewed_by = reviewer
            if status == _REJECTED:
                reason = pick(rng, names_people.REJECTION_REASONS)
        self.completions.append(
            (
                employee_id,
                course.id,
                completed_on,
                add_months(completed_on, course.validity_months)
                if course.validity_months
                else None,
                status,
                "",
                reported_at,
                employee_id,
                reviewed_at,
                reviewed_by,
                reason,
            )
        )
        return reviewed_on
