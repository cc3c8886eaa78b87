"""Managers and HR review reported completions: the queue, one report with its certificate,
verify or reject, bulk verify; and opening a certificate, for whoever may see it."""

from flask import Blueprint

bp = Blueprint("verification", __name__)

from training_tracker.verification import routes  # noqa: E402,F401
