"""Forms of the rules pages."""

from __future__ import annotations
