"""Every form, fuzzed: whatever is posted, the answer is never a server error, and a request
that is turned away stores nothing.

Each POST route of the URL map is either fuzzed here or named in ``NOT_FUZZED`` with the reason,
so a new form cannot escape. The fuzzer signs in as someone who may use the form (so the request
reaches the form's checks, not a 403), reads the field names from the form class and from the
page that shows the form, and posts arbitrary values: control characters and NUL, long strings,
numbers and dates in odd shapes, formula-, HTML- and SQL-looking text, missing and repeated
fields, a wrong CSRF token, and arbitrary files where a form takes one.

Properties, per request:

* the status is below 500, and so is the page a redirect leads to;
* a rejection (any answer but a redirect, or a redirect to a page with an error message) leaves
  every table (but the audit trail, the rate-limit counters and the coverage cache) and the
  upload folder as they were; a 422 page says what is wrong;
* nothing outside the poster's scope (Sigtuna, for HR and the manager of Järfälla) changes;
* where a form accepts, the pages that show what it stored still render, and simple values
  round-trip.

Every example starts from the same world (put back in one transaction after an example that
changed it), and Hypothesis runs derandomized without its example database, so a run in CI
posts the same requests as a run on a laptop. The inputs it once found failing are kept as
plain tests at the end of the file.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    IntegerField,
    PasswordField,
    RadioField,
    SelectFieldBase,
)

from tests import factories, samples
from training_tracker import clock
from training_tracker.accessibility.forms import ProblemReportForm
from training_tracker.admin.forms import (
    GrantRoleForm,
    NewLinkForm,
    ResendAllForm,
    ResendForm,
    RevokeRoleForm,
)
from training_tracker.admin.scim_forms import (
    NewScimTokenForm,
    RevokeScimTokenForm,
    RotateScimTokenForm,
)
from training_tracker.auth.forms import (
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    SetPasswordForm,
    SsoEmailForm,
)
from training_tracker.courses.forms import (
    CorrectDateForm,
    ReplaceCertificateForm,
    ReportForm,
    WithdrawForm,
)
from training_tracker.employees.forms import (
    AssignCourseForm,
    BulkInvitationForm,
    EditUnitForm,
    EmployeeForm,
    ExemptionForm,
    GroupCompletionForm,
    InviteForm,
    MunicipalitySettingsForm,
    NewEmployeeForm,
    ReminderPolicyForm,
    UnitForm,
)
from training_tracker.extensions import db, limiter
from training_tracker.imports.forms import ConfirmForm, DiscardForm, UploadForm
from training_tracker.main.forms import NotificationSettingsForm
from training_tracker.models import (
    Completion,
    CompletionStatus,
    Employee,
    ImportBatch,
    OutboxStatus,
    Role,
    RoleGrant,
    ScimToken,
    Sector,
    Unit,
)
from training_tracker.programme.forms import (
    AttendanceForm,
    CheckInForm,
    DecisionForm,
    EventForm,
    MessageForm,
    NewEventForm,
    SignupForm,
)
from training_tracker.programme.forms import ConfirmForm as ProgrammeConfirmForm
from training_tracker.programme.forms import SessionForm as ProgrammeSessionForm
from training_tracker.rules.forms import EndRuleForm, RuleForm
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.people import accounts
from training_tracker.services.people.accounts import TokenPurpose
from training_tracker.services.people.scim import tokens
from training_tracker.services.programme import signups
from training_tracker.sso.forms import (
    AddOidcProviderForm,
    AddSamlProviderForm,
    SsoRequirementForm,
)
from training_tracker.verification.forms import BulkVerifyForm, RejectForm, VerifyForm

# POST routes deliberately not fuzzed, each with why.
NOT_FUZZED = {
    # Takes no input but the CSRF token and always signs out: nothing to validate, and every
    # example would end the session the fuzzer needs.
    "auth.logout",
    # A button without fields (the assignment is in the URL), rate-limited per sender: the
    # fuzzer's many examples would meet the limit, not the form. Its refusals are tested in
    # tests/test_manager_start.py.
    "main.send_reminder",
    # The SCIM endpoint (issue #19) takes JSON with a directory's bearer token, not a form
    # with a session: every request here is refused 401 before it is read. Its bodies are
    # fuzzed in tests/test_scim_fuzz.py and by the RFC checker (tests/test_scim_compliance.py).
    "scim.user_create",
    "scim.user_search",
    "scim.elsewhere",
    # Only the CSRF token (the provider is in the URL); removing is tested in
    # tests/test_sso_admin.py.
    "sso.remove",
    # The identity provider's answer (a signed SAMLResponse posted cross-site, bound to our
    # request by its own cookie, not a form of ours with a CSRF token): arbitrary bodies are
    # refused before anything is read. Malformed, unsigned, wrapped (XSW) and entity-laden
    # (XXE, billion laughs) answers are tested in tests/test_sso_saml.py.
    "sso.saml_acs",
}

# Written by requests that are rightly turned away too (a refused sign-in is audited and
# counted), so the "nothing stored" property leaves them out.
UNTRACKED_TABLES = {"audit_events", "rate_limit_counters"}
# Derived from the other tables: the coverage cache, which any page showing coverage may
# fill, and its change log, which database triggers write for every change to the tables
# compared here. They are neither compared nor put back (the triggers log the restore itself).
DERIVED_TABLES = {
    "coverage_unit_cache",
    "coverage_unit_cells",
    "coverage_changes",
    "coverage_change_totals",
}


# --- the targets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    endpoint: str
    path: str  # may name the ids of World.ids, e.g. {own_employee_id}
    role: str  # who posts: anonymous, employee, manager, hr or admin
    page: str  # the page that shows the form (its field names and offered values are read there)
    forms: tuple[type[FlaskForm], ...]
    examples: int = 16
    visit: tuple[str, ...] = ()  # pages that must still render after the form accepted
    check: Callable[[Fuzzing, MultiDict[str, Any]], None] | None = None  # after it accepted

    def __str__(self) -> str:
        return self.endpoint


def _first(sent: MultiDict[str, Any], name: str) -> str:
    """What the form reads of a field: its first value."""
    value = sent.get(name)
    return value if isinstance(value, str) else ""


def _squeezed(value: str) -> str:
    return " ".join(value.split())


def _employee_stored_as_sent(run: Fuzzing, sent: MultiDict[str, Any]) -> None:
    email = normalise_email(_first(sent, "email"))
    stored = db.session.scalars(sa.select(Employee).where(Employee.email == email)).one()
    assert stored.first_name == _squeezed(_first(sent, "first_name"))
    assert stored.last_name == _squeezed(_first(sent, "last_name"))
    assert stored.employee_number == (_first(sent, "employee_number").strip() or None)


def _unit_stored_as_sent(run: Fuzzing, sent: MultiDict[str, Any]) -> None:
    name = _squeezed(_first(sent, "name"))
    assert db.session.scalars(sa.select(Unit).where(Unit.name == name)).first() is not None


def _reason_stored_as_sent(run: Fuzzing, sent: MultiDict[str, Any]) -> None:
    completion = db.session.get(Completion, run.world.ids["own_completion_id"])
    assert completion is not None
    assert completion.status == CompletionStatus.REJECTED
    assert completion.rejection_reason == _squeezed(_first(sent, "reason"))


def _note_stored_as_sent(run: Fuzzing, sent: MultiDict[str, Any]) -> None:
    newest = db.session.scalars(
        sa.select(Completion)
        .where(Completion.employee_id == run.world.users["employee"])
        .order_by(Completion.id.desc())
    ).first()
    assert newest is not None
    assert (newest.note or "") == _first(sent, "note").strip()


def _role_granted_as_sent(run: Fuzzing, sent: MultiDict[str, Any]) -> None:
    email = normalise_email(_first(sent, "email"))
    roles = db.session.scalars(
        sa.select(RoleGrant.role).join(RoleGrant.employee).where(Employee.email == email)
    ).all()
    assert _first(sent, "role") in {role.value for role in roles}


def _scim_token_stored_as_sent(run: Fuzzing, sent: MultiDict[str, Any]) -> None:
    newest = db.session.scalars(sa.select(ScimToken).order_by(ScimToken.id.desc())).first()
    assert newest is not None
    assert newest.label == _squeezed(_first(sent, "label"))
    assert str(newest.municipality_id) == _first(sent, "municipality")


def _uploaded_file_imports(run: Fuzzing, sent: MultiDict[str, Any]) -> None:
    """An accepted upload only previews; confirming it (creating unknown units) writes what
    the file holds, and the pages that show people must still render it."""
    batch_id = db.session.scalar(sa.select(sa.func.max(ImportBatch.id)))
    confirm = {"unknown_units": "create", "invite": "y", "submit": "y", "csrf_token": run.csrf}
    response = run.client.post(f"/employees/import/{batch_id}", data=confirm)
    assert response.status_code < 500
    for page in (response.location or "/", "/employees/", "/reports/coverage.xlsx"):
        assert run.client.get(page).status_code < 500, page


TARGETS = [
    Target("auth.login", "/login", "anonymous", "/login", (LoginForm,)),
    # Home realm discovery: any address leads back to /login or to a provider's start.
    Target("sso.discover", "/login/sso", "anonymous", "/login", (SsoEmailForm,), examples=10),
    Target(
        "sso.admin_list",
        "/admin/sso",
        "admin",
        "/admin/sso",
        (AddOidcProviderForm,),
        examples=20,
    ),
    Target(
        "sso.admin_add_saml",
        "/admin/sso/saml",
        "admin",
        "/admin/sso",
        (AddSamlProviderForm,),
        examples=12,
    ),
    Target(
        "sso.admin_require",
        "/admin/sso/require",
        "admin",
        "/admin/sso",
        (SsoRequirementForm,),
        examples=10,
    ),
    Target(
        "auth.forgot_password",
        "/password/forgot",
        "anonymous",
        "/password/forgot",
        (ForgotPasswordForm,),
        examples=12,
    ),
    Target(
        "auth.accept_invitation",
        "/invitation/{invitation_token}",
        "anonymous",
        "/invitation/{invitation_token}",
        (SetPasswordForm,),
        examples=12,
    ),
    Target(
        "auth.reset_password",
        "/password/reset/{reset_token}",
        "anonymous",
        "/password/reset/{reset_token}",
        (SetPasswordForm,),
        examples=12,
    ),
    Target(
        "accessibility.report",
        "/accessibility/report",
        "anonymous",
        "/accessibility/report",
        (ProblemReportForm,),
    ),
    Target("auth.change_language", "/language", "employee", "/", (LanguageForm,), examples=12),
    Target(
        "main.notification_settings",
        "/settings/notifications",
        "manager",
        "/settings/notifications",
        (NotificationSettingsForm,),
        examples=8,
    ),
    Target(
        "employees.employee_new",
        "/employees/new",
        "hr",
        "/employees/new",
        (NewEmployeeForm,),
        examples=32,
        visit=("/employees/",),
        check=_employee_stored_as_sent,
    ),
    Target(
        "employees.employee_edit",
        "/employees/{own_employee_id}/edit",
        "hr",
        "/employees/{own_employee_id}/edit",
        (EmployeeForm,),
        examples=28,
        visit=("/employees/",),
        check=_employee_stored_as_sent,
    ),
    Target(
        "employees.invite",
        "/employees/{invitee_id}/invite",
        "hr",
        "/employees/{invitee_id}",
        (InviteForm,),
        examples=6,
    ),
    Target(
        # The filters travel as hidden fields beside the count; the invitee's invitation is
        # held, so the confirmation page shows the form.
        "employees.send_invitations",
        "/employees/invitations",
        "hr",
        "/employees/invitations",
        (BulkInvitationForm,),
        examples=5,  # BULK_INVITATION_RATE_LIMIT: 5 a minute
        visit=("/employees/",),
    ),
    Target(
        "employees.assign_course",
        "/employees/{own_employee_id}/assignments",
        "hr",
        "/employees/{own_employee_id}",
        (AssignCourseForm,),
        visit=("/",),
    ),
    Target(
        "employees.exemption",
        "/employees/{own_employee_id}/assignments/{own_assignment_id}/exemption",
        "hr",
        "/employees/{own_employee_id}",
        (ExemptionForm,),
    ),
    Target(
        "employees.unit_list",
        "/employees/units",
        "hr",
        "/employees/units",
        (UnitForm,),
        check=_unit_stored_as_sent,
    ),
    Target(
        "employees.unit_edit",
        "/employees/units/{own_unit_id}",
        "hr",
        "/employees/units/{own_unit_id}",
        (EditUnitForm,),
        check=_unit_stored_as_sent,
    ),
    Target(
        "employees.record_completions",
        "/employees/record-completions",
        "hr",
        "/employees/record-completions",
        (GroupCompletionForm,),
        examples=25,
        visit=("/employees/{own_employee_id}",),
    ),
    Target(
        "employees.municipality_settings",
        "/employees/settings",
        "hr",
        "/employees/settings",
        (MunicipalitySettingsForm, ReminderPolicyForm),
        examples=25,
    ),
    Target(
        "imports.upload",
        "/employees/import/",
        "hr",
        "/employees/import/",
        (UploadForm,),
        examples=28,
        check=_uploaded_file_imports,
    ),
    Target(
        "imports.preview",
        "/employees/import/{own_import_id}",
        "hr",
        "/employees/import/{own_import_id}",
        (ConfirmForm,),
        visit=("/employees/",),
    ),
    Target(
        "imports.discard",
        "/employees/import/{own_import_id}/discard",
        "hr",
        "/employees/import/{own_import_id}",
        (DiscardForm,),
        examples=6,
    ),
    Target(
        "rules.rule_new",
        "/rules/new",
        "hr",
        "/rules/new",
        (RuleForm,),
        examples=28,
        visit=("/rules/",),
    ),
    Target(
        "rules.rule_edit",
        "/rules/{own_rule_id}/edit",
        "hr",
        "/rules/{own_rule_id}/edit",
        (RuleForm,),
        examples=25,
    ),
    Target(
        "rules.rule_end",
        "/rules/{own_rule_id}/end",
        "hr",
        "/rules/{own_rule_id}/edit",
        (EndRuleForm,),
        examples=6,
    ),
    Target(
        "courses.report",
        "/my/report",
        "employee",
        "/my/report",
        (ReportForm,),
        examples=32,
        check=_note_stored_as_sent,
    ),
    Target(
        "courses.replace_certificate",
        "/my/completions/{my_completion_id}/certificate",
        "employee",
        "/my/completions/{my_completion_id}",
        (ReplaceCertificateForm,),
        examples=25,
    ),
    Target(
        "courses.correct_date",
        "/my/completions/{my_completion_id}/date",
        "employee",
        "/my/completions/{my_completion_id}",
        (CorrectDateForm,),
    ),
    Target(
        "courses.withdraw",
        "/my/completions/{my_completion_id}/withdraw",
        "employee",
        "/my/completions/{my_completion_id}/withdraw",  # the confirmation page holds the form
        (WithdrawForm,),
        examples=6,
    ),
    Target(
        "verification.verify",
        "/verify/{own_completion_id}/verify",
        "manager",
        "/verify/{own_completion_id}",
        (VerifyForm,),
        examples=6,
    ),
    Target(
        "verification.reject",
        "/verify/{own_completion_id}/reject",
        "manager",
        "/verify/{own_completion_id}",
        (RejectForm,),
        check=_reason_stored_as_sent,
    ),
    Target(
        "verification.bulk_verify",
        "/verify/bulk",
        "manager",
        "/verify/",
        (BulkVerifyForm,),
    ),
    Target(
        "admin.role_list",
        "/admin/roles",
        "admin",
        "/admin/roles",
        (GrantRoleForm,),
        examples=25,
        check=_role_granted_as_sent,
    ),
    Target(
        "admin.revoke_role",
        "/admin/roles/{grant_id}/revoke",
        "admin",
        "/admin/roles/{grant_id}/revoke",  # the confirmation page holds the form
        (RevokeRoleForm,),
        examples=6,
    ),
    Target(
        "admin.resend_message",
        "/admin/outbox/{outbox_message_id}/resend",
        "admin",
        "/admin/outbox/{outbox_message_id}",
        (ResendForm,),
        examples=6,
    ),
    Target(
        "admin.send_new_link",
        "/admin/outbox/{invitation_message_id}/new-link",
        "admin",
        "/admin/outbox/{invitation_message_id}",
        (NewLinkForm,),
        examples=6,
    ),
    Target(
        "admin.scim_tokens",
        "/admin/scim",
        "admin",
        "/admin/scim",
        (NewScimTokenForm,),
        examples=16,
        check=_scim_token_stored_as_sent,
    ),
    Target(
        "admin.rotate_scim_token",
        "/admin/scim/{scim_token_id}/rotate",
        "admin",
        "/admin/scim",
        (RotateScimTokenForm,),
        examples=6,
    ),
    Target(
        "admin.revoke_scim_token",
        "/admin/scim/{scim_token_id}/revoke",
        "admin",
        "/admin/scim/{scim_token_id}/revoke",  # the confirmation page holds the form
        (RevokeScimTokenForm,),
        examples=6,
    ),
    Target(
        "admin.resend_all_failed",
        "/admin/outbox/resend-failed",
        "admin",
        "/admin/outbox",
        (ResendAllForm,),
        examples=6,
    ),
    # The programme's organiser forms, posted by an admin (who organises every event).
    Target(
        "programme.event_new",
        "/programme/manage/new",
        "admin",
        "/programme/manage/new",
        (NewEventForm,),
        examples=20,
        visit=("/programme/", "/programme/manage/"),
    ),
    Target(
        "programme.event_edit",
        "/programme/manage/{own_event_id}/edit",
        "admin",
        "/programme/manage/{own_event_id}/edit",
        (EventForm,),
        examples=16,
        visit=("/programme/events/{own_event_id}", "/programme/manage/{own_event_id}"),
    ),
    Target(
        "programme.session_add",
        "/programme/manage/{own_event_id}/sessions",
        "admin",
        "/programme/manage/{own_event_id}",
        (ProgrammeSessionForm,),
        examples=12,
        visit=("/programme/manage/{own_event_id}",),
    ),
    Target(
        "programme.session_edit",
        "/programme/manage/{own_event_id}/sessions/{own_session_id}/edit",
        "admin",
        "/programme/manage/{own_event_id}/sessions/{own_session_id}/edit",
        (ProgrammeSessionForm,),
        examples=12,
        visit=("/programme/manage/{own_event_id}",),
    ),
    Target(
        "programme.event_cancel",
        "/programme/manage/{own_event_id}/cancel",
        "admin",
        "/programme/manage/{own_event_id}/cancel",  # the confirmation page holds the form
        (ProgrammeConfirmForm,),
        examples=6,
    ),
    Target(
        "programme.session_cancel",
        "/programme/manage/{own_event_id}/sessions/{own_session_id}/cancel",
        "admin",
        "/programme/manage/{own_event_id}",
        (ProgrammeConfirmForm,),
        examples=6,
    ),
    # A manager signs up one of their staff (or, with no one chosen, is told to choose).
    Target(
        "programme.sign_up",
        "/programme/events/{own_event_id}/signup",
        "manager",
        "/programme/events/{own_event_id}",
        (SignupForm,),
        examples=12,
        visit=("/programme/events/{own_event_id}",),
    ),
    # The manager decides on a sign-up of their staff awaiting approval.
    Target(
        "programme.decide",
        "/programme/events/{approval_event_id}/decide",
        "manager",
        "/programme/events/{approval_event_id}",
        (DecisionForm,),
        examples=8,
    ),
    # The same decision from the page the manager's mail links to.
    Target(
        "programme.approval",
        "/programme/approvals/{approval_registration_id}",
        "manager",
        "/programme/approvals/{approval_registration_id}",
        (DecisionForm,),
        examples=8,
    ),
    Target(
        "programme.message_everyone",
        "/programme/manage/{own_event_id}/message",
        "admin",
        "/programme/manage/{own_event_id}",
        (MessageForm,),
        examples=10,
    ),
    Target(
        "programme.attendance_list",
        "/programme/manage/{own_event_id}/sessions/{own_session_id}/attendance",
        "admin",
        "/programme/manage/{own_event_id}/sessions/{own_session_id}/attendance",
        (AttendanceForm,),
        examples=16,
        visit=("/programme/manage/{own_event_id}",),
    ),
    Target(
        "programme.check_in",
        "/programme/checkin",
        "employee",
        "/programme/checkin",
        (CheckInForm,),
        examples=10,
    ),
    # The employee, signed up in the world, cancels (or names someone else: 404).
    Target(
        "programme.cancel_signup",
        "/programme/events/{own_event_id}/cancel",
        "employee",
        "/programme/events/{own_event_id}",
        (ProgrammeConfirmForm,),
        examples=8,
    ),
]


def test_every_post_route_is_fuzzed_or_excluded_with_a_reason(app: Flask) -> None:
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}
    fuzzed = {target.endpoint for target in TARGETS}
    assert not fuzzed & NOT_FUZZED
    missing = posts - fuzzed - NOT_FUZZED
    assert not missing, f"fuzz these forms in tests/test_fuzz.py or exclude them: {missing}"
    assert not (fuzzed | NOT_FUZZED) - posts, "the fuzzer names routes that no longer exist"


# --- the world every example starts from ----------------------------------------------------


@dataclass
class World:
    users: dict[str, int]  # role → employee id
    ids: dict[str, Any]  # what a target's path and values may name
    emails: list[str]  # addresses of people in the world, to post as plausible values
    sigtuna_id: int


def build_world() -> World:
    """Järfälla with an HR officer, a manager of IFO Järfälla, an employee and a colleague
    with a course assigned and a report awaiting review; an invitee; the employee's own
    report; an import awaiting confirmation; a failed mail and a sent invitation; and, outside
    every scope but the admin's, someone in Sigtuna with a report of their own."""
    home = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    admin = factories.admin()
    hr = factories.with_role(factories.employee(unit=home), Role.HR, municipality_name="Järfälla")
    manager = factories.with_role(factories.employee(unit=home), Role.MANAGER, on_unit=home)
    employee = factories.employee(unit=home)
    colleague = factories.employee(unit=home, first_name="Kollega")
    invitee = factories.employee(unit=home, password=None)
    outsider = factories.employee(unit=factories.unit("Sigtuna", Sector.SCHOOL, "Skolan"))
    grant = factories.with_role(colleague, Role.COORDINATOR, municipality_name="Järfälla")
    rule = factories.rule(course, municipality_name="Järfälla")
    assignment = factories.assignment(colleague, course)
    reported = factories.completion(colleague, course, status=CompletionStatus.REPORTED)
    factories.evidence(reported)
    mine = factories.completion(employee, course, status=CompletionStatus.REPORTED)
    factories.evidence(mine)
    foreign = factories.completion(outsider, course, status=CompletionStatus.REPORTED)
    message = factories.outbox_message(outsider, status=OutboxStatus.FAILED, last_error="550")
    invitation = factories.outbox_message(invitee, kind="invitation", status=OutboxStatus.SENT)
    batch = factories.import_batch("Järfälla")
    scim_token, _secret = tokens.create_token(
        db.session, factories.municipality("Sigtuna"), label="Entra ID", actor=None
    )
    # A provider, so that the sign-in page shows the address form (its issuer answers no one).
    factories.identity_provider(
        "https://login.upplands-bro.invalid",
        municipality_name="Upplands-Bro",
        domains=("upplands-bro.invalid",),
    )
    event = factories.programme_event(capacity=3)
    factories.programme_session(event, days_later=1)
    signups.sign_up(db.session, employee, event, employee)
    approval = factories.programme_event(title="Med godkännande", requires_approval=True)
    awaiting = signups.sign_up(db.session, colleague, approval, colleague)
    people = [admin, hr, manager, employee, colleague, invitee, outsider]
    db.session.commit()
    return World(
        users={"admin": admin.id, "hr": hr.id, "manager": manager.id, "employee": employee.id},
        ids={
            "own_employee_id": colleague.id,
            "own_unit_id": home.id,
            "own_municipality_id": home.municipality_id,
            "own_assignment_id": assignment.id,
            "own_completion_id": reported.id,
            "my_completion_id": mine.id,
            "own_rule_id": rule.id,
            "course_id": course.id,
            "own_import_id": batch.id,
            "scim_token_id": scim_token.id,
            "own_event_id": event.id,
            "approval_event_id": approval.id,
            "approval_registration_id": awaiting.id,
            "own_session_id": event.sessions[0].id,
            "invitee_id": invitee.id,
            "invitation_message_id": invitation.id,
            "grant_id": grant.role_grants[0].id,
            "outbox_message_id": message.id,
            "other_employee_id": outsider.id,
            "other_unit_id": outsider.unit_id,
            "other_completion_id": foreign.id,
            "other_municipality_id": outsider.municipality_id,
            "invitation_token": accounts.make_token(invitee, TokenPurpose.INVITATION),
            "reset_token": accounts.make_token(colleague, TokenPurpose.PASSWORD_RESET),
        },
        emails=[person.email for person in people],
        sigtuna_id=outsider.municipality_id or 0,
    )


