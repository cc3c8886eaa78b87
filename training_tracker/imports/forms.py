"""Forms of the imports pages."""

from __future__ import annotations
