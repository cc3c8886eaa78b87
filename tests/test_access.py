"""Who may reach which route: every route of the URL map × every role.

A new route without an entry in ``EXPECTED`` fails ``test_every_route_is_in_the_matrix``, so
nothing escapes the matrix. Later issues add their routes here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from tests import factories
from tests.conftest import Client, database_resets, fresh_state
from tests.test_employees import edit_data
from training_tracker.extensions import db, limiter
from training_tracker.models import (
    CompletionStatus,
    Employee,
    OutboxStatus,
    Role,
    RoleGrant,
    Sector,
)
from training_tracker.services.people.scim import tokens
from training_tracker.services.programme import signups

ROLES = ["anonymous", "employee", "manager", "hr", "coordinator", "regional", "admin"]
SIGNED_IN = ROLES[1:]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # may name the ids of :func:`placeholders`, e.g. {own_employee_id}
    outcomes: dict[str, int]  # role → status code


def everyone(code: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, code)


def signed_in(code: int, anonymous: int = 302) -> dict[str, int]:
    return {"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, code)}


def admin_only(ok: int = 200) -> dict[str, int]:
    return {"anonymous": 302, **dict.fromkeys(SIGNED_IN, 403), "admin": ok}


def staff_managers(ok: int = 200, *, hr: int | None = None) -> dict[str, int]:
    """HR (of Järfälla) and admins; ``hr`` overrides HR's outcome (404 for another
    municipality's object)."""
    return {
        "anonymous": 302,
        **dict.fromkeys(SIGNED_IN, 403),
        "hr": ok if hr is None else hr,
        "admin": ok,
    }


def reviewers(
    ok: int = 200, *, manager: int | None = None, hr: int | None = None
) -> dict[str, int]:
    """Managers (of IFO Järfälla), HR (of Järfälla) and admins; ``manager`` and ``hr``
    override their outcome (404 for a report outside their scope)."""
    return {
        "anonymous": 302,
        **dict.fromkeys(SIGNED_IN, 403),
        "manager": ok if manager is None else manager,
        "hr": ok if hr is None else hr,
        "admin": ok,
    }


def certificate_viewers(own: bool) -> dict[str, int]:
    """A certificate of a colleague in IFO Järfälla (``own``) or of someone in Sigtuna: only
    the employee, their manager, their municipality's HR and admins may open it."""
    allowed = {"manager", "hr", "admin"} if own else {"admin"}
    return {"anonymous": 302, **{role: 200 if role in allowed else 404 for role in SIGNED_IN}}


def report_readers(ok: int = 200, *, local: int | None = None) -> dict[str, int]:
    """Managers, HR, coordinators (municipal and regional) and admins; ``local`` overrides the
    outcome for those whose scope is Järfälla only (404 for another municipality's unit)."""
    outcome = ok if local is None else local
    return {
        "anonymous": 302,
        "employee": 403,
        "manager": outcome,
        "hr": outcome,
        "coordinator": outcome,
        "regional": ok,
        "admin": ok,
    }


def programme_users(ok: int = 200, *, other: bool = False) -> dict[str, int]:
    """Every signed-in user on an event open to Järfälla (``other``: one open to Sigtuna
    alone, which only admins, who organise every event, reach; the others get 404). The
    organiser of Järfälla is a role of its own here."""
    outcomes = signed_in(404 if other else ok)
    return {**outcomes, "organiser": 404 if other else ok, "admin": ok}


def the_manager(ok: int) -> dict[str, int]:
    """Only the manager (of IFO Järfälla) gets ``ok``; every other signed-in user 404."""
    return {**signed_in(404), "manager": ok}


def the_hr(ok: int) -> dict[str, int]:
    """Only HR (of Järfälla) gets ``ok``; every other signed-in user 404."""
    return {**signed_in(404), "hr": ok}


def organisers(ok: int = 200, *, organiser: int | None = None) -> dict[str, int]:
    """The programme's organisers (of Järfälla) and admins; ``organiser`` overrides the
    organiser's outcome (404 for an event of Sigtuna)."""
    return {
        "anonymous": 302,
        **dict.fromkeys(SIGNED_IN, 403),
        "organiser": ok if organiser is None else organiser,
        "admin": ok,
    }


