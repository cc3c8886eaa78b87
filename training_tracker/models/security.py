"""Counters of the rate limits, kept in the database so every worker shares them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from training_tracker.extensions import Model


class RateLimitCounter(Model):
    """One fixed window of one limit (Flask-Limiter's key): its hits and when it ends.

    ``expires_at`` is a Unix timestamp, as the ``limits`` storage interface speaks it.
    """

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    count: Mapped[int] = mapped_column(default=0, server_default="0")
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)
