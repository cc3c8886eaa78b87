"""The accessibility statement (tillgänglighetsredogörelse) and the form for reporting an
accessibility problem, as the DOS law asks of public-sector services."""

from flask import Blueprint

bp = Blueprint("accessibility", __name__)

from training_tracker.accessibility import routes  # noqa: E402,F401
