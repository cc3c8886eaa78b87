"""The start page, which gives each role what it came for, and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.downloads import file_download
from training_tracker.extensions import db, limiter
from training_tracker.main.forms import NotificationSettingsForm
from training_tracker.models import Role
from training_tracker.ratelimit import manual_reminder_limit, user_or_address
from training_tracker.services.core.scope import report_scope
from training_tracker.services.core.spreadsheets import export_filename, to_csv, to_xlsx
from training_tracker.services.core.titles import course_title
from training_tracker.services.people import employee_list
from training_tracker.services.reporting import dashboard, manager_overview, minimisation
from training_tracker.services.training import manual_reminders
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
    team = (
        manager_overview.team_overview(db.session, user, today)
        if user.has_role(Role.MANAGER)
        else None
    )
    # People the directory enrolled into no unit yet, for HR to place.
    without_unit = (
        employee_list.count_without_unit(db.session, user)
        if user.has_role(Role.HR, Role.ADMIN)
        else 0
    )
    return render_template(
        "main/home.html",
        without_unit=without_unit,
        team=team,
        my_courses=mine.required if mine else [],
        other_courses=mine.others if mine else [],
        history=mine.history if mine else [],
        teams=teams,
        municipalities=municipalities,
    )


@bp.route("/team/reminders/<int:assignment_id>", methods=["POST"])
@role_required(Role.MANAGER, Role.HR)
@limiter.limit(manual_reminder_limit, methods=["POST"], key_func=user_or_address)
def send_reminder(assignment_id: int) -> Response:
    """A manager (or HR) reminds one person of one overdue course, from the start page."""
    try:
        sent = manual_reminders.send_manual_reminder(
            db.session, actor=current_user, assignment_id=assignment_id
        )
    except manual_reminders.ReminderNotFound:
        abort(404)
    except manual_reminders.ReminderRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(
            _(
                "En påminnelse om %(course)s skickas till %(name)s.",
                course=course_title(sent.assignment.course),
                name=sent.assignment.employee.full_name,
            ),
            "success",
        )
    # To the top, where the message says what happened; the row says "Påmind …" too.
    return redirect(url_for("main.home"))


def _overdue_download(extension: str) -> Response:
    today = clock.today()
    overview = manager_overview.team_overview(db.session, current_user, today)
    sheet = manager_overview.overdue_sheet(overview, today)
    body = to_csv(sheet) if extension == "csv" else to_xlsx([sheet])
    return file_download(body, export_filename(_("försenade kurser"), today, extension), extension)


@bp.route("/team/overdue.csv")
@role_required(Role.MANAGER)
def overdue_csv() -> Response:
    return _overdue_download("csv")


@bp.route("/team/overdue.xlsx")
@role_required(Role.MANAGER)
def overdue_xlsx() -> Response:
    return _overdue_download("xlsx")


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
