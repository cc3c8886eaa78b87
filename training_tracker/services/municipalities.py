"""A municipality's own settings, kept by its HR (or an admin).

For now one setting: whether completions reported but not yet verified count in the
municipality's coverage (they are shown separately either way). How long history is kept
(``retention_months``) belongs to the retention work and is not changed here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker.models import Employee, Municipality
from training_tracker.services import audit
from training_tracker.services.scope import municipality_clause

SETTINGS = ("count_reported_in_coverage",)


def municipality_in_scope(
    session: Session, user: Employee, municipality_id: int
) -> Municipality | None:
    """The municipality if ``user`` keeps its settings; None otherwise (callers answer 404)."""
    return session.scalars(
        sa.select(Municipality).where(
            Municipality.id == municipality_id, municipality_clause(user, Municipality.id)
        )
    ).one_or_none()


def settings_of(municipality: Municipality) -> dict[str, Any]:
    return {name: getattr(municipality, name) for name in SETTINGS}


def update_settings(
    session: Session,
    municipality: Municipality,
    *,
    count_reported_in_coverage: bool,
    actor: Employee | None,
) -> dict[str, list[Any]]:
    """Change the settings, audited with before and after. Returns {setting: [before,
    after]}; empty when nothing changed (and nothing is recorded)."""
    before = settings_of(municipality)
    municipality.count_reported_in_coverage = bool(count_reported_in_coverage)
    after = settings_of(municipality)
    changes = {
        name: [before[name], after[name]] for name in SETTINGS if before[name] != after[name]
    }
    if changes:
        audit.record(
            session,
            "municipality.settings_changed",
            actor=actor,
            object_type="municipality",
            object_id=municipality.id,
            before=before,
            after=after,
        )
    return changes
