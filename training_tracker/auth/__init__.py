from flask import Blueprint

bp = Blueprint("auth", __name__)

from training_tracker.auth import routes  # noqa: E402,F401
