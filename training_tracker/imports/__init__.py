"""Importing an HR-system export: upload, preview, confirm."""

from training_tracker.imports.routes import bp

__all__ = ["bp"]
