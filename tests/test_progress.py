"""Where one required course stands for one person: the one rule every page shows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from training_tracker.models import Assignment, Completion, CompletionStatus
from training_tracker.services.training.progress import CourseState, course_progress

TODAY = date(2026, 6, 15)
COURSE = 7


def assignment(due: date = TODAY + timedelta(days=10), **kwargs) -> Assignment:  # type: ignore[no-untyped-def]
    return Assignment(employee_id=1, course_id=COURSE, due_date=due, **({"exempt": False} | kwargs))


_ids = iter(range(1, 1000))


def completion(
    status: CompletionStatus,
    completed_on: date,
    expires_on: date | None = None,
    course_id: int = COURSE,
) -> Completion:
    return Completion(
        id=next(_ids),
        employee_id=1,
        course_id=course_id,
        status=status,
        completed_on=completed_on,
        expires_on=expires_on,
        reported_at=datetime.combine(completed_on, datetime.min.time()),
    )


V, R, X, W = (
    CompletionStatus.VERIFIED,
    CompletionStatus.REPORTED,
    CompletionStatus.REJECTED,
    CompletionStatus.WITHDRAWN,
)


def state(a: Assignment, *completions: Completion) -> CourseState:
    return course_progress(a, completions, TODAY).state


def test_nothing_done_yet_is_pending_with_the_days_left_then_overdue():
    ahead = course_progress(assignment(TODAY + timedelta(days=10)), [], TODAY)
    assert (ahead.state, ahead.days_left, ahead.overdue) == (CourseState.PENDING, 10, False)
    late = course_progress(assignment(TODAY - timedelta(days=3)), [], TODAY)
    assert (late.state, late.days_left, late.overdue) == (CourseState.OVERDUE, -3, True)


def test_a_closed_or_exempt_assignment_says_so_whatever_was_reported():
    done = completion(V, TODAY - timedelta(days=1))
    assert state(assignment(removed_at=datetime(2026, 6, 1)), done) == CourseState.REMOVED
    assert state(assignment(exempt=True)) == CourseState.EXEMPT


@pytest.mark.parametrize(
    ("status", "expected"), [(R, CourseState.REPORTED), (V, CourseState.VERIFIED)]
)
def test_a_reported_or_verified_completion_counts(status, expected):
    progress = course_progress(assignment(), [completion(status, TODAY - timedelta(days=5))], TODAY)
    assert progress.state == expected
    assert progress.state.completed and not progress.overdue


def test_a_completion_expiring_within_sixty_days_is_expiring_and_shows_its_expiry():
    done = completion(V, date(2024, 8, 1), expires_on=TODAY + timedelta(days=30))
    progress = course_progress(assignment(), [done], TODAY)
    assert (progress.state, progress.due_date, progress.days_left) == (
        CourseState.EXPIRING,
        TODAY + timedelta(days=30),
        30,
    )
    assert progress.state.completed
    later = completion(V, date(2024, 8, 1), expires_on=TODAY + timedelta(days=61))
    assert state(assignment(), later) == CourseState.VERIFIED


def test_an_expired_completion_makes_the_course_due_again_from_its_expiry():
    done = completion(V, date(2024, 6, 1), expires_on=TODAY - timedelta(days=4))
    progress = course_progress(assignment(TODAY - timedelta(days=400)), [done], TODAY)
    assert (progress.state, progress.due_date, progress.days_left, progress.overdue) == (
        CourseState.EXPIRED,
        TODAY - timedelta(days=4),
        -4,
        True,
    )
    assert course_progress(assignment(), [done], TODAY).due_date == TODAY + timedelta(days=10)


def test_expiring_on_the_day_itself_no_longer_counts():
    done = completion(V, date(2024, 6, 15), expires_on=TODAY)
    assert state(assignment(), done) == CourseState.EXPIRED


def test_a_later_completion_supersedes_an_earlier_one():
    old = completion(V, date(2025, 1, 10))
    new = completion(R, date(2026, 6, 1))
    progress = course_progress(assignment(), [new, old], TODAY)
    assert (progress.state, progress.current) == (CourseState.REPORTED, new)


def test_a_rejected_report_does_not_undo_a_valid_completion():
    assert state(
        assignment(), completion(V, date(2026, 1, 1)), completion(X, date(2026, 5, 1))
    ) == (CourseState.VERIFIED)


def test_a_rejected_report_reopens_the_course():
    rejected = completion(X, TODAY - timedelta(days=2))
    progress = course_progress(assignment(), [rejected], TODAY)
    assert (progress.state, progress.current, progress.state.completed) == (
        CourseState.REJECTED,
        rejected,
        False,
    )


def test_the_newer_of_an_expired_completion_and_a_rejected_report_decides():
    expired = completion(V, date(2024, 1, 1), expires_on=TODAY - timedelta(days=30))
    rejected_after = completion(X, TODAY - timedelta(days=5))
    rejected_before = completion(X, date(2023, 1, 1))
    assert state(assignment(), expired, rejected_after) == CourseState.REJECTED
    assert state(assignment(), expired, rejected_before) == CourseState.EXPIRED


def test_a_report_rejected_after_an_expiry_keeps_the_course_due_from_the_expiry():
    """The same due date the reminders use (services.training.assignments.effective_due)."""
    expired = completion(V, date(2024, 1, 1), expires_on=TODAY - timedelta(days=30))
    rejected = completion(X, TODAY - timedelta(days=5))
    progress = course_progress(assignment(TODAY - timedelta(days=400)), [expired, rejected], TODAY)
    assert (progress.state, progress.due_date) == (
        CourseState.REJECTED,
        TODAY - timedelta(days=30),
    )


def test_withdrawn_reports_and_other_courses_do_not_count():
    withdrawn = completion(W, TODAY - timedelta(days=1))
    other_course = completion(V, TODAY - timedelta(days=1), course_id=COURSE + 1)
    assert state(assignment(), withdrawn, other_course) == CourseState.PENDING
