"""Routes; see the package docstring. Every person, unit and assignment is loaded through the
scope of the signed-in user: what lies outside it answers 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.employees.choices import (
    course_choices,
    municipality_choices,
    unit_choices,
    user_municipalities,
)
from training_tracker.employees.forms import (
    AssignCourseForm,
    EmployeeForm,
    ExemptionForm,
    InviteForm,
    NewEmployeeForm,
)
from training_tracker.extensions import db, limiter
from training_tracker.fields import required
from training_tracker.models import Course, Employee, Municipality, Role
from training_tracker.ratelimit import invitation_limit, user_or_address
from training_tracker.services.core.dates import shown_date
from training_tracker.services.core.scope import Access, employee_in_scope
from training_tracker.services.core.titles import course_title
from training_tracker.services.messaging.kinds import MESSAGE_KINDS, MESSAGE_STATUSES
from training_tracker.services.people import employees, person_assignments
from training_tracker.services.people.employees import EmployeeData, EmployeeError
from training_tracker.services.people.person_assignments import COMPLETION_STATUS_LABELS
from training_tracker.services.reporting import person_page
from training_tracker.transactions import committing

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


def _employee_or_404(employee_id: int) -> Employee:
    employee = employee_in_scope(db.session, current_user, employee_id, Access.MANAGE)
    if employee is None or employee.municipality_id is None:  # system accounts are not staff
        abort(404)
    return employee


def _prepare_employee_form(
    form: EmployeeForm, municipalities: list[Municipality], keep_unit_id: int | None = None
) -> None:
    if len(municipalities) > 1:
        form.municipality.choices = municipality_choices(municipalities)
    else:
        del form.municipality  # fixed: the user's one municipality
    form.unit.choices = unit_choices(
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


# --- enrolling and editing ------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def employee_new() -> tuple[str, int] | Response:
    municipalities = user_municipalities()
    form = NewEmployeeForm(today=clock.today())
    _prepare_employee_form(form, municipalities)
    if form.validate_on_submit():
        with committing(form, fields=_EMPLOYEE_FIELDS, fallback="email") as attempt:
            employee = employees.create_employee(
                db.session,
                _employee_data(form, municipalities),
                actor=current_user,
                invite=bool(form.send_invitation.data),
            )
            assigned = person_assignments.open_assignment_count(db.session, employee)
            invited = employee.invited_at is not None
            name, employee_id = employee.full_name, employee.id
        if attempt.ok:
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
    municipalities = user_municipalities()
    # What is stored fills the form on GET only: a POST is read as sent, nothing filled in.
    form = EmployeeForm(data=None if request.method == "POST" else _initial_data(employee))
    _prepare_employee_form(form, municipalities, keep_unit_id=employee.unit_id)
    if form.validate_on_submit():
        was_active = employee.active
        with committing(form, fields=_EMPLOYEE_FIELDS, fallback="email") as attempt:
            changes = employees.update_employee(
                db.session, employee, _employee_data(form, municipalities), actor=current_user
            )
            is_active, name, end_date = employee.active, employee.full_name, employee.end_date
        if attempt.ok:
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
                        date=shown_date(end_date),
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
    form.course.choices = course_choices()
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
    with committing() as attempt:
        queued = employees.resend_invitation(db.session, employee, actor=current_user)
    if attempt.ok:
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
        with committing(form, fields=_EMPLOYEE_FIELDS, fallback="course") as attempt:
            if course is None:
                raise EmployeeError(_("Välj en kurs."), "course_id")
            person_assignments.assign_course(
                db.session,
                employee,
                course,
                due_date=required(form.due_date.data),
                actor=current_user,
            )
            title, due = course_title(course), form.due_date.data
        if attempt.ok:
            flash(
                _(
                    "%(course)s är tilldelad, sista dag %(date)s.",
                    course=title,
                    date=shown_date(due) if due else "–",
                ),
                "success",
            )
            return redirect(url_for("employees.employee_detail", employee_id=employee_id))
    return _render_detail(employee, assign_form=form)


@bp.route("/<int:employee_id>/assignments/<int:assignment_id>/exemption", methods=["POST"])
@role_required(Role.HR, Role.ADMIN)
def exemption(employee_id: int, assignment_id: int) -> tuple[str, int] | Response:
    assignment = person_assignments.assignment_in_scope(
        db.session, current_user, employee_id, assignment_id
    )
    if assignment is None:
        abort(404)
    employee = _employee_or_404(employee_id)
    form = ExemptionForm()
    if form.validate_on_submit():
        exempt = form.exempt.data != "0"
        # Every refusal belongs to the one field of the row's form.
        with committing(form, fields={}, fallback="reason") as attempt:
            changed = person_assignments.set_exemption(
                db.session,
                assignment,
                exempt=exempt,
                reason=form.reason.data or "",
                actor=current_user,
            )
            title = course_title(assignment.course)
        if attempt.ok:
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
