"""Coverage reports: the municipalities side by side, a municipality by sector and unit, a
unit by person, new-hire compliance, the trend, and the same numbers as CSV and XLSX."""

from training_tracker.reports.routes import bp

__all__ = ["bp"]