@dataclass
class Saved:
    """The world as built, row by row and file by file, to put back in one transaction
    (building it again through the factories takes a second); and, per role, a signed-in
    session cookie and its CSRF token, valid again whenever the rows are back."""

    world: World
    rows: dict[str, list[dict[str, Any]]]
    files: dict[str, bytes]
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)


_saved: list[Saved] = []  # built by the first test that needs it, for the whole module


def saved_world(uploads: Path) -> Saved:
    if not _saved:
        world = build_world()
        with db.engine.connect() as connection:
            rows = {
                table.name: [dict(row._mapping) for row in connection.execute(sa.select(table))]
                for table in db.metadata.sorted_tables
            }
        files = {path.name: path.read_bytes() for path in uploads.iterdir()}
        _saved.append(Saved(world, rows, files))
    return _saved[0]


def restore(saved: Saved, uploads: Path) -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())
        for table in db.metadata.sorted_tables:
            if saved.rows[table.name] and table.name not in DERIVED_TABLES:
                connection.execute(table.insert(), saved.rows[table.name])
    shutil.rmtree(uploads, ignore_errors=True)
    uploads.mkdir(parents=True)
    for name, content in saved.files.items():
        (uploads / name).write_bytes(content)
    limiter.reset()


# --- what the database holds, to compare before and after --------------------------------------


