"""The start page, which gives each role what it came for, and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.main.forms import NotificationSettingsForm
from training_tracker.models import Role
from training_tracker.services.core.scope import report_scope
from training_tracker.services.reporting import dashboard, minimisation
from training_tracker.services.training.reminders import digest

bp = Blueprint("main", __name__)


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
    # Another municipality's small groups are withheld (scope.aggregate_withheld).
    teams = minimisation.shown_summaries(user, teams)
    municipalities = minimisation.shown_summaries(user, municipalities)
    return render_template(
        "main/home.html",
        my_courses=mine.required if mine else [],
        other_courses=mine.others if mine else [],
        history=mine.history if mine else [],
        teams=teams,
        municipalities=municipalities,
    )


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def notification_settings() -> str | Response:
    """A manager switches their weekly digest on or off (the link in its footer leads here)."""
    is_manager = current_user.has_role(Role.MANAGER)
    form = NotificationSettingsForm(data={"weekly_digest": not current_user.digest_opt_out})
    if is_manager and form.validate_on_submit():
        digest.set_weekly_digest(
            db.session, current_user, wanted=bool(form.weekly_digest.data), actor=current_user
        )
        db.session.commit()
        flash(
            _("Du får veckosammanfattningen.")
            if form.weekly_digest.data
            else _("Du får inte längre veckosammanfattningen."),
            "success",
        )
        return redirect(url_for("main.notification_settings"))
    return render_template("main/notifications.html", form=form, is_manager=is_manager)


@bp.route("/favicon.ico")
def favicon() -> Response:
    """Browsers and bookmarks ask for /favicon.ico whatever the page links."""
    return current_app.send_static_file("icons/favicon.ico")


@bp.route("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200
