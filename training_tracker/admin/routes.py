"""Administration: roles and the course catalogue."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from training_tracker.access import admin_required
from training_tracker.admin import bp
from training_tracker.admin.forms import GrantRoleForm, RevokeRoleForm
from training_tracker.extensions import db
from training_tracker.models import Employee, Municipality, Role, RoleGrant, Unit
from training_tracker.services import catalog, roles
from training_tracker.services.accounts import normalise_email


@bp.route("/")
@admin_required
def index() -> str:
    return render_template("admin/index.html")


def _grant_form() -> GrantRoleForm:
    form = GrantRoleForm()
    municipalities = db.session.scalars(sa.select(Municipality).order_by(Municipality.name))
    form.municipality.choices = [SelectChoice("", _("Ingen (hela regionen)"))] + [
        SelectChoice(str(m.id), m.name) for m in municipalities
    ]
    units = db.session.execute(
        sa.select(Unit.id, Unit.name, Municipality.name)
        .join(Municipality)
        .order_by(Municipality.name, Unit.name)
    )
    form.unit.choices = [SelectChoice("", _("Ingen"))] + [
        SelectChoice(str(unit_id), name, optgroup=municipality)
        for unit_id, name, municipality in units
    ]
    return form


@bp.route("/roles", methods=["GET", "POST"])
@admin_required
def role_list() -> str | Response | tuple[str, int]:
    form = _grant_form()
    if form.validate_on_submit():
        employee = db.session.scalars(
            sa.select(Employee).where(Employee.email == normalise_email(form.email.data))
        ).one_or_none()
        if employee is None:
            form.email.errors.append(_("Det finns ingen person med den e-postadressen."))
        else:
            municipality = (
                db.session.get(Municipality, int(form.municipality.data))
                if form.municipality.data
                else None
            )
            unit = db.session.get(Unit, int(form.unit.data)) if form.unit.data else None
            try:
                roles.grant_role(
                    db.session,
                    actor=current_user,
                    employee=employee,
                    role=Role(form.role.data),
                    municipality=municipality,
                    unit=unit,
                )
            except roles.RoleError as error:
                db.session.rollback()
                form.role.errors.append(str(error))
            else:
                db.session.commit()
                flash(_("Rollen är given till %(name)s.", name=employee.full_name), "success")
                return redirect(url_for("admin.role_list"))
    grants = db.session.scalars(
        sa.select(RoleGrant)
        .join(RoleGrant.employee)
        .options(
            selectinload(RoleGrant.employee),
            selectinload(RoleGrant.municipality),
            selectinload(RoleGrant.unit),
        )
        .order_by(Employee.last_name, Employee.first_name, RoleGrant.role)
    ).all()
    status = 422 if form.errors else 200
    return render_template(
        "admin/roles.html",
        form=form,
        grants=grants,
        revoke_form=RevokeRoleForm(),
        describe_scope=roles.describe_scope,
    ), status


@bp.route("/roles/<int:grant_id>/revoke", methods=["POST"])
@admin_required
def revoke_role(grant_id: int) -> Response:
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None:
        abort(404)
    form = RevokeRoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        roles.revoke_role(db.session, actor=current_user, grant=grant)
    except roles.RoleError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Rollen är borttagen."), "success")
    return redirect(url_for("admin.role_list"))


@bp.route("/courses")
@admin_required
def course_list() -> str:
    return render_template("admin/courses.html", courses=catalog.list_courses(db.session))
