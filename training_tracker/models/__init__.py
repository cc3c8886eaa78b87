"""All models, importable from one place (``from training_tracker.models import Employee``)."""

from training_tracker.models.catalog import Course, Provider
from training_tracker.models.coverage_cache import (
    CoverageChange,
    CoverageChangeTotal,
    CoverageFillRequest,
    CoverageSummary,
    CoverageUnitCache,
    CoverageUnitCell,
)
from training_tracker.models.enums import (
    CompletionStatus,
    CourseStatus,
    OutboxStatus,
    Role,
    Sector,
)
from training_tracker.models.identity import (
    IdentityProvider,
    IdentityProviderDomain,
    SamlSeenAssertion,
    SsoLink,
    SsoProtocol,
)
from training_tracker.models.importing import ImportBatch, ImportStatus
from training_tracker.models.messaging import AuditEvent, OutboxMessage
from training_tracker.models.people import Employee, Municipality, RoleGrant, Unit
from training_tracker.models.programme import (
    EventFormat,
    ProgrammeAttendance,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    RegistrationStatus,
)
from training_tracker.models.reminders import Reminder, ReminderPolicy, ReminderStep
from training_tracker.models.scim import ScimLink, ScimToken
from training_tracker.models.security import RateLimitCounter
from training_tracker.models.training import (
    Assignment,
    AssignmentSource,
    Completion,
    Evidence,
    RequirementRule,
)

__all__ = [
    "Assignment",
    "AssignmentSource",
    "AuditEvent",
    "Completion",
    "CompletionStatus",
    "Course",
    "CourseStatus",
    "CoverageChange",
    "CoverageChangeTotal",
    "CoverageFillRequest",
    "CoverageSummary",
    "CoverageUnitCache",
    "CoverageUnitCell",
    "Employee",
    "EventFormat",
    "Evidence",
    "IdentityProvider",
    "IdentityProviderDomain",
    "ImportBatch",
    "ImportStatus",
    "Municipality",
    "OutboxMessage",
    "OutboxStatus",
    "ProgrammeAttendance",
    "ProgrammeEvent",
    "ProgrammeRegistration",
    "ProgrammeSession",
    "Provider",
    "RateLimitCounter",
    "RegistrationStatus",
    "Reminder",
    "ReminderPolicy",
    "ReminderStep",
    "RequirementRule",
    "Role",
    "RoleGrant",
    "SamlSeenAssertion",
    "ScimLink",
    "ScimToken",
    "Sector",
    "SsoLink",
    "SsoProtocol",
    "Unit",
]
