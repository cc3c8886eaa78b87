"""Course providers and their courses, upserted from the provider plugins."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_tracker import clock
from training_tracker.extensions import Model
from training_tracker.models.enums import CourseStatus, Sector, enum_type


class Provider(Model):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    website: Mapped[str] = mapped_column(sa.String(500))
    # False when no loaded plugin declares it any more.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    courses: Mapped[list[Course]] = relationship(back_populates="provider", order_by="Course.title")


class Course(Model):
    """A course rows can reference. Plugin-declared facts are overwritten by ``catalog sync``;
    what an admin decides (status, due-days override) is kept."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("providers.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str | None] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    url: Mapped[str] = mapped_column(sa.String(500))
    audience: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    length_minutes: Mapped[int | None]
    issues_certificate: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    validity_months: Mapped[int | None]
    default_due_days: Mapped[int] = mapped_column(default=90, server_default="90")
    due_days_override: Mapped[int | None]
    status: Mapped[CourseStatus] = mapped_column(
        enum_type(CourseStatus), default=CourseStatus.ACTIVE, server_default="active"
    )
    # Local courses are created by an admin, not declared by a plugin; sync leaves them alone.
    is_local: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    available_from: Mapped[datetime | None]  # completions cannot be dated before this
    synced_at: Mapped[datetime] = mapped_column(default=clock.utcnow)

    provider: Mapped[Provider] = relationship(back_populates="courses")

    @property
    def due_days(self) -> int:
        return self.due_days_override or self.default_due_days

    @property
    def audience_sectors(self) -> list[Sector]:
        return [Sector(value) for value in self.audience]

    def __repr__(self) -> str:
        return f"<Course {self.key}>"
