"""Administration: roles and the course catalogue."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from training_tracker.access import admin_required
from training_tracker.admin import bp
from training_tracker.admin.forms import GrantRoleForm, RevokeRoleForm
from training_tracker.extensions import db
from training_tracker.models import Municipality, Role, RoleGrant, Unit
from training_tracker.services import catalog, roles


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
        try:
            grant = roles.grant_role_by_email(
                db.session,
                actor=current_user,
                email=form.email.data,
                role=Role(form.role.data),
                municipality_id=int(form.municipality.data) if form.municipality.data else None,
                unit_id=int(form.unit.data) if form.unit.data else None,
            )
        except roles.UnknownPersonError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        except roles.RoleError as error:
            db.session.rollback()
            form.role.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Rollen är given till %(name)s.", name=grant.employee.full_name), "success")
            return redirect(url_for("admin.role_list"))
    status = 422 if form.errors else 200
    return render_template(
        "admin/roles.html",
        form=form,
        grants=roles.list_grants(db.session),
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
