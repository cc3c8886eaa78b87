"""Managers and HR review reported completions: the queue, one report with its certificate,
verify or reject, bulk verify; and opening a certificate, for whoever may see it."""

from training_tracker.verification.routes import bp

__all__ = ["bp"]
