"""Requirement rules, the assignments they materialise, and completions with evidence."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_tracker import clock
from training_tracker.extensions import Model
from training_tracker.models.enums import CompletionStatus, Sector, enum_type

if TYPE_CHECKING:
    from training_tracker.models.catalog import Course
    from training_tracker.models.people import Employee, Municipality, Unit


class RequirementRule(Model):
    """Course X is required for (municipality or all) × (sector, unit or all), due
    ``due_days`` after the hire date, or after ``applies_from`` for staff hired before it."""

    __tablename__ = "requirement_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    municipality_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    sector: Mapped[Sector | None] = mapped_column(enum_type(Sector))
    unit_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("units.id", ondelete="CASCADE"), index=True
    )
    due_days: Mapped[int] = mapped_column(default=90, server_default="90")
    applies_from: Mapped[date]
    # New hires are those hired on or after ``applies_from``; existing staff were hired before.
    for_new_hires: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    for_existing_staff: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # An ended rule stays, so the assignments it made keep their history; from this day on it
    # requires nothing.
    ends_on: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)

    course: Mapped[Course] = relationship()
    municipality: Mapped[Municipality | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class AssignmentSource(StrEnum):
    RULE = "rule"  # kept in step with the requirement rules
    MANUAL = "manual"  # assigned to one person by HR; rules never close it


class Assignment(Model):
    """A course required of one employee, with its due date; one row per employee and course.

    Materialised so that coverage and reminders are set-based queries. An assignment that no
    rule requires any more is closed (``removed_at``), not deleted, so its history stays.
    """

    __tablename__ = "assignments"
    __table_args__ = (sa.UniqueConstraint("employee_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    rule_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("requirement_rules.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[AssignmentSource] = mapped_column(
        enum_type(AssignmentSource), default=AssignmentSource.RULE, server_default="rule"
    )
    due_date: Mapped[date]
    assigned_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    removed_at: Mapped[datetime | None]
    exempt: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    exemption_reason: Mapped[str | None] = mapped_column(sa.String(500))
    exempted_at: Mapped[datetime | None]
    exempted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )

    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
    course: Mapped[Course] = relationship()
    rule: Mapped[RequirementRule | None] = relationship()


class Completion(Model):
    """A course an employee reports (or HR records) as completed, with its review."""

    __tablename__ = "completions"
    __table_args__ = (
        # On PostgreSQL it carries what the coverage report reads of every completion, which
        # it then reads in this index's order, without the table (migration e5b1d7c3a902).
        sa.Index(
            "ix_completions_employee_course_date",
            "employee_id",
            "course_id",
            "completed_on",
            postgresql_include=["status", "reported_at", "reviewed_at", "expires_on"],
        ),
        # The review queue's count in the menu: the waiting reports of a municipality's or a
        # unit's people, found person by person (migration a7c3e9d1f4b2).
        sa.Index("ix_completions_employee_status", "employee_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("employees.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    completed_on: Mapped[date]
    expires_on: Mapped[date | None]
    status: Mapped[CompletionStatus] = mapped_column(
        enum_type(CompletionStatus), default=CompletionStatus.REPORTED, index=True
    )
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    reported_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    reported_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    # One per report form shown: the same form sent twice (a double tap, a retry on a bad
    # connection) makes one report, which the database guarantees.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
    course: Mapped[Course] = relationship()
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="completion", cascade="all, delete-orphan"
    )


class Evidence(Model):
    """An uploaded certificate (intyg), stored outside every served folder under a random
    name."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("completions.id", ondelete="CASCADE"), index=True
    )
    storage_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )
    # What reading the certificate found (services.certificates.CertificateReading.to_json);
    # None when it was not read (an upload from before the reader existed).
    reading: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    completion: Mapped[Completion] = relationship(back_populates="evidence")
