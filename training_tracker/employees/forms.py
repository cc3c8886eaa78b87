"""Forms of the employees pages."""

from __future__ import annotations
