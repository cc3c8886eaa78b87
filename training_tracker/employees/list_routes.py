"""Routes of the employees blueprint for HR's list of staff: the list itself (search,
filters, order, numbered pages and a page size, all GET parameters so that a filtered list
can be bookmarked), the same list as CSV or XLSX, and sending the invitations held for the
people of a filtered list, after a confirmation that shows how many."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.downloads import file_download
from training_tracker.employees.choices import keep_in_scope, user_municipalities, user_units
from training_tracker.employees.forms import (
    PAGE_SIZES,
    BulkInvitationForm,
    employee_query,
    filter_args,
    query_args,
    query_problems,
)
from training_tracker.employees.routes import bp
from training_tracker.extensions import db, limiter
from training_tracker.models import Municipality, Role, Sector, Unit
from training_tracker.ratelimit import bulk_invitation_limit, user_or_address
from training_tracker.services.core.spreadsheets import export_filename, to_csv, to_xlsx
from training_tracker.services.people.employee_export import employee_sheet
from training_tracker.services.people.employee_list import (
    AccountState,
    EmployeeQuery,
    EmployeeSort,
    all_matching,
    held_invitation_count,
    leaving_soon_days,
    search_employees,
    send_held_invitations,
)
from training_tracker.services.people.employment import EmploymentStatus
from training_tracker.transactions import committing


def _scoped_query(
    args: Mapping[str, str],
) -> tuple[EmployeeQuery, list[str], list[Municipality], list[Unit]]:
    """The query of ``args`` kept within the user's scope, and the names of the parameters
    that could not be used."""
    query = employee_query(args)
    municipalities = user_municipalities()
    unit_list = user_units(municipalities)
    dropped = keep_in_scope(query, municipalities, unit_list)
    return query, query_problems(args, query, dropped=dropped), municipalities, unit_list


@bp.route("/")
@role_required(Role.HR, Role.ADMIN)
def employee_list() -> str:
    query, problems, municipalities, unit_list = _scoped_query(request.args)
    page = search_employees(db.session, current_user, query)
    query.page = page.page

    def list_url(**changes: Any) -> str:
        return url_for("employees.employee_list", **query_args(query, **changes))

    filters = filter_args(query)
    return render_template(
        "employees/list.html",
        page=page,
        query=query,
        problems=problems,
        list_url=list_url,
        filters=filters,
        held_invitations=held_invitation_count(db.session, current_user, query),
        municipalities=municipalities,
        units=unit_list,
        several_municipalities=len(municipalities) > 1,
        sectors=list(Sector),
        statuses=list(EmploymentStatus),
        account_states=list(AccountState),
        leaving_days=leaving_soon_days(),
        page_sizes=PAGE_SIZES,
        sorts=EmployeeSort,
    )


def _download(file_format: str) -> Response:
    query, _problems, _m, _u = _scoped_query(request.args)
    today = clock.today()
    sheet = employee_sheet(all_matching(db.session, current_user, query, today=today))
    body = to_csv(sheet) if file_format == "csv" else to_xlsx([sheet])
    return file_download(body, export_filename(_("personal"), today, file_format), file_format)


@bp.route("/list.csv")
@role_required(Role.HR, Role.ADMIN)
def employee_list_csv() -> Response:
    return _download("csv")


@bp.route("/list.xlsx")
@role_required(Role.HR, Role.ADMIN)
def employee_list_xlsx() -> Response:
    return _download("xlsx")


def _confirm_page(
    query: EmployeeQuery,
    count: int,
    form: BulkInvitationForm,
    *,
    changed: bool = False,
    problems: list[str] | None = None,
) -> str:
    form.expected.data = str(count)
    return render_template(
        "employees/confirm_invitations.html",
        form=form,
        count=count,
        changed=changed,
        problems=problems or [],
        filters=filter_args(query),
        back_url=url_for("employees.employee_list", **query_args(query, page=None)),
    )


@bp.route("/invitations")
@role_required(Role.HR, Role.ADMIN)
def confirm_invitations() -> str:
    """Asks before sending: how many held invitations the filtered list has."""
    query, problems, _m, _u = _scoped_query(request.args)
    count = held_invitation_count(db.session, current_user, query)
    return _confirm_page(query, count, BulkInvitationForm(formdata=None), problems=problems)


@bp.route("/invitations", methods=["POST"])
@limiter.limit(bulk_invitation_limit, methods=["POST"], key_func=user_or_address)
@role_required(Role.HR, Role.ADMIN)
def send_invitations() -> str | Response:
    form = BulkInvitationForm()
    if not form.validate_on_submit():
        abort(400)
    # The list's filters came back as hidden fields; they are read as the list reads them.
    query, problems, _m, _u = _scoped_query(request.form)
    if problems:
        # The confirmation page sends only filters it could use: a filter set aside here would
        # widen the list to more people than the count the user confirmed.
        abort(400)
    count = held_invitation_count(db.session, current_user, query)
    if count != int(form.expected.data or 0):
        # Someone was invited, added or changed since the count was shown: ask again.
        return _confirm_page(query, count, form, changed=True)
    with committing() as attempt:
        sent = send_held_invitations(db.session, current_user, query, filters=filter_args(query))
    if attempt.ok and not sent:
        flash(_("Ingen i listan väntade på inbjudan; inget mejl skickades."), "info")
    elif attempt.ok:
        flash(
            ngettext(
                "%(num)d inbjudan ligger i utkorgen och skickas inom kort.",
                "%(num)d inbjudningar ligger i utkorgen och skickas inom kort.",
                sent,
            ),
            "success",
        )
    return redirect(url_for("employees.employee_list", **query_args(query, page=None)))
