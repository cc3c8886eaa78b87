from training_tracker.scim import commands  # noqa: F401  (the `flask scim token` commands)
from training_tracker.scim.routes import bp

__all__ = ["bp"]
