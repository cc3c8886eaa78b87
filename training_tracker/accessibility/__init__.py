"""The accessibility statement (tillgänglighetsredogörelse) and the form for reporting an
accessibility problem, as the DOS law asks of public-sector services."""

from training_tracker.accessibility.routes import bp

__all__ = ["bp"]