EXPECTED: dict[str, list[Case]] = {
    "main.home": [Case("GET", "/", signed_in(200))],
    "main.healthz": [Case("GET", "/healthz", everyone(200))],
    "main.favicon": [Case("GET", "/favicon.ico", everyone(200))],
    "auth.login": [Case("GET", "/login", {"anonymous": 200, **dict.fromkeys(SIGNED_IN, 302)})],
    "auth.logout": [Case("POST", "/logout", everyone(302)), Case("GET", "/logout", everyone(405))],
    "auth.forgot_password": [Case("GET", "/password/forgot", everyone(200))],
    "auth.accept_invitation": [Case("GET", "/invitation/not-a-token", everyone(404))],
    "auth.reset_password": [Case("GET", "/password/reset/not-a-token", everyone(404))],
    "auth.change_language": [Case("POST", "/language", everyone(302))],
    # Single sign-on (issue #18): without an address of a provider's domain, back to /login;
    # a provider that does not exist, 404; a return no sign-in was started for, 400.
    "sso.discover": [
        Case("GET", "/login/sso", everyone(302)),
        Case("GET", "/login/sso?email=a@nowhere.example", everyone(302)),
        Case("POST", "/login/sso", everyone(302)),
    ],
    "sso.start": [Case("GET", "/login/sso/999999", everyone(404))],
    "sso.callback": [Case("GET", "/login/sso/callback?code=x&state=y", everyone(400))],
    "sso.saml_metadata": [Case("GET", "/login/saml/999999/metadata", everyone(404))],
    "sso.saml_start": [Case("GET", "/login/saml/999999/start", everyone(404))],
    "sso.saml_acs": [Case("POST", "/login/saml/999999/acs", everyone(404))],
    "sso.saml_sls": [Case("GET", "/login/saml/999999/sls", everyone(404))],
    "sso.admin_list": [
        Case("GET", "/admin/sso", admin_only()),
        Case("POST", "/admin/sso", admin_only(422)),  # empty form: errors, nothing stored
    ],
    "sso.admin_add_saml": [Case("POST", "/admin/sso/saml", admin_only(422))],
    "sso.admin_require": [Case("POST", "/admin/sso/require", admin_only(400))],
    "sso.confirm_remove": [Case("GET", "/admin/sso/999999/remove", admin_only(404))],
    "sso.remove": [Case("POST", "/admin/sso/999999/remove", admin_only(404))],
    "employees.employee_list": [
        Case("GET", "/employees/", staff_managers()),
        Case("GET", "/employees/?page=abc&sort=x&unit=-1&status=?", staff_managers()),
        Case("GET", "/employees/?unit={other_unit_id}&account=not_invited", staff_managers()),
    ],
    "employees.employee_list_csv": [
        Case("GET", "/employees/list.csv", staff_managers()),
        Case("GET", "/employees/list.csv?unit={other_unit_id}&per_page=x", staff_managers()),
    ],
    "employees.employee_list_xlsx": [Case("GET", "/employees/list.xlsx", staff_managers())],
    "employees.confirm_invitations": [
        Case("GET", "/employees/invitations", staff_managers()),
        Case("GET", "/employees/invitations?leaving=1&unit={other_unit_id}", staff_managers()),
    ],
    "employees.send_invitations": [
        Case("POST", "/employees/invitations", staff_managers(400)),  # no count confirmed
    ],
    "employees.employee_new": [
        Case("GET", "/employees/new", staff_managers()),
        Case("POST", "/employees/new", staff_managers(422)),  # empty form: errors, nothing stored
    ],
    "employees.employee_detail": [
        Case("GET", "/employees/{own_employee_id}", staff_managers()),
        Case("GET", "/employees/{other_employee_id}", staff_managers(hr=404)),
        Case("GET", "/employees/999999", staff_managers(404)),
    ],
    "employees.employee_edit": [
        Case("GET", "/employees/{own_employee_id}/edit", staff_managers()),
        Case("GET", "/employees/{other_employee_id}/edit", staff_managers(hr=404)),
        Case("POST", "/employees/{own_employee_id}/edit", staff_managers(422)),
        Case("POST", "/employees/{other_employee_id}/edit", staff_managers(422, hr=404)),
    ],
    "employees.invite": [
        Case("POST", "/employees/{own_employee_id}/invite", staff_managers(302)),
        Case("POST", "/employees/{other_employee_id}/invite", staff_managers(302, hr=404)),
    ],
    "employees.assign_course": [
        Case("POST", "/employees/{own_employee_id}/assignments", staff_managers(422)),
        Case("POST", "/employees/{other_employee_id}/assignments", staff_managers(422, hr=404)),
    ],
    "employees.exemption": [
        Case(
            "POST",
            "/employees/{own_employee_id}/assignments/{own_assignment_id}/exemption",
            staff_managers(422),  # no reason given
        ),
        Case(
            "POST",
            "/employees/{other_employee_id}/assignments/{other_assignment_id}/exemption",
            staff_managers(422, hr=404),
        ),
        Case(  # an assignment of someone else, under this person's address
            "POST",
            "/employees/{own_employee_id}/assignments/{other_assignment_id}/exemption",
            staff_managers(404),
        ),
    ],
    "employees.unit_list": [
        Case("GET", "/employees/units", staff_managers()),
        Case("POST", "/employees/units", staff_managers(422)),
    ],
    "employees.unit_edit": [
        Case("GET", "/employees/units/{own_unit_id}", staff_managers()),
        Case("GET", "/employees/units/{other_unit_id}", staff_managers(hr=404)),
        Case("POST", "/employees/units/{own_unit_id}", staff_managers(422)),
        Case("POST", "/employees/units/{other_unit_id}", staff_managers(422, hr=404)),
    ],
    "imports.upload": [Case("GET", "/employees/import/", staff_managers())],
    "imports.preview": [
        Case("GET", "/employees/import/{own_import_id}", staff_managers()),
        Case("GET", "/employees/import/{other_import_id}", staff_managers(hr=404)),
        Case("POST", "/employees/import/{other_import_id}", staff_managers(hr=404)),
    ],
    "imports.result": [
        Case("GET", "/employees/import/{own_import_id}/result", staff_managers()),
        Case("GET", "/employees/import/{other_import_id}/result", staff_managers(hr=404)),
    ],
    "imports.rejected_csv": [
        Case("GET", "/employees/import/{own_rejected_import_id}/rejected.csv", staff_managers()),
        Case(
            "GET",
            "/employees/import/{other_rejected_import_id}/rejected.csv",
            staff_managers(hr=404),
        ),
        Case("GET", "/employees/import/{own_import_id}/rejected.csv", staff_managers(404)),
    ],
    "imports.rejected_xlsx": [
        Case("GET", "/employees/import/{own_xlsx_import_id}/rejected.xlsx", staff_managers()),
        Case(  # a CSV upload: its rows come back as CSV only
            "GET", "/employees/import/{own_rejected_import_id}/rejected.xlsx", staff_managers(404)
        ),
    ],
    "imports.discard": [
        Case("POST", "/employees/import/{own_import_id}/discard", staff_managers(302)),
        Case("POST", "/employees/import/{other_import_id}/discard", staff_managers(302, hr=404)),
    ],
    "rules.rule_list": [Case("GET", "/rules/", staff_managers())],
    "rules.rule_new": [
        Case("GET", "/rules/new", staff_managers()),
        Case("POST", "/rules/new", staff_managers(422)),
    ],
    "rules.rule_edit": [
        Case("GET", "/rules/{own_rule_id}/edit", staff_managers()),
        Case("GET", "/rules/{other_rule_id}/edit", staff_managers(hr=404)),
        Case("POST", "/rules/{own_rule_id}/edit", staff_managers(422)),
        Case("POST", "/rules/{other_rule_id}/edit", staff_managers(422, hr=404)),
        Case("GET", "/rules/999999/edit", staff_managers(404)),
    ],
    "rules.rule_end": [
        Case("POST", "/rules/{own_rule_id}/end", staff_managers(302)),
        Case("POST", "/rules/{other_rule_id}/end", staff_managers(302, hr=404)),
        Case("POST", "/rules/999999/end", staff_managers(404)),
        Case("GET", "/rules/{own_rule_id}/end", everyone(405)),
    ],
    "courses.report": [
        Case("GET", "/my/report", {**signed_in(200), "admin": 403}),  # admin: no municipality
        Case("GET", "/my/report?course=abc", {**signed_in(200), "admin": 403}),
        Case("POST", "/my/report", {**signed_in(422), "admin": 403}),  # empty form: errors
    ],
    "courses.completion": [
        Case("GET", "/my/completions/{other_completion_id}", signed_in(404)),
        Case("GET", "/my/completions/999999", signed_in(404)),
    ],
    "courses.replace_certificate": [
        Case("POST", "/my/completions/{other_completion_id}/certificate", signed_in(404)),
        Case("POST", "/my/completions/999999/certificate", signed_in(404)),
        Case("GET", "/my/completions/999999/certificate", everyone(405)),
    ],
    "courses.withdraw": [
        Case("POST", "/my/completions/{other_completion_id}/withdraw", signed_in(404)),
        Case("POST", "/my/completions/999999/withdraw", signed_in(404)),
    ],
    "courses.confirm_withdraw": [
        Case("GET", "/my/completions/{other_completion_id}/withdraw", signed_in(404)),
        Case("GET", "/my/completions/{own_completion_id}/withdraw", signed_in(404)),
        Case("GET", "/my/completions/999999/withdraw", signed_in(404)),
    ],
    "courses.correct_date": [
        # Only the report's owner: a colleague's manager and HR are refused too.
        Case("POST", "/my/completions/{own_completion_id}/date", signed_in(404)),
        Case("POST", "/my/completions/{other_completion_id}/date", signed_in(404)),
        Case("GET", "/my/completions/999999/date", everyone(405)),
    ],
    "employees.record_completions": [
        Case("GET", "/employees/record-completions", staff_managers()),
        # A filter naming another municipality's unit is dropped, not obeyed.
        Case(
            "GET", "/employees/record-completions?unit={other_unit_id}&q=x&all=1", staff_managers()
        ),
        Case("POST", "/employees/record-completions", staff_managers(422)),  # empty form
    ],
    "employees.municipality_settings": [
        Case("GET", "/employees/settings", staff_managers()),
        Case("POST", "/employees/settings", staff_managers(422)),  # no answer chosen
        Case("GET", "/employees/settings?municipality={own_municipality_id}", staff_managers()),
        Case(
            "GET",
            "/employees/settings?municipality={other_municipality_id}",
            staff_managers(hr=404),
        ),
        Case(
            "POST",
            "/employees/settings?municipality={other_municipality_id}",
            staff_managers(422, hr=404),
        ),
        Case("GET", "/employees/settings?municipality=999999", staff_managers(404)),
    ],
    "verification.queue": [
        Case("GET", "/verify/", reviewers()),
        Case("GET", "/verify/?course=abc&unit=-1&page=x", reviewers()),
    ],
    "verification.review": [
        Case("GET", "/verify/{own_completion_id}", reviewers()),
        Case("GET", "/verify/{other_completion_id}", reviewers(manager=404, hr=404)),
        Case("GET", "/verify/999999", reviewers(404)),
    ],
    "verification.verify": [
        Case("POST", "/verify/{own_completion_id}/verify", reviewers(302)),
        Case("POST", "/verify/{other_completion_id}/verify", reviewers(302, manager=404, hr=404)),
        Case("GET", "/verify/999999/verify", everyone(405)),
    ],
    "verification.reject": [
        Case("POST", "/verify/{own_completion_id}/reject", reviewers(422)),  # no reason
        Case("POST", "/verify/{other_completion_id}/reject", reviewers(422, manager=404, hr=404)),
        Case("GET", "/verify/999999/reject", everyone(405)),
    ],
    "verification.bulk_verify": [
        Case("POST", "/verify/bulk", reviewers(302)),
        Case("GET", "/verify/bulk", everyone(405)),
    ],
    "verification.evidence_file": [
        Case("GET", "/evidence/{own_evidence_id}", certificate_viewers(own=True)),
        Case("GET", "/evidence/{other_evidence_id}", certificate_viewers(own=False)),
        Case("GET", "/evidence/999999", signed_in(404)),
    ],
    "reports.coverage_page": [
        Case("GET", "/reports/", report_readers()),
        Case(
            "GET",
            "/reports/?view=x&as_of=2999-01-01&sort=%3Cx%3E&unit_id=-1&mode=y&sector=z",
            report_readers(),
        ),
        Case(
            "GET", "/reports/?view=unit&municipality_id={other_municipality_id}", report_readers()
        ),
    ],
    "reports.unit_page": [
        Case("GET", "/reports/units/{own_unit_id}", report_readers()),
        Case("GET", "/reports/units/{other_unit_id}", report_readers(local=404)),
        Case("GET", "/reports/units/999999", report_readers(404)),
    ],
    "reports.new_hires_page": [
        Case("GET", "/reports/new-hires", report_readers()),
        Case("GET", "/reports/new-hires?view=unit&sector=z&unit_id=-1", report_readers()),
    ],
    "reports.new_hires_csv": [Case("GET", "/reports/new-hires.csv", report_readers())],
    "reports.new_hires_xlsx": [Case("GET", "/reports/new-hires.xlsx", report_readers())],
    "reports.coverage_csv": [Case("GET", "/reports/coverage.csv", report_readers())],
    "reports.coverage_xlsx": [Case("GET", "/reports/coverage.xlsx", report_readers())],
    "admin.index": [Case("GET", "/admin/", admin_only())],
    "admin.outbox": [
        Case("GET", "/admin/outbox", admin_only()),
        Case("GET", "/admin/outbox?status=bogus&kind=%3Cx%3E&page=-1&email=%25", admin_only()),
    ],
    "admin.outbox_message": [
        Case("GET", "/admin/outbox/{outbox_message_id}", admin_only()),
        Case("GET", "/admin/outbox/999999", admin_only(404)),
    ],
    "admin.resend_message": [
        Case("POST", "/admin/outbox/{outbox_message_id}/resend", admin_only(302)),
        Case("POST", "/admin/outbox/999999/resend", admin_only(404)),
        Case("GET", "/admin/outbox/{outbox_message_id}/resend", everyone(405)),
    ],
    "admin.resend_all_failed": [
        Case("POST", "/admin/outbox/resend-failed", admin_only(302)),
        Case("GET", "/admin/outbox/resend-failed", everyone(405)),
    ],
    "admin.send_new_link": [
        Case("POST", "/admin/outbox/{outbox_message_id}/new-link", admin_only(302)),
        Case("POST", "/admin/outbox/999999/new-link", admin_only(404)),
        Case("GET", "/admin/outbox/{outbox_message_id}/new-link", everyone(405)),
    ],
    # Everyone may open it; only a manager's form saves (the others see an explanation).
    "main.notification_settings": [
        Case("GET", "/settings/notifications", signed_in(200)),
        Case("POST", "/settings/notifications", {**signed_in(200), "manager": 302}),
    ],
    # A reminder by hand (issue #17): the person's manager or HR of their municipality; a
    # course not overdue is refused with a message (302 back to the start page).
    "main.send_reminder": [
        Case(
            "POST",
            "/team/reminders/{own_assignment_id}",
            {**signed_in(403), "manager": 302, "hr": 302},
        ),
        Case(
            "POST",
            "/team/reminders/{other_assignment_id}",
            {**signed_in(403), "manager": 404, "hr": 404},
        ),
        Case("POST", "/team/reminders/999999", {**signed_in(403), "manager": 404, "hr": 404}),
        Case("GET", "/team/reminders/999999", everyone(405)),
    ],
    "main.overdue_csv": [Case("GET", "/team/overdue.csv", {**signed_in(403), "manager": 200})],
    "main.overdue_xlsx": [Case("GET", "/team/overdue.xlsx", {**signed_in(403), "manager": 200})],
    "admin.role_list": [Case("GET", "/admin/roles", admin_only())],
    "admin.course_list": [Case("GET", "/admin/courses", admin_only())],
    "admin.revoke_role": [
        Case("POST", "/admin/roles/{grant_id}/revoke", admin_only(302)),
        Case("POST", "/admin/roles/999999/revoke", admin_only(404)),
    ],
    # The question before a role is removed; the POST above does it.
    "admin.confirm_revoke_role": [
        Case("GET", "/admin/roles/{grant_id}/revoke", admin_only()),
        Case("GET", "/admin/roles/999999/revoke", admin_only(404)),
    ],
    # The directories' SCIM tokens (issue #19): admins only. An empty new-token form answers
    # 422; renewing leads to the page that shows the new secret once, which without one
    # waiting sends the admin back to the list (302).
    "admin.scim_tokens": [
        Case("GET", "/admin/scim", admin_only()),
        Case("POST", "/admin/scim", admin_only(422)),
    ],
    "admin.rotate_scim_token": [
        Case("POST", "/admin/scim/{scim_token_id}/rotate", admin_only(302)),
        Case("POST", "/admin/scim/999999/rotate", admin_only(404)),
        Case("GET", "/admin/scim/{scim_token_id}/rotate", everyone(405)),
    ],
    "admin.scim_secret": [
        Case("GET", "/admin/scim/{scim_token_id}/secret", admin_only(302)),
        Case("GET", "/admin/scim/999999/secret", admin_only(404)),
    ],
    "admin.confirm_revoke_scim_token": [
        Case("GET", "/admin/scim/{scim_token_id}/revoke", admin_only()),
        Case("GET", "/admin/scim/999999/revoke", admin_only(404)),
    ],
    "admin.revoke_scim_token": [
        Case("POST", "/admin/scim/{scim_token_id}/revoke", admin_only(302)),
        Case("POST", "/admin/scim/999999/revoke", admin_only(404)),
    ],
    # The SCIM endpoint answers a directory's bearer token only, never a signed-in session:
    # 401 for every role (what a token may reach is tests/test_scim.py).
    **{
        endpoint: [Case(method, path, everyone(401)) for method, path in cases]
        for endpoint, cases in {
            "scim.service_provider": [("GET", "/scim/v2/ServiceProviderConfig")],
            "scim.resource_type_list": [("GET", "/scim/v2/ResourceTypes")],
            "scim.resource_type": [("GET", "/scim/v2/ResourceTypes/User")],
            "scim.schema_list": [("GET", "/scim/v2/Schemas")],
            "scim.schema": [("GET", "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")],
            "scim.user_list": [("GET", "/scim/v2/Users")],
            "scim.user_create": [("POST", "/scim/v2/Users")],
            "scim.user_search": [("POST", "/scim/v2/Users/.search"), ("POST", "/scim/v2/.search")],
            "scim.user": [("GET", "/scim/v2/Users/{own_employee_id}")],
            "scim.user_replace": [("PUT", "/scim/v2/Users/{own_employee_id}")],
            "scim.user_patch": [("PATCH", "/scim/v2/Users/{own_employee_id}")],
            "scim.user_delete": [("DELETE", "/scim/v2/Users/{own_employee_id}")],
            "scim.elsewhere": [("GET", "/scim/v2/"), ("GET", "/scim/v2/Groups")],
        }.items()
    },
    # Public: someone who cannot sign in because of an accessibility problem must still reach
    # the statement and the form. The empty POST answers 422 and stores nothing.
    "accessibility.statement": [Case("GET", "/accessibility", everyone(200))],
    "accessibility.report": [
        Case("GET", "/accessibility/report", everyone(200)),
        Case("GET", "/accessibility/report?page=//evil.example", everyone(200)),
        Case("POST", "/accessibility/report", everyone(422)),  # no description: nothing stored
    ],
    # Public: a leaver who can no longer sign in must still be able to read the notice.
    "privacy.notice": [Case("GET", "/privacy", everyone(200))],
    "privacy.my_data": [Case("GET", "/my/data", signed_in(200))],
    # Every signed-in person gets their own ZIP, the admin (no municipality) included.
    "privacy.my_data_zip": [Case("GET", "/my/data.zip", signed_in(200))],
    "privacy.employee_data_zip": [
        Case("GET", "/employees/{own_employee_id}/data.zip", staff_managers()),
        Case("GET", "/employees/{other_employee_id}/data.zip", staff_managers(hr=404)),
        Case("GET", "/employees/999999/data.zip", staff_managers(404)),
    ],
    # A municipality filter naming another municipality is ignored for HR (their own events
    # are shown), so 200.
    "audit.event_list": [
        Case("GET", "/audit/", staff_managers()),
        Case(
            "GET",
            "/audit/?page=abc&date_from=2026-13-45&date_to=x&municipality=-1&action=%3Cx%3E",
            staff_managers(),
        ),
        Case("GET", "/audit/?municipality={other_municipality_id}", staff_managers()),
    ],
    "audit.events_csv": [
        Case("GET", "/audit/events.csv", staff_managers()),
        Case("GET", "/audit/events.csv?municipality={other_municipality_id}", staff_managers()),
    ],
    "audit.events_xlsx": [
        Case("GET", "/audit/events.xlsx", staff_managers()),
        Case("GET", "/audit/events.xlsx?date_from=2026-02-30", staff_managers()),
    ],
    "programme.index": [Case("GET", "/programme/", programme_users())],
    "programme.campaign": [
        Case("GET", "/programme/kampanj/2026", programme_users()),
        Case("GET", "/programme/kampanj/1999", programme_users(404)),
    ],
    "programme.event_detail": [
        Case("GET", "/programme/events/{own_event_id}", programme_users()),
        Case("GET", "/programme/events/{other_event_id}", programme_users(other=True)),
        Case("GET", "/programme/events/999999", programme_users(404, other=True)),
    ],
    # Signs up the one posting (the admin, of no municipality, is refused with a message).
    "programme.sign_up": [
        Case("POST", "/programme/events/{own_event_id}/signup", programme_users(302)),
        Case("POST", "/programme/events/{other_event_id}/signup", programme_users(302, other=True)),
    ],
    # Nobody is signed up: nothing to cancel.
    "programme.cancel_signup": [
        Case("POST", "/programme/events/{own_event_id}/cancel", programme_users(404)),
        Case("POST", "/programme/events/{other_event_id}/cancel", programme_users(404, other=True)),
    ],
    # No employee named: a bad request; an event out of reach: 404.
    "programme.decide": [
        Case("POST", "/programme/events/{own_event_id}/decide", programme_users(400)),
        Case("POST", "/programme/events/{other_event_id}/decide", programme_users(400, other=True)),
    ],
    # A sign-up awaiting approval: of a colleague in IFO Järfälla (whose manager decides), of
    # someone in Järfälla without a manager (HR of Järfälla decides) and of someone in Sigtuna
    # (HR of Sigtuna decides); everyone else gets 404.
    "programme.approval": [
        Case("GET", "/programme/approvals/{own_registration_id}", the_manager(200)),
        Case("GET", "/programme/approvals/{unmanaged_registration_id}", the_hr(200)),
        Case("GET", "/programme/approvals/{other_registration_id}", the_manager(404)),
        Case("POST", "/programme/approvals/{own_registration_id}", the_manager(422)),
        Case("POST", "/programme/approvals/{unmanaged_registration_id}", the_hr(422)),
        Case("POST", "/programme/approvals/{other_registration_id}", the_manager(404)),
    ],
    "programme.calendar_file": [
        Case("GET", "/programme/events/{own_event_id}/calendar.ics", programme_users(404)),
        Case("GET", "/programme/events/{other_event_id}/calendar.ics", programme_users(404)),
    ],
    "programme.attendance_list": [
        Case(
            "GET",
            "/programme/manage/{own_event_id}/sessions/{own_session_id}/attendance",
            organisers(),
        ),
        Case(
            "GET",
            "/programme/manage/{other_event_id}/sessions/{other_session_id}/attendance",
            organisers(organiser=404),
        ),
        Case(  # nobody ticked, no addresses: errors, nothing stored
            "POST",
            "/programme/manage/{own_event_id}/sessions/{own_session_id}/attendance",
            organisers(422),
        ),
        Case(
            "GET",
            "/programme/manage/{own_event_id}/sessions/{other_session_id}/attendance",
            organisers(404),
        ),
    ],
    "programme.check_in": [
        Case("GET", "/programme/checkin", programme_users()),
        Case("POST", "/programme/checkin", programme_users(422)),  # no code
    ],
    "programme.report_page": [Case("GET", "/programme/manage/report", organisers())],
    "programme.report_csv": [Case("GET", "/programme/manage/report.csv", organisers())],
    "programme.report_xlsx": [Case("GET", "/programme/manage/report.xlsx", organisers())],
    # Nobody attended: only the organisers get the certificate.
    "programme.certificate": [
        Case(
            "GET",
            "/programme/events/{own_event_id}/certificate.pdf",
            {**programme_users(404), "organiser": 200, "admin": 200},
        ),
        Case(
            "GET",
            "/programme/events/{other_event_id}/certificate.pdf",
            {**programme_users(404), "admin": 200},
        ),
    ],
    "programme.session_edit": [
        Case(
            "GET", "/programme/manage/{own_event_id}/sessions/{own_session_id}/edit", organisers()
        ),
        Case(
            "GET",
            "/programme/manage/{other_event_id}/sessions/{other_session_id}/edit",
            organisers(organiser=404),
        ),
        Case(  # a session of another event, under this event's address
            "GET",
            "/programme/manage/{own_event_id}/sessions/{other_session_id}/edit",
            organisers(404),
        ),
        Case(
            "POST",
            "/programme/manage/{own_event_id}/sessions/{own_session_id}/edit",
            organisers(422),
        ),
        Case(
            "POST",
            "/programme/manage/{other_event_id}/sessions/{other_session_id}/edit",
            organisers(422, organiser=404),
        ),
    ],
    # Asking changes nothing; the POST cancels and goes back to the event's page.
    "programme.event_cancel": [
        Case("GET", "/programme/manage/{own_event_id}/cancel", organisers()),
        Case("GET", "/programme/manage/{other_event_id}/cancel", organisers(organiser=404)),
        Case("POST", "/programme/manage/{own_event_id}/cancel", organisers(302)),
        Case("POST", "/programme/manage/{other_event_id}/cancel", organisers(302, organiser=404)),
    ],
    "programme.message_everyone": [
        Case("POST", "/programme/manage/{own_event_id}/message", organisers(422)),
        Case("POST", "/programme/manage/{other_event_id}/message", organisers(422, organiser=404)),
    ],
    "programme.manage_list": [Case("GET", "/programme/manage/", organisers())],
    "programme.event_new": [
        Case("GET", "/programme/manage/new", organisers()),
        Case("POST", "/programme/manage/new", organisers(422)),
    ],
    "programme.event_edit": [
        Case("GET", "/programme/manage/{own_event_id}/edit", organisers()),
        Case("GET", "/programme/manage/{other_event_id}/edit", organisers(organiser=404)),
        Case("POST", "/programme/manage/{own_event_id}/edit", organisers(422)),
        Case("POST", "/programme/manage/{other_event_id}/edit", organisers(422, organiser=404)),
    ],
    "programme.manage_event": [
        Case("GET", "/programme/manage/{own_event_id}", organisers()),
        Case("GET", "/programme/manage/{other_event_id}", organisers(organiser=404)),
        Case("GET", "/programme/manage/999999", organisers(404)),
    ],
    "programme.session_add": [
        Case("POST", "/programme/manage/{own_event_id}/sessions", organisers(422)),
        Case("POST", "/programme/manage/{other_event_id}/sessions", organisers(422, organiser=404)),
    ],
    # The event's only session cannot be cancelled: refused with a message, back to the page.
    "programme.session_cancel": [
        Case(
            "POST",
            "/programme/manage/{own_event_id}/sessions/{own_session_id}/cancel",
            organisers(302),
        ),
        Case(
            "POST",
            "/programme/manage/{other_event_id}/sessions/{other_session_id}/cancel",
            organisers(302, organiser=404),
        ),
        Case(  # a session of another event, under this event's address
            "POST",
            "/programme/manage/{own_event_id}/sessions/{other_session_id}/cancel",
            organisers(404),
        ),
    ],
}


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    missing = endpoints - EXPECTED.keys()
    assert not missing, f"add these routes to the access matrix: {sorted(missing)}"
    assert not EXPECTED.keys() - endpoints, "the matrix names routes that no longer exist"


