"""Routes; see the package docstring. Every person, unit and assignment is loaded through the
scope of the signed-in user: what lies outside it answers 404."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.employees.forms import (
    SUBMISSION_KEY,
    AssignCourseForm,
    EditUnitForm,
    EmployeeForm,
    ExemptionForm,
    GroupCompletionForm,
    InviteForm,
    MunicipalitySettingsForm,
    NewEmployeeForm,
    ReminderPolicyForm,
    UnitForm,
    employee_query,
    query_args,
)
from training_tracker.extensions import db, limiter
from training_tracker.models import Course, Employee, Municipality, Role, Sector, Unit
from training_tracker.ratelimit import invitation_limit, user_or_address
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import Access, employee_in_scope
from training_tracker.services.messaging.kinds import MESSAGE_KINDS, MESSAGE_STATUSES
from training_tracker.services.people import employees, units
from training_tracker.services.people.employees import (
    COMPLETION_STATUS_LABELS,
    EmployeeData,
    EmployeeError,
    EmployeeSort,
    EmploymentStatus,
)
from training_tracker.services.people.municipalities import (
    ReminderPolicyData,
    ReminderPolicyError,
    municipality_in_scope,
    reminder_policy,
    update_reminder_policy,
    update_settings,
)
from training_tracker.services.people.units import UnitError
from training_tracker.services.reporting import person_page
from training_tracker.services.training import group_records

bp = Blueprint("employees", __name__, url_prefix="/employees")

# Which form field a service error belongs to.
_EMPLOYEE_FIELDS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "municipality_id": "municipality",
    "unit_id": "unit",
    "hire_date": "hire_date",
    "employee_number": "employee_number",
    "manager_id": "manager_email",
    "manager_email": "manager_email",
    "end_date": "end_date",
    "preferred_language": "language",
    "course_id": "course",
    "due_date": "due_date",
    "reason": "reason",
}


def _add_error(form: FlaskForm, field_name: str | None, message: str, fallback: str) -> None:
    """Put a service's message on the form field it concerns (or ``fallback``), so the
    error summary links to it."""
    name = field_name if field_name in form else fallback
    field = form[name]
    field.errors = [*field.errors, message]


def _employee_or_404(employee_id: int) -> Employee:
    employee = employee_in_scope(db.session, current_user, employee_id, Access.MANAGE)
    if employee is None or employee.municipality_id is None:  # system accounts are not staff
        abort(404)
    return employee


def _municipalities() -> list[Municipality]:
    return units.municipalities_of(db.session, current_user)


def _unit_choices(
    municipalities: list[Municipality], *, keep_unit_id: int | None = None, placeholder: str
) -> list[SelectChoice]:
    """The user's units grouped by municipality; deactivated ones are left out, except the
    one a person belongs to now."""
    choices = [SelectChoice("", placeholder)]
    for unit in employees.units_of(db.session, [m.id for m in municipalities]):
        if unit.active or unit.id == keep_unit_id:
            label = unit.name if unit.active else _("%(name)s (avvecklad)", name=unit.name)
            choices.append(SelectChoice(str(unit.id), label, optgroup=unit.municipality.name))
    return choices


def _municipality_choices(municipalities: list[Municipality]) -> list[SelectChoice]:
    return [SelectChoice("", _("Välj kommun"))] + [
        SelectChoice(str(m.id), m.name) for m in municipalities
    ]


def _prepare_employee_form(
    form: EmployeeForm, municipalities: list[Municipality], keep_unit_id: int | None = None
) -> None:
    if len(municipalities) > 1:
        form.municipality.choices = _municipality_choices(municipalities)
    else:
        del form.municipality  # fixed: the user's one municipality
    form.unit.choices = _unit_choices(
        municipalities, keep_unit_id=keep_unit_id, placeholder=_("Välj enhet")
    )


def _employee_data(form: EmployeeForm, municipalities: list[Municipality]) -> EmployeeData:
    municipality_id = (
        int(form.municipality.data) if "municipality" in form else municipalities[0].id
    )
    return EmployeeData(
        first_name=form.first_name.data or "",
        last_name=form.last_name.data or "",
        email=form.email.data or "",
        municipality_id=municipality_id,
        unit_id=int(form.unit.data),
        hire_date=form.hire_date.data,
        employee_number=form.employee_number.data,
        end_date=form.end_date.data,
        preferred_language=form.language.data or "sv",
        manager_email=form.manager_email.data or None,
    )


def _render_form(
    form: EmployeeForm, employee: Employee | None, municipalities: list[Municipality]
) -> tuple[str, int]:
    status = 422 if form.errors else 200
    fixed_municipality = municipalities[0] if len(municipalities) == 1 else None
    return render_template(
        "employees/form.html",
        form=form,
        employee=employee,
        fixed_municipality=fixed_municipality,
    ), status


# --- the list -------------------------------------------------------------------------------


@bp.route("/")
@role_required(Role.HR, Role.ADMIN)
def employee_list() -> str:
    query = employee_query(request.args)
    municipalities = _municipalities()
    unit_list = employees.units_of(db.session, [m.id for m in municipalities])
    # A filter naming something outside the user's scope is dropped, as any bad value is.
    if query.municipality_id not in {m.id for m in municipalities}:
        query.municipality_id = None
    if query.unit_id not in {u.id for u in unit_list}:
        query.unit_id = None
    page = employees.search_employees(db.session, current_user, query)
    query.page = page.page

    def list_url(**changes: Any) -> str:
        return url_for("employees.employee_list", **query_args(query, **changes))

    return render_template(
        "employees/list.html",
        page=page,
        query=query,
        list_url=list_url,
        municipalities=municipalities,
        units=unit_list,
        several_municipalities=len(municipalities) > 1,
        sectors=list(Sector),
        statuses=list(EmploymentStatus),
        sorts=EmployeeSort,
    )


# --- enrolling and editing ------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def employee_new() -> tuple[str, int] | Response:
    municipalities = _municipalities()
    form = NewEmployeeForm(today=clock.today())
    _prepare_employee_form(form, municipalities)
    if form.validate_on_submit():
        try:
            employee = employees.create_employee(
                db.session,
                _employee_data(form, municipalities),
                actor=current_user,
                invite=bool(form.send_invitation.data),
            )
            assigned = employees.open_assignment_count(db.session, employee)
        except EmployeeError as error:
            db.session.rollback()
            _add_error(form, _EMPLOYEE_FIELDS.get(error.field or ""), str(error), "email")
        else:
            invited = employee.invited_at is not None
            name, employee_id = employee.full_name, employee.id
            db.session.commit()
            courses = ngettext(
                "%(num)d kurs är tilldelad.", "%(num)d kurser är tilldelade.", assigned
            )
            mail = (
                _("Välkomstmejlet ligger i utkorgen och skickas inom kort.")
                if invited
                else _("Inget välkomstmejl är skickat; du kan skicka det från personens sida.")
            )
            flash(" ".join([_("%(name)s är tillagd.", name=name), courses, mail]), "success")
            return redirect(url_for("employees.employee_detail", employee_id=employee_id))
    return _render_form(form, None, municipalities)


def _initial_data(employee: Employee) -> dict[str, Any]:
    return {
        "first_name": employee.first_name,
        "last_name": employee.last_name,
        "email": employee.email,
        "municipality": str(employee.municipality_id),
        "unit": str(employee.unit_id) if employee.unit_id else "",
        "hire_date": employee.hire_date,
        "employee_number": employee.employee_number,
        "manager_email": employee.manager.email if employee.manager else "",
        "end_date": employee.end_date,
        "language": employee.preferred_language,
    }


@bp.route("/<int:employee_id>/edit", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def employee_edit(employee_id: int) -> tuple[str, int] | Response:
    employee = _employee_or_404(employee_id)
    municipalities = _municipalities()
    # What is stored fills the form on GET only: a POST is read as sent, nothing filled in.
    form = EmployeeForm(data=None if request.method == "POST" else _initial_data(employee))
    _prepare_employee_form(form, municipalities, keep_unit_id=employee.unit_id)
    if form.validate_on_submit():
        was_active = employee.active
        try:
            changes = employees.update_employee(
                db.session, employee, _employee_data(form, municipalities), actor=current_user
            )
        except EmployeeError as error:
            db.session.rollback()
            _add_error(form, _EMPLOYEE_FIELDS.get(error.field or ""), str(error), "email")
        else:
            is_active, name, end_date = employee.active, employee.full_name, employee.end_date
            db.session.commit()
            if not changes:
                flash(_("Inget ändrades."), "info")
            elif was_active and not is_active:
                flash(
                    _(
                        "%(name)s har slutat och kontot är avstängt: alla inloggningar är "
                        "avslutade och kurserna stängda. Historiken finns kvar.",
                        name=name,
                    ),
                    "success",
                )
            elif is_active and not was_active:
                flash(
                    _(
                        "%(name)s är återanställd och kontot är aktivt igen; kurserna som "
                        "krävs är tilldelade på nytt.",
                        name=name,
                    ),
                    "success",
                )
            elif end_date is not None and "end_date" in changes:
                flash(
                    _(
                        "Ändringarna är sparade. %(name)s slutar %(date)s; då stängs kontot.",
                        name=name,
                        date=end_date.isoformat(),
                    ),
                    "success",
                )
            else:
                flash(_("Ändringarna är sparade."), "success")
            return redirect(url_for("employees.employee_detail", employee_id=employee_id))
    return _render_form(form, employee, municipalities)


# --- one person -----------------------------------------------------------------------------


def _exemption_form(assignment_id: int, form: ExemptionForm | None = None) -> ExemptionForm:
    """A form per assignment row, with ids of its own (the field names stay the same)."""
    form = form or ExemptionForm(formdata=None)
    field_id = f"reason-{assignment_id}"
    form.reason.id = field_id
    form.reason.label.field_id = field_id
    return form


def _assign_form(form: AssignCourseForm | None = None) -> AssignCourseForm:
    if form is None:
        form = AssignCourseForm(formdata=None)
        form.due_date.data = clock.today() + timedelta(days=current_app.config["DEFAULT_DUE_DAYS"])
    form.course.choices = [SelectChoice("", _("Välj kurs"))] + [
        SelectChoice(str(course.id), course.title, optgroup=course.provider.name)
        for course in employees.assignable_courses(db.session)
    ]
    return form


def _render_detail(
    employee: Employee,
    *,
    assign_form: AssignCourseForm | None = None,
    failed_exemption: tuple[int, ExemptionForm] | None = None,
) -> tuple[str, int]:
    record = person_page.employee_record(db.session, employee)
    exemption_forms = {
        line.assignment.id: _exemption_form(line.assignment.id)
        for line in record.assignments
        if line.assignment.removed_at is None
    }
    if failed_exemption is not None:
        assignment_id, form = failed_exemption
        exemption_forms[assignment_id] = _exemption_form(assignment_id, form)
    failed = (assign_form is not None and assign_form.errors) or failed_exemption is not None
    return render_template(
        "employees/detail.html",
        record=record,
        employee=employee,
        assign_form=_assign_form(assign_form),
        exemption_forms=exemption_forms,
        failed_exemption_id=failed_exemption[0] if failed_exemption else None,
        invite_form=InviteForm(formdata=None),
        completion_labels=COMPLETION_STATUS_LABELS,
        message_kinds=MESSAGE_KINDS,
        message_statuses=MESSAGE_STATUSES,
    ), (422 if failed else 200)


@bp.route("/<int:employee_id>")
@role_required(Role.HR, Role.ADMIN)
def employee_detail(employee_id: int) -> tuple[str, int]:
    return _render_detail(_employee_or_404(employee_id))


@bp.route("/<int:employee_id>/invite", methods=["POST"])
@limiter.limit(invitation_limit, methods=["POST"], key_func=user_or_address)
@role_required(Role.HR, Role.ADMIN)
def invite(employee_id: int) -> Response:
    employee = _employee_or_404(employee_id)
    if not InviteForm().validate_on_submit():
        abort(400)
    try:
        queued = employees.resend_invitation(db.session, employee, actor=current_user)
    except EmployeeError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        if queued:
            flash(_("Inbjudan ligger i utkorgen och skickas inom kort."), "success")
        else:
            flash(_("Inbjudan är redan skickad i dag."), "info")
    return redirect(url_for("employees.employee_detail", employee_id=employee_id))


@bp.route("/<int:employee_id>/assignments", methods=["POST"])
@role_required(Role.HR, Role.ADMIN)
def assign_course(employee_id: int) -> tuple[str, int] | Response:
    employee = _employee_or_404(employee_id)
    form = _assign_form(AssignCourseForm())
    if form.validate_on_submit():
        course = db.session.get(Course, int(form.course.data))
        try:
            if course is None:
                raise EmployeeError(_("Välj en kurs."), "course_id")
            employees.assign_course(
                db.session, employee, course, due_date=form.due_date.data, actor=current_user
            )
        except EmployeeError as error:
            db.session.rollback()
            _add_error(form, _EMPLOYEE_FIELDS.get(error.field or ""), str(error), "course")
        else:
            title, due = course.title, form.due_date.data
            db.session.commit()
            flash(
                _("%(course)s är tilldelad, sista dag %(date)s.", course=title, date=due),
                "success",
            )
            return redirect(url_for("employees.employee_detail", employee_id=employee_id))
    return _render_detail(employee, assign_form=form)


@bp.route("/<int:employee_id>/assignments/<int:assignment_id>/exemption", methods=["POST"])
@role_required(Role.HR, Role.ADMIN)
def exemption(employee_id: int, assignment_id: int) -> tuple[str, int] | Response:
    assignment = employees.assignment_in_scope(db.session, current_user, employee_id, assignment_id)
    if assignment is None:
        abort(404)
    employee = _employee_or_404(employee_id)
    form = ExemptionForm()
    if form.validate_on_submit():
        exempt = form.exempt.data != "0"
        try:
            changed = employees.set_exemption(
                db.session,
                assignment,
                exempt=exempt,
                reason=form.reason.data or "",
                actor=current_user,
            )
        except EmployeeError as error:
            db.session.rollback()
            _add_error(form, "reason", str(error), "reason")
        else:
            title = assignment.course.title
            db.session.commit()
            if not changed:
                flash(_("Inget ändrades."), "info")
            elif exempt:
                flash(_("Personen är undantagen från %(course)s.", course=title), "success")
            else:
                flash(_("Undantaget från %(course)s är borttaget.", course=title), "success")
            return redirect(
                url_for("employees.employee_detail", employee_id=employee_id)
                + f"#assignment-{assignment_id}"
            )
    return _render_detail(employee, failed_exemption=(assignment_id, form))


# --- units ----------------------------------------------------------------------------------

_UNIT_FIELDS = {"name": "name", "municipality": "municipality", "active": "active"}


@bp.route("/units", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def unit_list() -> tuple[str, int] | Response:
    municipalities = _municipalities()
    form = UnitForm()
    if len(municipalities) > 1:
        form.municipality.choices = _municipality_choices(municipalities)
    else:
        del form.municipality
    if form.validate_on_submit():
        municipality_id = (
            int(form.municipality.data) if "municipality" in form else municipalities[0].id
        )
        try:
            unit = units.create_unit(
                db.session,
                municipality_id=municipality_id,
                name=form.name.data or "",
                sector=Sector(form.sector.data),
                actor=current_user,
            )
        except UnitError as error:
            db.session.rollback()
            _add_error(form, _UNIT_FIELDS.get(error.field or ""), str(error), "name")
        else:
            name = unit.name
            db.session.commit()
            flash(_("Enheten %(name)s är tillagd.", name=name), "success")
            return redirect(url_for("employees.unit_list"))
    return render_template(
        "employees/units.html",
        form=form,
        rows=units.unit_overview(db.session, current_user),
        fixed_municipality=municipalities[0] if len(municipalities) == 1 else None,
    ), (422 if form.errors else 200)


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def unit_edit(unit_id: int) -> tuple[str, int] | Response:
    unit: Unit | None = units.unit_in_scope(db.session, current_user, unit_id)
    if unit is None:
        abort(404)
    initial = {"name": unit.name, "sector": unit.sector.value, "active": unit.active}
    form = EditUnitForm(data=None if request.method == "POST" else initial)
    del form.municipality  # a unit stays in its municipality
    if form.validate_on_submit():
        try:
            result = units.update_unit(
                db.session,
                unit,
                name=form.name.data or "",
                sector=Sector(form.sector.data),
                active=bool(form.active.data),
                actor=current_user,
            )
        except UnitError as error:
            db.session.rollback()
            _add_error(form, _UNIT_FIELDS.get(error.field or ""), str(error), "name")
        else:
            db.session.commit()
            if not result.changes:
                flash(_("Inget ändrades."), "info")
            elif result.assignments is not None:
                flash(
                    _(
                        "Enheten är sparad och kurskraven för personalen är omräknade "
                        "(tilldelade: %(created)d, ändrade: %(updated)d, borttagna: "
                        "%(closed)d).",
                        created=result.assignments.created,
                        updated=result.assignments.updated,
                        closed=result.assignments.closed,
                    ),
                    "success",
                )
            else:
                flash(_("Enheten är sparad."), "success")
            return redirect(url_for("employees.unit_list"))
    return render_template(
        "employees/unit_edit.html",
        form=form,
        unit=unit,
        staff=units.active_employee_count(db.session, unit),
    ), (422 if form.errors else 200)


# --- a course completed by a group ----------------------------------------------------------

# Which form field a service error belongs to.
_GROUP_FIELDS = {
    "course_id": "course",
    "completed_on": "completed_on",
    "note": "note",
    "employee_ids": "employees",
    "identifiers": "identifiers",
}


def _pick_args(query: employees.EmployeeQuery, **changes: Any) -> dict[str, Any]:
    """The query string of the record page's pick list: its search and filters only."""
    values: dict[str, Any] = {
        "q": query.text or None,
        "municipality": query.municipality_id,
        "unit": query.unit_id,
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value not in (None, "")}


