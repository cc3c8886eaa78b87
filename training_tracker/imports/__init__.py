"""Importing an HR-system export: upload, preview, confirm."""

from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/employees/import")

from training_tracker.imports import routes  # noqa: E402,F401