def make_user(role: str):
    home = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    if role == "anonymous":
        return None
    if role == "admin":
        return factories.with_role(factories.employee(system_account=True), Role.ADMIN)
    person = factories.employee(unit=home)
    if role == "manager":
        factories.with_role(person, Role.MANAGER, on_unit=home)
    elif role == "hr":
        factories.with_role(person, Role.HR, municipality_name="Järfälla")
    elif role == "coordinator":
        factories.with_role(person, Role.COORDINATOR, municipality_name="Järfälla")
    elif role == "regional":
        factories.with_role(person, Role.COORDINATOR)
    elif role == "organiser":
        factories.with_role(person, Role.ORGANISER, municipality_name="Järfälla")
    return person


# Reading changes nothing, and neither does a refused write: every GET case, and every POST
# case's roles that are turned away, share one world (:func:`world`), each role signed in once
# on a client of its own. Each role a POST case lets through gets a world of its own (one test
# each). The organiser (of the joint programme) is tested on the routes whose outcomes name it;
# on every other route it is an employee
# (test_an_organiser_reaches_what_an_employee_does_outside_the_programme).
def roles_of(case: Case) -> list[str]:
    return [*ROLES, *(["organiser"] if "organiser" in case.outcomes else [])]


READ_CASES = [
    pytest.param(endpoint, case, id=f"{case.method} {case.path}")
    for endpoint, cases in EXPECTED.items()
    for case in cases
    if case.method == "GET"
]
REFUSALS = {401, 403, 404}


