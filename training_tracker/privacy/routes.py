"""Routes; see the package docstring."""

from __future__ import annotations

from training_tracker.privacy import bp  # noqa: F401