@bp.route("/record-completions", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def record_completions() -> tuple[str, int] | Response:
    today = clock.today()
    query = employee_query(request.args)  # the pick list's search, municipality and unit
    municipality_list = _municipalities()
    unit_list = employees.units_of(db.session, [m.id for m in municipality_list])
    # A filter naming something outside the user's scope is dropped, as any bad value is.
    if query.municipality_id not in {m.id for m in municipality_list}:
        query.municipality_id = None
    if query.unit_id not in {u.id for u in unit_list}:
        query.unit_id = None

    form = GroupCompletionForm()
    form.course.choices = [SelectChoice("", _("Välj kurs"))] + [
        SelectChoice(str(course.id), course.title, optgroup=course.provider.name)
        for course in employees.assignable_courses(db.session)
    ]
    form.completed_on.render_kw = {"autocomplete": "off", "max": today.isoformat()}
    if not form.is_submitted():
        form.completed_on.data = today
    if not SUBMISSION_KEY.match(form.submission_key.data or ""):
        form.submission_key.data = secrets.token_urlsafe(24)

    if form.validate_on_submit():
        try:
            result = group_records.record_group_completion(
                db.session,
                actor=current_user,
                course_id=int(form.course.data),
                completed_on=form.completed_on.data,
                employee_ids=form.employees.data or [],
                note=form.note.data or "",
                identifiers=group_records.parse_attendance_list(form.identifiers.data or ""),
                submission_key=form.submission_key.data,
                today=today,
            )
        except FieldError as error:
            db.session.rollback()
            _add_error(form, _GROUP_FIELDS.get(error.field or ""), str(error), "employees")
        else:
            recorded, own = len(result.recorded), bool(result.awaiting_review)
            skipped = group_records.name_list(result.already_recorded)
            skipped_count = len(result.already_recorded)
            title, day = result.course.title, result.completed_on.isoformat()
            db.session.commit()
            if recorded:
                flash(
                    ngettext(
                        "Genomförd kurs registrerad för %(num)d person: %(course)s, %(date)s. "
                        "Den är godkänd av dig.",
                        "Genomförd kurs registrerad för %(num)d personer: %(course)s, %(date)s. "
                        "De är godkända av dig.",
                        recorded,
                        course=title,
                        date=day,
                    ),
                    "success",
                )
            elif not own:
                flash(_("Inget nytt registrerades."), "info")
            if own:
                flash(
                    _(
                        "Din egen kurs är registrerad som en rapport: en annan HR-person eller "
                        "din chef godkänner den, eftersom ingen godkänner sin egen utbildning."
                    ),
                    "info",
                )
            if skipped_count:
                flash(
                    ngettext(
                        "%(num)d person hade redan kursen godkänd från samma dag eller senare "
                        "och hoppades över: %(names)s.",
                        "%(num)d personer hade redan kursen godkänd från samma dag eller senare "
                        "och hoppades över: %(names)s.",
                        skipped_count,
                        names=skipped,
                    ),
                    "info",
                )
            return redirect(url_for("employees.record_completions", **_pick_args(query)))

    candidates = group_records.attendee_candidates(
        db.session,
        current_user,
        text=query.text,
        municipality_id=query.municipality_id,
        unit_id=query.unit_id,
        today=today,
    )
    if form.is_submitted():
        selected = set(form.employees.data or [])
    elif request.args.get("all") == "1":
        selected = {person.id for person in candidates.employees}
    else:
        selected = set()

    def pick_url(**changes: Any) -> str:
        return url_for("employees.record_completions", **_pick_args(query, **changes))

    return render_template(
        "employees/record_completions.html",
        form=form,
        query=query,
        candidates=candidates,
        selected=selected,
        pick_url=pick_url,
        municipalities=municipality_list,
        units=unit_list,
        several_municipalities=len(municipality_list) > 1,
    ), (422 if form.errors else 200)


# --- the municipality's settings ------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def municipality_settings() -> tuple[str, int] | Response:
    municipality_list = _municipalities()
    if "municipality" in request.args:
        municipality_id = employee_query(request.args).municipality_id
        municipality = (
            municipality_in_scope(db.session, current_user, municipality_id)
            if municipality_id is not None
            else None
        )
    else:  # the user's first municipality (HR usually has one)
        municipality = municipality_list[0] if municipality_list else None
    if municipality is None:
        abort(404)
    # Two forms on the page, each with its own button: only the one sent reads the request,
    # the other shows what is stored (an unsent checkbox would otherwise read as "no").
    posted = request.method == "POST"
    reminders_posted = posted and request.form.get("section") == "reminders"
    coverage_posted = posted and not reminders_posted
    current = "1" if municipality.count_reported_in_coverage else "0"
    form = (
        MunicipalitySettingsForm()
        if coverage_posted
        else MunicipalitySettingsForm(formdata=None, data={"count_reported": current})
    )
    reminder_form = (
        ReminderPolicyForm()
        if reminders_posted
        else ReminderPolicyForm(formdata=None, data=reminder_policy(db.session, municipality))
    )
    several = len(municipality_list) > 1
    done_url = url_for(
        "employees.municipality_settings",
        municipality=municipality.id if several else None,
    )
    if coverage_posted and form.validate_on_submit():
        changes = update_settings(
            db.session,
            municipality,
            count_reported_in_coverage=form.count_reported.data == "1",
            actor=current_user,
        )
        name = municipality.name
        db.session.commit()
        if changes:
            flash(_("Inställningarna för %(name)s är sparade.", name=name), "success")
        else:
            flash(_("Inget ändrades."), "info")
        return redirect(done_url)
    if reminders_posted and reminder_form.validate_on_submit():
        values = ReminderPolicyData(
            **{
                setting.name: reminder_form[setting.name].data
                for setting in dataclasses.fields(ReminderPolicyData)
            }
        )
        try:
            changes = update_reminder_policy(db.session, municipality, values, actor=current_user)
        except ReminderPolicyError as error:
            db.session.rollback()
            _add_error(reminder_form, error.field, str(error), "first_after_days")
        else:
            name = municipality.name
            db.session.commit()
            if changes:
                flash(_("Påminnelserna för %(name)s är sparade.", name=name), "success")
            else:
                flash(_("Inget ändrades."), "info")
            return redirect(done_url)
    return render_template(
        "employees/settings.html",
        form=form,
        reminder_form=reminder_form,
        municipality=municipality,
        municipalities=municipality_list,
        several_municipalities=several,
    ), (422 if form.errors or reminder_form.errors else 200)
