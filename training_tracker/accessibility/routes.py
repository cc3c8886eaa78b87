"""Routes; see the package docstring. Both pages are public: someone who cannot sign in
because of an accessibility problem must still be able to read the statement and report it."""

from __future__ import annotations

import secrets
from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from training_tracker.accessibility.forms import SUBMISSION_KEY, ProblemReportForm
from training_tracker.extensions import db, limiter
from training_tracker.fields import required
from training_tracker.services.compliance import accessibility
from training_tracker.services.compliance.accessibility import ProblemReport

bp = Blueprint("accessibility", __name__)


def _report_limit() -> str:
    return current_app.config["ACCESSIBILITY_REPORT_RATE_LIMIT"]


def _reviewed() -> date:
    return date.fromisoformat(current_app.config["ACCESSIBILITY_STATEMENT_REVIEWED"])


@bp.route("/accessibility")
def statement() -> str:
    return render_template(
        "accessibility/statement.html",
        reviewed=_reviewed(),
        contact_email=current_app.config["ACCESSIBILITY_CONTACT_EMAIL"],
    )


@bp.route("/accessibility/report", methods=["GET", "POST"])
@limiter.limit(_report_limit, methods=["POST"])
def report() -> str | Response | tuple[str, int]:
    form = ProblemReportForm()
    if not form.is_submitted():
        # Links to the form carry the page they were on; only a path of ours is taken.
        form.page.data = accessibility.local_path(request.args.get("page"))
        if current_user.is_authenticated:
            # Saves typing; the hint says both are optional, so they can be cleared.
            form.name.data = current_user.full_name
            form.email.data = current_user.email
    if not SUBMISSION_KEY.match(form.submission_key.data or ""):
        form.submission_key.data = secrets.token_urlsafe(24)
    if form.validate_on_submit():
        accessibility.report_problem(
            db.session,
            ProblemReport(
                description=required(form.description.data),
                page=form.page.data or "",
                name=form.name.data or "",
                email=form.email.data or "",
            ),
            contact_email=current_app.config["ACCESSIBILITY_CONTACT_EMAIL"],
            submission_key=required(form.submission_key.data),
            actor=current_user if current_user.is_authenticated else None,
        )
        db.session.commit()
        message = _("Tack! Vi har tagit emot din rapport om bristen i tillgängligheten.")
        if form.email.data:
            message += " " + _("Vi svarar till %(email)s.", email=form.email.data)
        flash(message, "success")
        return redirect(url_for("accessibility.statement"))
    return render_template(
        "accessibility/report.html",
        form=form,
        contact_email=current_app.config["ACCESSIBILITY_CONTACT_EMAIL"],
    ), 422 if form.errors else 200
