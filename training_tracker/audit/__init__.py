"""The audit log: who did what to whose records, filtered within the reader's scope and
exported as CSV or XLSX."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from training_tracker.audit import routes  # noqa: E402,F401
