"""Where one required course stands for one person: the one place that decides.

The employee's own page, HR's page of a person and (later) reminders all read the state from
:func:`course_progress`, so "expiring", "rejected" or "overdue" mean the same everywhere.
Coverage counts in SQL use
:func:`training_tracker.services.training.assignments.holds_valid_completion`,
which follows the same rule: a reported or verified completion counts until it expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from training_tracker.models import Assignment, Completion, CompletionStatus

# A completion that expires within this many days is shown as expiring.
EXPIRING_WITHIN = timedelta(days=60)

_COUNTING = (CompletionStatus.REPORTED, CompletionStatus.VERIFIED)


class CourseState(StrEnum):
    REMOVED = "removed"  # no longer required (a rule ended, the person left)
    EXEMPT = "exempt"
    VERIFIED = "verified"
    REPORTED = "reported"  # awaiting verification; counts meanwhile
    EXPIRING = "expiring"  # completed, but valid for less than EXPIRING_WITHIN
    EXPIRED = "expired"  # due again from the day it expired
    REJECTED = "rejected"  # the report was refused; the course is open again
    OVERDUE = "overdue"  # not completed, past the due date
    PENDING = "pending"  # not completed, due date ahead

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self])

    @property
    def completed(self) -> bool:
        return self in (CourseState.VERIFIED, CourseState.REPORTED, CourseState.EXPIRING)


# The one name of each state, on every page that shows it (the start page, a person's page, the
# unit's table): templates show ``state.label`` through the ``state_badge`` macro. The app does
# not know when someone starts a course, so the open state says "not completed", never "not
# started".
STATE_LABELS = {
    CourseState.REMOVED: _l("Borttagen"),
    CourseState.EXEMPT: _l("Undantagen"),
    CourseState.VERIFIED: _l("Klar och godkänd"),
    CourseState.REPORTED: _l("Rapporterad, väntar på godkännande"),
    CourseState.EXPIRING: _l("Klar, men går snart ut"),
    CourseState.EXPIRED: _l("Har gått ut"),
    CourseState.REJECTED: _l("Rapporten avvisades"),
    CourseState.OVERDUE: _l("Försenad"),
    CourseState.PENDING: _l("Ej genomförd"),
}


@dataclass(frozen=True)
class Progress:
    state: CourseState
    due_date: date  # when the course is (or was) due; an expiry date once a completion ran out
    days_left: int  # negative: that many days overdue
    current: Completion | None  # the completion that decides the state, if any

    @property
    def overdue(self) -> bool:
        return (
            not self.state.completed
            and self.state
            not in (
                CourseState.REMOVED,
                CourseState.EXEMPT,
            )
            and self.days_left < 0
        )


def _newest(completions: Iterable[Completion]) -> Completion | None:
    return max(completions, key=lambda c: (c.completed_on, c.reported_at, c.id), default=None)


def current_completion(completions: Iterable[Completion], today: date) -> Completion | None:
    """The completion that counts today: of the reported or verified ones not yet expired,
    the latest (a later completion supersedes an earlier one; history is kept)."""
    return _newest(
        c
        for c in completions
        if c.status in _COUNTING and (c.expires_on is None or c.expires_on > today)
    )


def course_progress(
    assignment: Assignment, completions: Iterable[Completion], today: date
) -> Progress:
    """The state of one assignment, given the person's completions of its course (any order;
    withdrawn ones are ignored)."""
    completions = [c for c in completions if c.course_id == assignment.course_id]
    due = assignment.due_date

    def make(state: CourseState, current: Completion | None = None, due_on: date = due) -> Progress:
        return Progress(state, due_on, (due_on - today).days, current)

    if assignment.removed_at is not None:
        return make(CourseState.REMOVED)
    if assignment.exempt:
        return make(CourseState.EXEMPT)
    current = current_completion(completions, today)
    if current is not None:
        if current.expires_on is not None and current.expires_on <= today + EXPIRING_WITHIN:
            return make(CourseState.EXPIRING, current, current.expires_on)
        state = (
            CourseState.VERIFIED
            if current.status == CompletionStatus.VERIFIED
            else CourseState.REPORTED
        )
        return make(state, current)
    expired = _newest(c for c in completions if c.status in _COUNTING)
    rejected = _newest(c for c in completions if c.status == CompletionStatus.REJECTED)
    if rejected is not None and (
        expired is None
        or (rejected.completed_on, rejected.reported_at)
        >= (
            expired.completed_on,
            expired.reported_at,
        )
    ):
        # Due again from the day an earlier completion expired, if it did.
        if expired is not None and expired.expires_on is not None:
            return make(CourseState.REJECTED, rejected, max(expired.expires_on, due))
        return make(CourseState.REJECTED, rejected)
    if expired is not None and expired.expires_on is not None:
        # Due again from the day it expired, unless the assignment is due later anyway.
        return make(CourseState.EXPIRED, expired, max(expired.expires_on, due))
    return make(CourseState.OVERDUE if due < today else CourseState.PENDING)
