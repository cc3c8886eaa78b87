"""The audit log: who did what to whose records, filtered within the reader's scope and
exported as CSV or XLSX."""

from training_tracker.audit.routes import bp

__all__ = ["bp"]