def refused(case: Case, role: str) -> bool:
    """Whether ``role`` is turned away from ``case`` before anything is done."""
    return case.outcomes[role] in REFUSALS or (role == "anonymous" and case.outcomes[role] == 302)


def _write_param(endpoint: str, case: Case, roles: list[str]):  # type: ignore[no-untyped-def]
    return pytest.param(
        endpoint, case, roles, id=f"{case.method} {case.path} as {', '.join(roles)}"
    )


WRITE_CASES = [
    (endpoint, case)
    for endpoint, cases in EXPECTED.items()
    for case in cases
    if case.method != "GET"
]
REFUSED_WRITES = [
    _write_param(endpoint, case, turned_away)
    for endpoint, case in WRITE_CASES
    if (turned_away := [role for role in roles_of(case) if refused(case, role)])
]
ALLOWED_WRITES = [
    _write_param(endpoint, case, [role])
    for endpoint, case in WRITE_CASES
    for role in roles_of(case)
    if not refused(case, role)
]


def placeholders(path: str) -> dict[str, object]:
    """Ids a case's path may name: ``own_*`` in Järfälla (the scope of the users above),
    ``other_*`` in Sigtuna, outside every scope but the admin's and the regional one. Only what
    the path names is created."""
    jarfalla = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    sigtuna_manager = factories.employee(unit=factories.unit("Sigtuna", Sector.SCHOOL, "Skolan"))
    grant: RoleGrant = factories.with_role(
        sigtuna_manager, Role.MANAGER, on_unit=sigtuna_manager.unit
    ).role_grants[0]
    values: dict[str, object] = {
        "grant_id": grant.id,
        "other_employee_id": sigtuna_manager.id,
        "other_unit_id": sigtuna_manager.unit_id,
        "own_unit_id": jarfalla.id,
        "own_municipality_id": jarfalla.municipality_id,
        "other_municipality_id": sigtuna_manager.municipality_id,
    }
    if "{own_employee_id}" in path or "{own_assignment_id}" in path:
        colleague = factories.employee(unit=jarfalla)
        values["own_employee_id"] = colleague.id
    if "rule_id}" in path or "assignment_id}" in path:
        course = factories.synced_catalog()["nck-webbkurs-om-vald"]
        values["own_rule_id"] = factories.rule(course, municipality_name="Järfälla").id
        values["other_rule_id"] = factories.rule(course, municipality_name="Sigtuna").id
        if "{own_assignment_id}" in path:
            values["own_assignment_id"] = factories.assignment(
                db.session.get(Employee, values["own_employee_id"]), course
            ).id
        if "{other_assignment_id}" in path:
            values["other_assignment_id"] = factories.assignment(sigtuna_manager, course).id
    if "completion_id}" in path or "evidence_id}" in path:
        # Reports awaiting verification, with a certificate: of a colleague in IFO Järfälla
        # (in the scope of its manager and HR) and of someone in Sigtuna.
        course = factories.synced_catalog()["nck-webbkurs-om-vald"]
        colleague = factories.employee(unit=jarfalla)
        for prefix, person in (("own", colleague), ("other", sigtuna_manager)):
            reported = factories.completion(person, course, status=CompletionStatus.REPORTED)
            values[f"{prefix}_completion_id"] = reported.id
            values[f"{prefix}_evidence_id"] = factories.evidence(reported).id
    if "{outbox_message_id}" in path:
        values["outbox_message_id"] = factories.outbox_message(
            sigtuna_manager, status=OutboxStatus.FAILED, last_error="550 No such user"
        ).id
    if "{scim_token_id}" in path:
        token, _secret = tokens.create_token(
            db.session, factories.municipality("Sigtuna"), label="Entra ID", actor=None
        )
        db.session.commit()
        values["scim_token_id"] = token.id
    if "event_id}" in path or "session_id}" in path:
        own_event = factories.programme_event(owner="Järfälla")
        other_event = factories.programme_event(municipalities=("Sigtuna",), owner="Sigtuna")
        values["own_event_id"] = own_event.id
        values["other_event_id"] = other_event.id
        values["own_session_id"] = own_event.sessions[0].id
        values["other_session_id"] = other_event.sessions[0].id
    if "registration_id}" in path:
        asks = factories.programme_event(title="Med godkännande", requires_approval=True)
        colleague = factories.employee(unit=jarfalla)
        # IFO Järfälla has a manager in every world, not only in the manager's: HR never
        # decides for the colleague.
        factories.with_role(factories.employee(unit=jarfalla), Role.MANAGER, on_unit=jarfalla)
        # Nobody manages the school's teacher or the Sigtuna manager: HR of their
        # municipality decides (a sign-up with nobody to decide is refused).
        teacher = factories.employee(unit=factories.unit("Järfälla", Sector.SCHOOL, "Skolan"))
        factories.hr_staff("Järfälla")
        factories.hr_staff("Sigtuna")
        for prefix, person in (
            ("own", colleague),
            ("unmanaged", teacher),
            ("other", sigtuna_manager),
        ):
            values[f"{prefix}_registration_id"] = signups.sign_up(
                db.session, person, asks, person
            ).id
        db.session.commit()
    if "import_id}" in path:
        values["own_import_id"] = factories.import_batch("Järfälla").id
        values["other_import_id"] = factories.import_batch("Sigtuna").id
        for prefix, name in (("own", "Järfälla"), ("other", "Sigtuna")):
            values[f"{prefix}_rejected_import_id"] = factories.import_batch(
                name, applied_with_rejections=True
            ).id
        values["own_xlsx_import_id"] = factories.import_batch(
            "Järfälla",
            factories.xlsx_file(
                [["förnamn", "efternamn", "e-post"], ["Lisa", "Berg", "l@test.example"], ["Omar"]]
            ),
            applied_with_rejections=True,
        ).id
    return values


