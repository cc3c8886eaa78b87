"""Administration: roles, the course catalogue, the outbox (``routes``, which holds the
blueprint) and the directories' SCIM tokens (``scim_routes``)."""

# The other route module registers on ``bp`` when imported: importing it is the point.
from training_tracker.admin import scim_routes  # noqa: F401
from training_tracker.admin.routes import bp

__all__ = ["bp"]
