"""The joint programme: events with sessions, sign-ups (with a waiting list) and attendance.

Every timestamp is naive UTC like the rest of the schema; the organiser types Swedish time and
the pages show it (``clock.BUSINESS_TZ``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_tracker import clock
from training_tracker.extensions import Model
from training_tracker.models.enums import Sector, enum_type

if TYPE_CHECKING:
    from training_tracker.models.catalog import Course, Provider
    from training_tracker.models.people import Employee, Municipality


class EventFormat(StrEnum):
    DIGITAL = "digital"  # a link, shown only to those registered
    ON_SITE = "on_site"  # a place

    @property
    def label(self) -> str:
        return str(EVENT_FORMAT_LABELS[self])


EVENT_FORMAT_LABELS = {
    EventFormat.DIGITAL: _l("Digitalt"),
    EventFormat.ON_SITE: _l("På plats"),
}


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"  # has a place
    WAITING = "waiting"  # on the waiting list, in order of registered_at
    PENDING = "pending"  # waits for the manager's approval (events that ask for it)
    CANCELLED = "cancelled"


programme_event_municipalities = sa.Table(
    "programme_event_municipalities",
    Model.metadata,
    sa.Column(
        "event_id",
        sa.ForeignKey("programme_events.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "municipality_id",
        sa.ForeignKey("municipalities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class ProgrammeEvent(Model):
    """A lecture or workshop of the joint programme, open to the staff of one, several or all
    six municipalities."""

    __tablename__ = "programme_events"
    __table_args__ = (
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
        sa.CheckConstraint(
            "(format = 'digital' AND link IS NOT NULL)"
            " OR (format = 'on_site' AND place IS NOT NULL)",
            name="link_or_place",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("providers.id", ondelete="RESTRICT"), index=True
    )
    # Attendance counts as completing this catalogue course; None: the event is its own item.
    course_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    format: Mapped[EventFormat] = mapped_column(enum_type(EventFormat))
    link: Mapped[str | None] = mapped_column(sa.String(500))
    place: Mapped[str | None] = mapped_column(sa.String(300))
    # The sectors it is meant for (values of Sector); empty: everyone.
    sectors: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    capacity: Mapped[int]
    signup_deadline: Mapped[datetime]
    requires_approval: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Part of the November campaign "En månad fri från våld".
    campaign: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Whose organisers manage it: one municipality's, or (None) the regional ones.
    owner_municipality_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)

    provider: Mapped[Provider] = relationship()
    course: Mapped[Course | None] = relationship()
    owner_municipality: Mapped[Municipality | None] = relationship()
    municipalities: Mapped[list[Municipality]] = relationship(
        secondary=programme_event_municipalities, order_by="Municipality.name"
    )
    sessions: Mapped[list[ProgrammeSession]] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        order_by="ProgrammeSession.starts_at",
    )

    @property
    def sector_list(self) -> list[Sector]:
        return [Sector(value) for value in self.sectors]

    @property
    def live_sessions(self) -> list[ProgrammeSession]:
        return [session for session in self.sessions if session.cancelled_at is None]

    @property
    def first_start(self) -> datetime | None:
        live = self.live_sessions
        return live[0].starts_at if live else None

    def __repr__(self) -> str:
        return f"<ProgrammeEvent {self.id} {self.title!r}>"


class ProgrammeSession(Model):
    """One occasion of an event: a start and an end (UTC)."""

    __tablename__ = "programme_sessions"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.Index("ix_programme_sessions_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programme_events.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # The calendar invitation's SEQUENCE: raised at every change people must hear about.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # What attendees type to check in, valid only while the session runs.
    checkin_code: Mapped[str | None] = mapped_column(sa.String(12))
    cancelled_at: Mapped[datetime | None]

    event: Mapped[ProgrammeEvent] = relationship(back_populates="sessions")


class ProgrammeRegistration(Model):
    """One person's sign-up for an event: a place, a place on the waiting list, or a place
    awaiting the manager's approval. One row per person and event, reused on a new sign-up."""

    __tablename__ = "programme_registrations"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "employee_id"),
        sa.Index("ix_programme_registrations_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("programme_events.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RegistrationStatus] = mapped_column(enum_type(RegistrationStatus))
    # The waiting list's order: who asked first.
    registered_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    signed_up_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # The calendar invitation's SEQUENCE for this person (a cancellation raises it).
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")

    event: Mapped[ProgrammeEvent] = relationship()
    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])


class ProgrammeAttendance(Model):
    """Someone was at a session: taken by the organiser or checked in with the code."""

    __tablename__ = "programme_attendance"
    __table_args__ = (sa.UniqueConstraint("session_id", "employee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programme_sessions.id", ondelete="CASCADE"), index=True
    )
    employee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(sa.String(16))  # list, emails, code
    recorded_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )

    session: Mapped[ProgrammeSession] = relationship()
    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