def _answer_problem(client, endpoint: str, case: Case, role: str, path: str) -> str | None:  # type: ignore[no-untyped-def]
    """What is wrong with ``role``'s answer to ``case``, or None."""
    if case.method == "GET":
        response = client.get(path)
    elif case.method == "POST":
        response = client.post_form(path)
    else:  # PUT, PATCH, DELETE: the SCIM endpoint's
        response = client.open(path, method=case.method)
    expected = case.outcomes[role]
    if response.status_code != expected:
        body = response.get_data(as_text=True)[:300]
        return f"as {role}: {response.status_code}, expected {expected}: {body}"
    sent_elsewhere = not response.location or not response.location.startswith("/login")
    if (
        response.status_code == 302
        and role == "anonymous"
        and sent_elsewhere
        and endpoint not in {"auth.change_language", "auth.logout"}
    ):
        return f"as anonymous: sent to {response.location}, not to sign in"
    return None


# Every placeholder a case's path may name, for the shared world.
EVERY_PLACEHOLDER = " ".join(case.path for cases in EXPECTED.values() for case in cases)


@dataclass
class World:
    """Every placeholder's object, and every role (the organiser too) signed in on a client
    of its own ("anonymous" signed in nowhere)."""

    resets: int  # tests.conftest.database_resets() once it was made
    values: dict[str, object]
    clients: dict[str, Client]

    def problems(self, endpoint: str, case: Case, roles: list[str]) -> str:
        """What is wrong with each of ``roles``' answers to ``case``, or nothing."""
        path = case.path.format(**self.values)
        found = [_answer_problem(self.clients[role], endpoint, case, role, path) for role in roles]
        wrong = [problem for problem in found if problem]
        return f"{case.method} {path}:\n" + "\n".join(wrong) if wrong else ""


