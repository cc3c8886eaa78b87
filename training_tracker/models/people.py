"""The municipalities, their units, and the employees (who are also the user accounts) with the
roles granted to them: one module, since each of the three refers to the others."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from training_tracker import clock
from training_tracker.extensions import Model
from training_tracker.models.enums import Role, Sector, enum_type

# A leaver's personal data is kept this long after the end date unless HR sets otherwise.
DEFAULT_RETENTION_MONTHS = 24


class Municipality(Model):
    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(4), unique=True)  # kommunkod, e.g. "0123"
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # Whether reported-but-unverified completions count in coverage (shown separately anyway).
    count_reported_in_coverage: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    retention_months: Mapped[int] = mapped_column(
        default=DEFAULT_RETENTION_MONTHS, server_default=str(DEFAULT_RETENTION_MONTHS)
    )
    # Its people sign in through the municipality's identity provider only: no password
    # sign-in or reset for them (admins and system accounts keep theirs).
    sso_required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    units: Mapped[list[Unit]] = relationship(back_populates="municipality", order_by="Unit.name")
    employees: WriteOnlyMapped[Employee] = relationship(back_populates="municipality")

    def __repr__(self) -> str:
        return f"<Municipality {self.code} {self.name}>"


class Unit(Model):
    """An enhet: every employee belongs to one; its sector decides the required courses."""

    __tablename__ = "units"
    __table_args__ = (sa.UniqueConstraint("municipality_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    sector: Mapped[Sector] = mapped_column(enum_type(Sector))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    municipality: Mapped[Municipality] = relationship(back_populates="units")
    employees: WriteOnlyMapped[Employee] = relationship(back_populates="unit")

    def __repr__(self) -> str:
        return f"<Unit {self.name}>"


class Employee(UserMixin, Model):
    """A person employed by one of the municipalities, and their sign-in account.

    System accounts (an admin created from the command line) have no municipality or unit and
    are never part of a coverage population. No personnummer is stored: nothing needs it.
    """

    __tablename__ = "employees"
    __table_args__ = (
        # E-mail is unique case-insensitively: it is stored lower-cased, and the database
        # refuses anything else.
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.UniqueConstraint("municipality_id", "employee_number"),
        sa.CheckConstraint("preferred_language IN ('sv', 'en')", name="language"),
        # The employee list's default order, within HR's municipality.
        sa.Index("ix_employees_municipality_name", "municipality_id", "last_name", "first_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    employee_number: Mapped[str | None] = mapped_column(sa.String(50))
    municipality_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    manager_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    hire_date: Mapped[date | None]
    end_date: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true(), index=True)
    preferred_language: Mapped[str] = mapped_column(sa.String(2), default="sv", server_default="sv")

    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # Bumped whenever every session of the account must end (logout, new password,
    # deactivation); it is part of the id Flask-Login keeps in the session cookie.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    invited_at: Mapped[datetime | None]
    # A manager may switch off the weekly digest of their team (reminders cannot be).
    digest_opt_out: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    last_login_at: Mapped[datetime | None]
    # Set by the retention job when a leaver's personal data was removed (GDPR): the row
    # stays, nameless, so coverage history still adds up.
    anonymised_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)

    municipality: Mapped[Municipality | None] = relationship(back_populates="employees")
    unit: Mapped[Unit | None] = relationship(back_populates="employees")
    manager: Mapped[Employee | None] = relationship(remote_side=[id])
    role_grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="employee",
        cascade="all, delete-orphan",
        foreign_keys="RoleGrant.employee_id",
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_active(self) -> bool:
        """Flask-Login: inactive accounts cannot sign in. From the end date on, a leaver is
        out even before the nightly job has set ``active`` to False."""
        return self.active and (self.end_date is None or self.end_date > clock.today())

    def get_id(self) -> str:
        # The session cookie holds "id:version"; bumping the version ends every session.
        return f"{self.id}:{self.session_version}"

    def has_role(self, *roles: Role) -> bool:
        return any(grant.role in roles for grant in self.role_grants)

    def __repr__(self) -> str:
        return f"<Employee {self.id} {self.email}>"


class RoleGrant(Model):
    """A role with its scope: manager of a unit, HR of a municipality, coordinator of a
    municipality or (no municipality) of the region, or admin of everything."""

    __tablename__ = "role_grants"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'manager' AND unit_id IS NOT NULL AND municipality_id IS NULL)"
            " OR (role = 'hr' AND municipality_id IS NOT NULL AND unit_id IS NULL)"
            " OR (role = 'coordinator' AND unit_id IS NULL)"
            " OR (role = 'admin' AND municipality_id IS NULL AND unit_id IS NULL)"
            " OR (role = 'organiser' AND unit_id IS NULL)",
            name="scope_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(enum_type(Role))
    municipality_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("units.id", ondelete="CASCADE"), index=True
    )
    granted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )
    granted_at: Mapped[datetime] = mapped_column(default=clock.utcnow)

    employee: Mapped[Employee] = relationship(
        back_populates="role_grants", foreign_keys=[employee_id]
    )
    municipality: Mapped[Municipality | None] = relationship()
    unit: Mapped[Unit | None] = relationship()

    @property
    def is_regional(self) -> bool:
        return self.role == Role.COORDINATOR and self.municipality_id is None

    def __repr__(self) -> str:
        return f"<RoleGrant {self.role} emp={self.employee_id}>"
