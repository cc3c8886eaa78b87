"""Coverage reports: the municipalities side by side, a municipality by sector and unit, a
unit by person, new-hire compliance, the trend, and the same numbers as CSV and XLSX."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from training_tracker.reports import routes  # noqa: E402,F401
