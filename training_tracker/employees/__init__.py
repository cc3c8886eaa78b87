"""HR's employee pages: the list, one person, enrolling and editing, units."""

from training_tracker.employees.routes import bp

__all__ = ["bp"]
