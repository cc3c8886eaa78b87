"""Routes; see the package docstring."""

from __future__ import annotations

from training_tracker.access import role_required
from training_tracker.models import Role
from training_tracker.rules import bp


@bp.route("/")
@role_required(Role.HR, Role.ADMIN)
def rule_list() -> str:
    return "TODO"
