"""Personal data (GDPR): the privacy notice, and everything held about a person as a ZIP for
the person themselves or for HR."""

from training_tracker.privacy.routes import bp

__all__ = ["bp"]
