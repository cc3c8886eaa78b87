"""The employee's own reports: report a completed course with its certificate, replace the
certificate or withdraw the report while it awaits verification."""

from flask import Blueprint

bp = Blueprint("courses", __name__, url_prefix="/my")

from training_tracker.courses import routes  # noqa: E402,F401
