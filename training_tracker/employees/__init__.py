"""HR's employee pages: one person, enrolling and editing (``routes``, which holds the
blueprint), the list with its downloads and bulk invitations (``list_routes``), units and the
municipality's settings (``unit_routes``), and recording a course a group completed
(``group_routes``)."""

# The other route modules register on ``bp`` when imported: importing them is the point.
from training_tracker.employees import group_routes, list_routes, unit_routes  # noqa: F401
from training_tracker.employees.routes import bp

__all__ = ["bp"]
