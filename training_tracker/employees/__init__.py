"""HR's employee pages: the list, one person, enrolling and editing, units."""

from flask import Blueprint

bp = Blueprint("employees", __name__, url_prefix="/employees")

from training_tracker.employees import routes  # noqa: E402,F401
