"""Routes of the programme's report for its organisers: the page and its CSV and XLSX."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.downloads import file_download
from training_tracker.extensions import db
from training_tracker.programme.manage_routes import ORGANISERS
from training_tracker.programme.routes import bp
from training_tracker.services.core.spreadsheets import export_filename, to_csv, to_xlsx
from training_tracker.services.programme import report


@bp.route("/manage/report")
@role_required(*ORGANISERS)
def report_page() -> str:
    return render_template(
        "programme/report.html", reports=report.programme_report(db.session, current_user)
    )


def _export(file_format: str) -> Response:
    sheet = report.report_sheet(report.programme_report(db.session, current_user))
    body = to_csv(sheet) if file_format == "csv" else to_xlsx([sheet])
    return file_download(
        body, export_filename(_("programmet"), clock.today(), file_format), file_format
    )


@bp.route("/manage/report.csv")
@role_required(*ORGANISERS)
def report_csv() -> Response:
    return _export("csv")


@bp.route("/manage/report.xlsx")
@role_required(*ORGANISERS)
def report_xlsx() -> Response:
    return _export("xlsx")
