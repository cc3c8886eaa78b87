"""Personal data (GDPR): the privacy notice, and everything held about a person as a ZIP for
the person themselves or for HR."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)

from training_tracker.privacy import routes  # noqa: E402,F401
