"""Requirement rules: which courses whom must take, and by when."""

from flask import Blueprint

bp = Blueprint("rules", __name__, url_prefix="/rules")

from training_tracker.rules import routes  # noqa: E402,F401
