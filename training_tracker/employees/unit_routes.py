"""Routes of the employees blueprint for what people are organised in: the municipality's
units (adding, renaming, moving sector, winding up) and the municipality's settings
(whether reported courses count in coverage, and the reminder policy)."""

from __future__ import annotations

import dataclasses

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from training_tracker.access import role_required
from training_tracker.employees.choices import municipality_choices, user_municipalities
from training_tracker.employees.forms import (
    EditUnitForm,
    MunicipalitySettingsForm,
    ReminderPolicyForm,
    UnitForm,
    employee_query,
)
from training_tracker.employees.routes import bp
from training_tracker.extensions import db
from training_tracker.models import Role, Sector, Unit
from training_tracker.services.people import units
from training_tracker.services.people.municipalities import (
    ReminderPolicyData,
    municipality_in_scope,
    reminder_policy,
    update_reminder_policy,
    update_settings,
)
from training_tracker.transactions import committing

_UNIT_FIELDS = {"name": "name", "municipality": "municipality", "active": "active"}


@bp.route("/units", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def unit_list() -> tuple[str, int] | Response:
    municipalities = user_municipalities()
    form = UnitForm()
    if len(municipalities) > 1:
        form.municipality.choices = municipality_choices(municipalities)
    else:
        del form.municipality
    if form.validate_on_submit():
        municipality_id = (
            int(form.municipality.data) if "municipality" in form else municipalities[0].id
        )
        with committing(form, fields=_UNIT_FIELDS, fallback="name") as attempt:
            unit = units.create_unit(
                db.session,
                municipality_id=municipality_id,
                name=form.name.data or "",
                sector=Sector(form.sector.data),
                actor=current_user,
            )
            name = unit.name
        if attempt.ok:
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
        with committing(form, fields=_UNIT_FIELDS, fallback="name") as attempt:
            result = units.update_unit(
                db.session,
                unit,
                name=form.name.data or "",
                sector=Sector(form.sector.data),
                active=bool(form.active.data),
                actor=current_user,
            )
        if attempt.ok:
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


# --- the municipality's settings ------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def municipality_settings() -> tuple[str, int] | Response:
    municipality_list = user_municipalities()
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
        with committing(reminder_form, fallback="first_after_days") as attempt:
            changes = update_reminder_policy(db.session, municipality, values, actor=current_user)
            name = municipality.name
        if attempt.ok:
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
