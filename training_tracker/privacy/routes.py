"""Routes; see the package docstring. The notice is public; a person downloads their own data;
HR downloads the data of someone in their municipality (anyone else answers 404, as every staff
page does)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template, send_file
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.extensions import db
from training_tracker.models import Employee, Municipality, Role
from training_tracker.models.people import DEFAULT_RETENTION_MONTHS
from training_tracker.services.compliance import personal_data
from training_tracker.services.core.scope import Access, employee_in_scope

bp = Blueprint("privacy", __name__)

# Up to this size the ZIP is built in memory; a person with many large certificates spills
# to a temporary file instead of holding a worker's memory.
_IN_MEMORY_BYTES = 8 * 1024 * 1024


@bp.route("/privacy")
def notice() -> str:
    municipalities = db.session.scalars(sa.select(Municipality).order_by(Municipality.name)).all()
    return render_template(
        "privacy/notice.html",
        municipalities=municipalities,
        # The column's default, so the page says what a new municipality gets.
        default_retention_months=DEFAULT_RETENTION_MONTHS,
        contact_email=current_app.config["PRIVACY_CONTACT_EMAIL"],
    )


@bp.route("/my/data")
@login_required
def my_data() -> str:
    return render_template("privacy/my_data.html")


@bp.route("/my/data.zip")
@login_required
def my_data_zip() -> Response:
    return _zip_of(current_user)


@bp.route("/employees/<int:employee_id>/data.zip")
@role_required(Role.HR, Role.ADMIN)
def employee_data_zip(employee_id: int) -> Response:
    # The access HR has to manage staff, the same as the person's page.
    employee = employee_in_scope(db.session, current_user, employee_id, Access.MANAGE)
    if employee is None or employee.municipality_id is None:  # system accounts are not staff
        abort(404)
    return _zip_of(employee)


def _zip_of(employee: Employee) -> Response:
    personal = personal_data.collect(db.session, employee)
    archive = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_BYTES)  # noqa: SIM115 (send_file closes it)
    try:
        personal_data.write_zip(
            personal, archive, upload_folder=Path(current_app.config["UPLOAD_FOLDER"])
        )
        personal_data.record_export(db.session, personal, actor=current_user, subject=employee)
        db.session.commit()
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    filename = personal_data.zip_filename(personal, clock.today())
    response = send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=filename,
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
