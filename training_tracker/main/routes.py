"""The start page, which gives each role what it came for, and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.main import bp
from training_tracker.models import Role
from training_tracker.services import dashboard
from training_tracker.services.scope import report_scope


@bp.route("/")
@login_required
def home() -> str:
    today = clock.today()
    user = current_user
    mine = dashboard.my_overview(db.session, user, today) if user.unit_id else None
    teams = (
        dashboard.people_summary(db.session, user, today)
        if user.has_role(Role.MANAGER, Role.HR, Role.ADMIN)
        else []
    )
    scope = report_scope(user)
    municipalities = (
        dashboard.report_summary(db.session, scope, today)
        if user.has_role(Role.COORDINATOR, Role.HR, Role.ADMIN)
        else []
    )
    return render_template(
        "main/home.html",
        my_courses=mine.required if mine else [],
        other_courses=mine.others if mine else [],
        history=mine.history if mine else [],
        teams=teams,
        municipalities=municipalities,
    )


@bp.route("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200
