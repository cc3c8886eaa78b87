"""Routes; see the package docstring."""

from __future__ import annotations

from training_tracker.access import role_required
from training_tracker.employees import bp
from training_tracker.models import Role


@bp.route("/")
@role_required(Role.HR, Role.ADMIN)
def employee_list() -> str:
    return "TODO"
