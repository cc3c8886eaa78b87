"""Requirement rules: which courses whom must take, and by when."""

from training_tracker.rules.routes import bp

__all__ = ["bp"]