_shared: World | None = None


@pytest.fixture(autouse=True)
def _clean_state(app: Flask, request: pytest.FixtureRequest) -> Iterator[None]:
    """As tests/conftest.py's, but a test of the shared world starts from that world, which
    :func:`world` makes or keeps."""
    with app.app_context():
        if "world" not in request.fixturenames:
            fresh_state()
        yield
        db.session.rollback()
        db.session.remove()


@pytest.fixture()
def world(app: Flask, _clean_state: None) -> World:
    """The world of the tests that change nothing: made by the first of them, kept for the
    others, made again only if a test between them emptied the database. Each test's rate
    limits count from zero, as on a fresh database."""
    global _shared
    if _shared is None or _shared.resets != database_resets():
        fresh_state()
        values = placeholders(EVERY_PLACEHOLDER)
        app.test_client_class = Client
        clients: dict[str, Client] = {}
        for role in [*ROLES, "organiser"]:
            clients[role] = app.test_client()  # type: ignore[assignment]
            user = make_user(role)
            if user is not None:
                clients[role].sign_in(user)
        _shared = World(database_resets(), values, clients)
    limiter.reset()  # the sign-ins above, or the previous test's requests
    return _shared


@pytest.mark.parametrize(("endpoint", "case"), READ_CASES)
def test_who_may_read(world, endpoint, case):
    problems = world.problems(endpoint, case, roles_of(case))
    assert not problems, problems


