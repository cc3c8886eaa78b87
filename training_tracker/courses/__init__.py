"""The employee's own reports: report a completed course with its certificate, replace the
certificate or withdraw the report while it awaits verification."""

from training_tracker.courses.routes import bp

__all__ = ["bp"]
