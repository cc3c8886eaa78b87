"""Enumerations shared by the models, services and provider plugins."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l


class Sector(StrEnum):
    """The unit of requirement rules; every unit belongs to one."""

    SOCIAL_SERVICES = "socialtjanst"
    SCHOOL = "skola_forskola"
    LEISURE = "fritid"
    HEALTH_AND_CARE = "halso_sjukvard_omsorg"
    OTHER = "ovrigt"

    @property
    def label(self) -> str:
        return str(SECTOR_LABELS[self])


SECTOR_LABELS = {
    Sector.SOCIAL_SERVICES: _l("Socialtjänst"),
    Sector.SCHOOL: _l("Skola och förskola"),
    Sector.LEISURE: _l("Fritid"),
    Sector.HEALTH_AND_CARE: _l("Hälso- och sjukvård / omsorg"),
    Sector.OTHER: _l("Övrigt"),
}


class Role(StrEnum):
    """Roles granted on top of being an employee; each grant carries its scope."""

    MANAGER = "manager"  # of one unit
    HR = "hr"  # of one municipality
    COORDINATOR = "coordinator"  # of one municipality, or of the region (no municipality)
    ADMIN = "admin"  # everything
    # Of one municipality, or of the region (no municipality): creates the joint programme's
    # events and takes their attendance.
    ORGANISER = "organiser"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.MANAGER: _l("Chef"),
    Role.HR: _l("HR"),
    Role.COORDINATOR: _l("Samordnare"),
    Role.ADMIN: _l("Administratör"),
    Role.ORGANISER: _l("Arrangör"),
}


class CourseStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"  # switched off by an admin; history kept
    RETIRED = "retired"  # no longer declared by any plugin, but has history


class CompletionStatus(StrEnum):
    REPORTED = "reported"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # no longer applies when its turn came (the recipient left)


def enum_type(enum_cls: type[StrEnum]) -> sa.Enum:
    """Store an enum as its string value in a VARCHAR, the same on SQLite and PostgreSQL."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