@pytest.mark.parametrize(("endpoint", "case", "roles"), REFUSED_WRITES)
def test_who_may_not_write(world, endpoint, case, roles):
    problems = world.problems(endpoint, case, roles)
    assert not problems, problems


@pytest.mark.parametrize(("endpoint", "case", "roles"), ALLOWED_WRITES)
def test_who_may_write(client, endpoint, case, roles):
    [role] = roles
    user = make_user(role)
    path = case.path.format(**placeholders(case.path))
    if user is not None:
        client.sign_in(user)
    problem = _answer_problem(client, endpoint, case, role, path)
    assert not problem, f"{case.method} {path}:\n{problem}"


def test_an_organiser_reaches_what_an_employee_does_outside_the_programme(world):
    """Organising the programme opens no other page: on every GET route but the programme's,
    the organiser gets the employee's outcome."""
    for endpoint, cases in EXPECTED.items():
        if endpoint.startswith("programme.") or endpoint in {"auth.login", "auth.logout"}:
            continue
        for case in cases:
            if case.method != "GET":
                continue
            response = world.clients["organiser"].get(case.path.format(**world.values))
            assert response.status_code == case.outcomes["employee"], (endpoint, case.path)


@pytest.mark.parametrize(
    ("role", "named"),
    [("manager", True), ("hr", True), ("coordinator", False), ("regional", False), ("admin", True)],
)
def test_coordinators_get_counts_not_names_on_unit_pages(client, role, named):
    """Data minimisation: a unit's people by name are for its managers, its municipality's HR
    and admins; coordinators, municipal or regional, read the unit's counts."""
    user = make_user(role)
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    for _ in range(5):
        factories.assignment(factories.employee(unit=unit, last_name="Namnsson"), course)
    client.sign_in(user)
    page = client.get(f"/reports/units/{unit.id}").get_data(as_text=True)
    assert ("Namnsson" in page) is named
    assert ("av 5" in page or "av 6" in page) is not named  # the counts instead


