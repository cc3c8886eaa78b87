"""The joint programme: the events open to each employee by month, the November campaign's
page, signing up (oneself, or a manager their staff) and cancelling (``routes``, which holds
the blueprint); organisers create events and sessions and follow the sign-ups
(``manage_routes``) and take attendance, which attendees may also give with a code
(``attendance_routes``), and read the report of sign-ups, attendance and no-shows
(``report_routes``)."""

# The other route modules register on ``bp`` when imported: importing them is the point.
from training_tracker.programme import (  # noqa: F401
    attendance_routes,
    manage_routes,
    report_routes,
)
from training_tracker.programme.routes import bp

__all__ = ["bp"]