@dataclass(frozen=True)
class State:
    tables: dict[str, tuple[int, str]]  # per table: its row count and a checksum of its rows
    sigtuna: str  # a checksum of every row that belongs to Sigtuna
    files: tuple[str, ...]  # the upload folder


def read_state(sigtuna_id: int, uploads: Path) -> State:
    """What is stored, but the untracked tables. Sigtuna's rows (the municipality, and what
    has its id or one of its employees' ids) lie outside the scope of Järfälla's HR and
    managers, so nothing they post may change them."""
    tables: dict[str, tuple[int, str]] = {}
    sigtuna = hashlib.sha256()
    theirs: set[int] = set()  # Sigtuna's employees
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in UNTRACKED_TABLES | DERIVED_TABLES:
                continue
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            tables[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
            if table.name == "employees":
                theirs = {row.id for row in rows if row.municipality_id == sigtuna_id}
            columns = table.columns.keys()
            if table.name == "municipalities":
                mine = [row for row in rows if row.id == sigtuna_id]
            elif "municipality_id" in columns:
                mine = [row for row in rows if row.municipality_id == sigtuna_id]
            elif "employee_id" in columns:
                mine = [row for row in rows if row.employee_id in theirs]
            else:
                continue
            sigtuna.update(repr((table.name, mine)).encode())
    files = tuple(sorted(p.name for p in uploads.iterdir())) if uploads.is_dir() else ()
    return State(tables, sigtuna.hexdigest(), files)


# --- reading a page's forms ---------------------------------------------------------------------


@dataclass
class PageForm:
    action: str
    values: dict[str, set[str]] = field(default_factory=dict)  # name → values offered


class FormReader(HTMLParser):
    """The POST forms of a page: their action, field names and the values the page offers
    (options, radio and checkbox values, hidden and prefilled values)."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: str | None = None

    def _offer(self, name: str | None, value: str | None) -> None:
        if self._form is not None and name and name != "csrf_token":
            values = self._form.values.setdefault(name, set())
            if value is not None:
                values.add(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            if (a.get("method") or "get").lower() == "post":
                self._form = PageForm(urlsplit(a.get("action") or self.page_path).path)
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            default = "y" if kind == "checkbox" else None
            self._offer(a.get("name"), a.get("value") or default)
        elif tag in ("textarea", "button"):
            self._offer(a.get("name"), a.get("value"))
        elif tag == "select":
            self._select = a.get("name")
            self._offer(self._select, None)
        elif tag == "option" and self._select:
            self._offer(self._select, a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None


# --- what is posted -------------------------------------------------------------------------------

ODD_STRINGS = [
    "",
    " ",
    "\t\r\n",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202egpj.exe",
    "\ufeff",
    "\u00a0",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "ÅÄÖ åäö",
    "=cmd|' /C calc'!A0",
    "+SUM(1;1)",
    "@SUM(A1)",
    "-2+3",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "'; DROP TABLE employees; --",
    "%' OR '%'='",
    "{{ 7*7 }}",
    "%s%n%x",
    "../../etc/passwd",
    "null",
    "None",
    "[]",
    "{}",
    "y",
    "on",
]
ODD_NUMBERS = [
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775808",
    "1" * 40,
    "1e9",
    "0x1F",
    "1_000",
    "1,5",
    "+5",
    " 7 ",
    "²",
    "١٢",
    "٣",
    "NaN",
    "-0",
]
ODD_DATES = [
    "2024-02-30",
    "2024-13-01",
    "0000-01-01",
    "0001-01-01",
    "1900-01-01",
    "9999-12-31",
    "99999-01-01",
    "2024-1-1",
    "20240101",
    "2024-01-01T00:00:00",
    "-2024-01-01",
    "2024/01/01",
    "31/12/2024",
    "today",
]

unicode_text = st.text(st.characters(codec="utf-8"), max_size=30)  # NUL and controls, no surrogates
long_text = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["a", "å", "\x00", "<", "😀", " ", "1"]),
    st.sampled_from([51, 101, 201, 255, 256, 501, 1001, 2001, 10_000]),
)
control_text = st.text(  # what no keyboard types: NUL, controls, separators, bidi, BOM
    st.sampled_from([*"ab ", "\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\u2028", "\u202e"]),
    min_size=1,
    max_size=12,
)
odd_value = st.one_of(
    control_text,
    st.sampled_from(ODD_STRINGS),
    unicode_text,
    st.one_of(st.sampled_from(ODD_NUMBERS), st.integers(-(2**70), 2**70).map(str)),
    st.one_of(st.sampled_from(ODD_DATES), st.dates().map(date.isoformat)),
    long_text,
)
plain_text = st.text(alphabet="abcdefghåäöABCÅ -'", min_size=1, max_size=30)
STRONG_PASSWORD = "Blåbärssoppa-i-Vasaloppet-2026"


def _kind(form_field: Field) -> str:
    if isinstance(form_field, FileField):
        return "file"
    if isinstance(form_field, DateField):
        return "date"
    if isinstance(form_field, IntegerField):
        return "int"
    if isinstance(form_field, BooleanField):
        return "bool"
    if isinstance(form_field, EmailField):
        return "email"
    if isinstance(form_field, PasswordField):
        return "password"
    if isinstance(form_field, SelectFieldBase | RadioField):
        return "choice"
    return "text"


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # file, date, int, bool, email, password, choice or text
    required: bool


def form_fields(app: Flask, forms: tuple[type[FlaskForm], ...]) -> dict[str, FieldSpec]:
    """The fields the form classes read."""
    specs: dict[str, FieldSpec] = {}
    with app.test_request_context():
        for form_class in forms:
            form = form_class(formdata=None, meta={"csrf": False})
            for form_field in form:
                specs[form_field.name] = FieldSpec(
                    _kind(form_field), bool(getattr(form_field.flags, "required", False))
                )
    specs.pop("csrf_token", None)
    return specs


def fresh_email() -> st.SearchStrategy[str]:
    local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
    return local.map(lambda name: f"{name}@test.example")


def plausible(spec: FieldSpec, offered: set[str], world: World) -> st.SearchStrategy[str]:
    """A value the form may well accept, so that examples get past the first check: what the
    page offers (options, prefilled values) or something of the field's kind."""
    today = clock.today()
    base: st.SearchStrategy[str]
    if spec.kind == "date":
        base = st.integers(-4000, 400).map(lambda n: (today + timedelta(n)).isoformat())
    elif spec.kind == "int":
        base = st.integers(0, 400).map(str)
    elif spec.kind == "bool":
        return st.sampled_from(["y", "y", ""])  # a checkbox: ticked, or not sent at all
    elif spec.kind == "email":
        base = st.one_of(fresh_email(), st.sampled_from(world.emails))
    elif spec.kind == "password":
        base = st.sampled_from([factories.PASSWORD, STRONG_PASSWORD])
    elif spec.kind == "choice":
        base = st.sampled_from([str(v) for k, v in world.ids.items() if k.endswith("_id")])
    else:
        base = plain_text
    values = sorted(offered - {""})
    if spec.kind == "choice" and values:
        # Only what the page offers; the empty placeholder only where the field is optional.
        return st.sampled_from(values + ([] if spec.required or "" not in offered else [""]))
    if values:
        base = st.one_of(st.sampled_from(values), base)
    # Optional fields are often left empty, as people do (and other fields depend on them).
    return base if spec.required else st.one_of(st.just(""), st.just(""), base)


def odd(spec: FieldSpec, world: World) -> st.SearchStrategy[Any]:
    """A value the form should turn away, or at least handle: see ``odd_value``; for a
    choice also any id of the world, in scope or not; for a file, any file."""
    if spec.kind == "file":
        return upload
    if spec.kind == "choice":
        ids = sorted({str(v) for k, v in world.ids.items() if k.endswith("_id")})
        return st.one_of(st.sampled_from(ids), odd_value)
    return odd_value


# Files: what a browser may send, and what an attacker may.
PDF = samples.certificate_pdf(["Intyg", "Webbkurs om våld", "Anna Testsson", "2026-01-15"])
PNG = samples.png_bytes()
JPEG = samples.jpeg_bytes()
CSV = (
    "förnamn;efternamn;e-post;enhet;sektor;anställningsdatum\n"
    "Lisa;Berg;lisa.berg@test.example;IFO Järfälla;Socialtjänst;2026-01-15\n"
).encode()
IMPORT_HEADERS = [
    "förnamn",
    "efternamn",
    "e-post",
    "kommun",
    "enhet",
    "sektor",
    "anställningsdatum",
    "anställningsnummer",
    "chefens e-post",
    "slutdatum",
    "personnummer",
    "First name",
]


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


XLSX = _xlsx(
    [
        ["förnamn", "efternamn", "e-post", "enhet", "sektor", "anställningsdatum"],
        ["Lisa", "Berg", "lisa.berg@test.example", "IFO Järfälla", "Socialtjänst", "2026-01-15"],
    ]
)


def _bombish_xlsx() -> bytes:
    """A small XLSX whose sheet unpacks to megabytes of one repeated row."""
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x</t></is></c></row>' for n in range(1, 2)
    )
    filler = "<!--" + " " * 3_000_000 + "-->"
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(XLSX)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<sheetData>", f"<sheetData>{filler}{rows}".encode())
            target.writestr(item.filename, content)
    return out.getvalue()