# Who may change whose e-mail address (issue #15): every role × a person of Järfälla holding
# each kind of role. Only HR and admins reach the form at all; HR changes the people without a
# role and its HR colleagues, and is refused (422, nothing changed) for anyone holding a role HR
# does not hold, or holds less widely; an admin changes anyone.
ACCOUNT_HOLDERS: dict[str, list[tuple[Role, str | None, bool]]] = {
    "no role": [],
    "HR of Järfälla": [(Role.HR, "Järfälla", False)],
    "manager in Järfälla": [(Role.MANAGER, None, True)],
    "coordinator of Järfälla": [(Role.COORDINATOR, "Järfälla", False)],
    "HR of Sigtuna": [(Role.HR, "Sigtuna", False)],
    "regional coordinator": [(Role.COORDINATOR, None, False)],
    "admin": [(Role.ADMIN, None, False)],
}
WITHIN_HR = {"no role", "HR of Järfälla"}


def email_change_outcome(role: str, holder: str) -> int:
    if role == "anonymous":
        return 302
    if role == "admin" or (role == "hr" and holder in WITHIN_HR):
        return 302  # changed, back to the person's page
    return 422 if role == "hr" else 403


@pytest.mark.parametrize("holder", ACCOUNT_HOLDERS)
@pytest.mark.parametrize("role", ROLES)
def test_who_may_change_whose_email(client, role, holder):
    user = make_user(role)
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    person = factories.employee(unit=unit, email="innehavare@jarfalla.example")
    for grant_role, municipality, on_unit in ACCOUNT_HOLDERS[holder]:
        factories.with_role(
            person, grant_role, municipality_name=municipality, on_unit=unit if on_unit else None
        )
    if user is not None:
        client.sign_in(user)

    response = client.post_form(
        f"/employees/{person.id}/edit", edit_data(person, email="ny@angripare.example")
    )

    expected = email_change_outcome(role, holder)
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    db.session.refresh(person)
    changed = role != "anonymous" and expected == 302
    assert (person.email == "ny@angripare.example") is changed
