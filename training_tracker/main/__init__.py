from flask import Blueprint

bp = Blueprint("main", __name__)

from training_tracker.main import routes  # noqa: E402,F401