def _bomb_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"\0" * 5_000_000)
    return out.getvalue()


BOMBS = [_bombish_xlsx(), _bomb_zip()]


@st.composite
def truncated(draw: st.DrawFn, whole: bytes) -> bytes:
    return whole[: draw(st.integers(0, len(whole)))]


@st.composite
def csv_export(draw: st.DrawFn) -> bytes:
    """An HR export in the right shape with arbitrary cells, in one of the encodings met."""
    headers = draw(st.lists(st.sampled_from(IMPORT_HEADERS), min_size=1, max_size=8))
    cell = st.one_of(plain_text, odd_value, st.emails().map(str))
    rows = draw(st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)), max_size=4))
    delimiter = draw(st.sampled_from([";", ",", "\t"]))
    text = "\n".join(delimiter.join(line) for line in [headers, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


file_content = st.one_of(
    st.sampled_from([PDF, PNG, JPEG, CSV, XLSX]),
    st.binary(max_size=300),
    st.sampled_from([b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"PK\x03\x04"]).flatmap(
        lambda head: st.binary(max_size=200).map(lambda tail: head + tail)
    ),
    st.sampled_from([PDF, PNG, JPEG, XLSX, CSV]).flatmap(truncated),
    st.just(samples.damaged_pdf()),
    st.sampled_from(BOMBS),
    csv_export(),
)
file_name = st.one_of(
    st.sampled_from(
        [
            "intyg.pdf",
            "bild.png",
            "foto.JPG",
            "personal.csv",
            "personal.xlsx",
            "",
            "..\\..\\evil.pdf",
            "../../etc/passwd",
            "a" * 300 + ".pdf",
            "intyg.pdf.exe",
            "\u202efdp.exe",
            "=cmd|.csv",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_characters='\r\n"\\'), max_size=30),
)
content_type = st.sampled_from(
    [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/octet-stream",
        "text/html",
        "application/x-msdownload",
    ]
)
upload = st.tuples(file_content, file_name, content_type).map(
    lambda parts: (io.BytesIO(parts[0]), parts[1], parts[2])
)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GOOD_FILES: dict[str, st.SearchStrategy[tuple[bytes, str, str]]] = {
    "certificate": st.sampled_from(
        [
            (PDF, "intyg.pdf", "application/pdf"),
            (PNG, "intyg.png", "image/png"),
            (JPEG, "intyg.jpg", "image/jpeg"),
        ]
    ),
    "file": st.one_of(
        st.sampled_from([(CSV, "personal.csv", "text/csv"), (XLSX, "personal.xlsx", XLSX_TYPE)]),
        csv_export().map(lambda content: (content, "export.csv", "text/csv")),
    ),
}


def good_file(name: str) -> st.SearchStrategy[tuple[io.BytesIO, str, str]]:
    return GOOD_FILES[name].map(lambda parts: (io.BytesIO(parts[0]), parts[1], parts[2]))


@st.composite
def request_data(
    draw: st.DrawFn, specs: dict[str, FieldSpec], offered: dict[str, set[str]], world: World
) -> MultiDict[str, Any]:
    """One POST body. Most often one field is spoiled (an odd value, left out, or sent twice)
    and the others are plausible, so that the odd value reaches as far as it can; sometimes a
    few or all are. Sometimes a field the form does not know comes along. Shrinking leads to
    the fewest spoiled fields."""
    names = sorted(specs.keys() | offered.keys())
    spoiled: set[str] = set()
    if names:  # else a form of its CSRF token only
        how_many = draw(st.sampled_from(["one", "one", "a few", "all"]))
        if how_many == "one":
            spoiled = {draw(st.sampled_from(names))}
        elif how_many == "a few":
            spoiled = draw(st.sets(st.sampled_from(names), max_size=3))
        else:
            spoiled = set(names)
    items: list[tuple[str, Any]] = []
    for name in names:
        spec = specs.get(name, FieldSpec("text", required=False))
        good = (
            good_file(name)
            if spec.kind == "file"
            else plausible(spec, offered.get(name, set()), world)
        )
        if name not in spoiled:
            items.append((name, draw(good)))
            continue
        how = draw(st.sampled_from(["odd value", "odd value", "odd value", "left out", "twice"]))
        if how == "odd value":
            items.append((name, draw(odd(spec, world))))
        elif how == "twice":
            items.extend((name, draw(st.one_of(good, odd(spec, world)))) for _ in range(2))
    extra = draw(st.lists(st.tuples(unicode_text.filter(bool), odd_value), max_size=1))
    return MultiDict(items + extra)


# --- the property -------------------------------------------------------------------------------

ERROR_SHOWN = re.compile(r'class="(error-summary|error-message|flash flash-error)"')
REDIRECTS = {301, 302, 303, 307, 308}


@dataclass
class Fuzzing:
    """One target's run: the saved world, a client signed in as the target's role, and the
    values the target's page offers."""

    app: Flask
    target: Target
    uploads: Path
    saved: Saved
    client: Any = None
    csrf: str = ""
    offered: dict[str, set[str]] = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.saved.world

    def url(self, path: str) -> str:
        return path.format(**self.world.ids)

    def reset(self, *, rows: bool = True) -> None:
        """The saved world again (unless not ``rows``), and a fresh client with the role's
        session."""
        if rows:
            restore(self.saved, self.uploads)
        self.client = self.app.test_client()
        role = self.target.role
        if role not in self.saved.sessions:
            if role != "anonymous":
                self.client.sign_in(db.session.get(Employee, self.world.users[role]))
            token = self.client.csrf_token()
            cookie = self.client.get_cookie("session")
            assert cookie is not None
            self.saved.sessions[role] = (cookie.value, token)
        cookie_value, self.csrf = self.saved.sessions[role]
        self.client.set_cookie("session", cookie_value)

    def read_page(self) -> None:
        """The field names and values of the forms on the target's page that post to it."""
        page = self.client.get(self.url(self.target.page))
        assert page.status_code == 200, f"{self.target.page} answers {page.status_code}"
        reader = FormReader(self.url(self.target.page).split("?")[0])
        reader.feed(page.get_data(as_text=True))
        action = self.url(self.target.path)
        forms = [form for form in reader.forms if form.action == action]
        assert forms, f"{self.target.page} shows no form that posts to {action}"
        for form in forms:
            for name, values in form.values.items():
                self.offered.setdefault(name, set()).update(values)


def _csrf_choice(valid: str) -> st.SearchStrategy[str | None]:
    # Mostly the real token, so that the form's own checks are reached.
    return st.sampled_from([valid] * 15 + [None, "", "not-a-token"])


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_no_form_answers_500_and_a_rejection_stores_nothing(
    app: Flask, client: Any, uploads: Path, monkeypatch: pytest.MonkeyPatch, target: Target
) -> None:
    # The limits would soon answer 429 to every example of the sign-in forms.
    monkeypatch.setattr(limiter, "enabled", False)
    run = Fuzzing(app, target, uploads, saved_world(uploads))
    run.reset()
    run.read_page()
    specs = form_fields(app, target.forms)
    world = run.world
    dirty = signed_in = False
    last_state: list[State] = []  # the state the last example left

    @settings(
        max_examples=target.examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def post_anything(data: st.DataObject) -> None:
        nonlocal dirty, signed_in
        if dirty or signed_in:  # start from the saved world and session again
            run.reset(rows=dirty)
            signed_in = False
            last_state.clear()
        dirty = True  # until this example ends having changed nothing (a failure leaves it)
        sent = data.draw(request_data(specs, run.offered, world), label="form")
        token = data.draw(_csrf_choice(run.csrf), label="csrf_token")
        if token is not None:
            sent.add("csrf_token", token)
        db.session.rollback()
        # What the last example left, unless it changed something (then read afresh).
        before = last_state[0] if last_state else read_state(world.sigtuna_id, uploads)

        response = run.client.post(run.url(target.path), data=sent)
        assert response.status_code < 500
        rejected = response.status_code not in REDIRECTS
        if response.status_code == 422:
            assert ERROR_SHOWN.search(response.get_data(as_text=True)), "422 without a message"
        if not rejected:
            landing = run.client.get(response.location)
            assert landing.status_code < 500
            rejected = 'class="flash flash-error"' in landing.get_data(as_text=True)

        db.session.rollback()
        after = read_state(world.sigtuna_id, uploads)
        if target.role not in ("admin", "anonymous"):
            assert after.sigtuna == before.sigtuna, "a change outside the poster's scope"
        last_state[:] = [after]
        if rejected:
            changed = {name for name in before.tables if before.tables[name] != after.tables[name]}
            assert not changed, f"a rejected request changed {sorted(changed)}"
            assert after.files == before.files, "a rejected request left a file"
            dirty = False
            return
        dirty = after != before
        if dirty:
            if target.check is not None:
                target.check(run, sent)
            for page in target.visit:
                shown = run.client.get(run.url(page))
                assert shown.status_code < 500, page
        # An accepted sign-in or new password signs the client in: sign it out again.
        signed_in = target.role == "anonymous"

    post_anything()


# --- what the fuzzer found ------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """An input that once answered 500, now turned away with a message and nothing stored."""

    endpoint: str
    data: dict[str, str]  # values may name the ids of World.ids
    status: int
    message: str  # on the answer, or on the page a redirect leads to

    def __str__(self) -> str:
        return f"{self.endpoint} {self.data}"


DATE_RANGE = "Skriv ett datum mellan 1900-01-01 och 2100-12-31."
NUL_REFUSED = "Formuläret innehöll ett otillåtet tecken (NUL)"
TODAY = "{today}"
FOUND = [
    # A number past the id column's range: OverflowError on SQLite.
    Found(
        "verification.bulk_verify",
        {"completion_ids": "9223372036854775808"},
        302,
        "Listan över rapporter gick inte att läsa.",
    ),
    # "²" passes str.isdigit() but not int(): ValueError while reading the queue's filters.
    Found(
        "verification.bulk_verify",
        {"completion_ids": "x", "course": "²"},
        302,
        "Listan över rapporter gick inte att läsa.",
    ),
    Found(
        "courses.report",
        {"course_id": "9223372036854775808", "completed_on": TODAY},
        422,
        "Välj en kurs i listan.",
    ),
    Found(
        "courses.report", {"course_id": "²", "completed_on": TODAY}, 422, "Välj en kurs i listan."
    ),
    # A handling of unknown units that is none of the choices: ValueError.
    Found(
        "imports.preview",
        {"unknown_units": "5", "submit": "y"},
        422,
        "Enheter som inte finns: Inte ett giltigt val",
    ),
    # Only spaces passed InputRequired, and the view got None for a required date.
    Found(
        "employees.assign_course",
        {"course": "{course_id}", "due_date": "   "},
        422,
        "Fyll i sista dag.",
    ),
    # A due date 90 days after 9999-12-31 cannot be stored.
    Found(
        "employees.employee_new",
        {
            "first_name": "Ada",
            "last_name": "Lind",
            "email": "ada.lind@test.example",
            "unit": "{own_unit_id}",
            "hire_date": "9999-12-31",
            "language": "sv",
        },
        422,
        DATE_RANGE,
    ),
    Found(
        "rules.rule_new",
        {
            "course": "{course_id}",
            "municipality": "{own_municipality_id}",
            "due_days": "3650",
            "applies_from": "9999-12-31",
            "for_new_hires": "y",
            "for_existing_staff": "y",
        },
        422,
        DATE_RANGE,
    ),
    # PostgreSQL can neither store nor compare text holding NUL.
    Found(
        "employees.employee_new",
        {
            "first_name": "A\x00B",
            "last_name": "Lind",
            "email": "ada.lind@test.example",
            "unit": "{own_unit_id}",
            "hire_date": TODAY,
            "language": "sv",
        },
        400,
        NUL_REFUSED,
    ),
    Found("auth.login", {"email": "\x00", "password": factories.PASSWORD}, 400, NUL_REFUSED),
    Found("employees.unit_list", {"name": "\x00", "sector": "fritid"}, 400, NUL_REFUSED),
]


@pytest.mark.parametrize("found", FOUND, ids=str)
def test_what_the_fuzzer_found_is_turned_away_with_a_message(
    app: Flask, client: Any, uploads: Path, found: Found
) -> None:
    target = next(target for target in TARGETS if target.endpoint == found.endpoint)
    run = Fuzzing(app, target, uploads, saved_world(uploads))
    run.reset()
    before = read_state(run.world.sigtuna_id, uploads)
    values = {**run.world.ids, "today": clock.today().isoformat()}
    data = {name: value.format(**values) for name, value in found.data.items()}
    response = run.client.post(run.url(target.path), data={**data, "csrf_token": run.csrf})
    assert response.status_code == found.status
    page = response if found.status != 302 else run.client.get(response.location)
    assert found.message in page.get_data(as_text=True)
    db.session.rollback()
    assert read_state(run.world.sigtuna_id, uploads) == before


@pytest.mark.parametrize(
    ("role", "path"),
    [
        # A ?course= past the id range: OverflowError on SQLite.
        ("hr", "/rules/new?course=99999999999999999999"),
        # Superscript digits pass str.isdigit() but not int(): ValueError.
        ("manager", "/verify/?course=%C2%B2&unit=%C2%B2"),
        # NUL in a search: PostgreSQL refuses to compare it.
        ("hr", "/employees/?q=a%00b"),
        ("hr", "/employees/record-completions?q=a%00b"),
        ("admin", "/admin/outbox?email=a%00b&kind=a%00"),
    ],
)
def test_links_with_odd_filters_still_show_the_page(
    app: Flask, client: Any, uploads: Path, role: str, path: str
) -> None:
    """Found on the way, in query strings: a filter that does not parse is ignored."""
    target = next(target for target in TARGETS if target.role == role)
    run = Fuzzing(app, target, uploads, saved_world(uploads))
    run.reset()
    assert run.client.get(path).status_code == 200


def test_a_file_of_a_far_future_hire_date_rejects_that_row(
    app: Flask, client: Any, uploads: Path
) -> None:
    """Found: confirming such a row failed on storing the due date 90 days later."""
    target = next(target for target in TARGETS if target.endpoint == "imports.upload")
    run = Fuzzing(app, target, uploads, saved_world(uploads))
    run.reset()
    content = (
        "förnamn;efternamn;e-post;enhet;sektor;anställningsdatum\n"
        "Lisa;Berg;lisa.berg@test.example;IFO Järfälla;Socialtjänst;9999-12-31\n"
    ).encode()
    upload = {"file": (io.BytesIO(content), "personal.csv"), "csrf_token": run.csrf}
    response = run.client.post("/employees/import/", data=upload)
    assert response.status_code == 302
    preview = run.client.get(response.location).get_data(as_text=True)
    assert "är inte ett rimligt datum (skriv ett mellan 1900-01-01 och 2100-12-31)" in preview
    confirm = {"unknown_units": "reject", "submit": "y", "csrf_token": run.csrf}
    assert run.client.post(response.location, data=confirm).status_code == 302
    assert db.session.scalar(sa.select(Employee).where(Employee.last_name == "Berg")) is None
