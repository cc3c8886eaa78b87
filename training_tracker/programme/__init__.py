"""The joint programme: the events open to each employee by month, the November campaign's
page, signing up (oneself, or a manager their staff) and cancelling (``routes``, which holds
the blueprint); organisers create events and sessions and follow the sign-ups
(``manage_routes``)."""

# The other route module registers on ``bp`` when imported: importing it is the point.
from training_tracker.programme import manage_routes  # noqa: F401
from training_tracker.programme.routes import bp

__all__ = ["bp"]
