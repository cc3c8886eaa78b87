"""Routes; see the package docstring."""

from __future__ import annotations

from training_tracker.audit import bp  # noqa: F401
