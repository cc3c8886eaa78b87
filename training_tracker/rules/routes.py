"""Routes; see the package docstring.

The views parse the form and call :mod:`training_tracker.services.training.rules`, which checks
what the user may do, writes the rule with its audit event and recomputes the assignments; each view
commits once at the end, or rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.extensions import db
from training_tracker.fields import required
from training_tracker.models import (
    Course,
    CourseStatus,
    Municipality,
    Provider,
    RequirementRule,
    Role,
    Sector,
    Unit,
)
from training_tracker.rules.forms import EndRuleForm, RuleForm
from training_tracker.services.core.dates import shown_date
from training_tracker.services.core.scope import managed_municipality_ids, municipality_clause
from training_tracker.services.training import rules
from training_tracker.services.training.assignments import AssignmentChanges
from training_tracker.transactions import committing

bp = Blueprint("rules", __name__, url_prefix="/rules")

# RuleError.field (the service's names) → the form field the message belongs to.
FORM_FIELDS = {
    "course_id": "course",
    "municipality_id": "municipality",
    "sector": "sector",
    "unit_id": "unit",
    "due_days": "due_days",
    "applies_from": "applies_from",
    "for_new_hires": "for_new_hires",
    "for_existing_staff": "for_new_hires",
    "ends_on": "ends_on",
}


def for_whom(new_hires: bool, existing_staff: bool) -> str:
    if new_hires and existing_staff:
        return _("Nyanställda och befintlig personal")
    return _("Nyanställda") if new_hires else _("Befintlig personal")


@bp.route("/")
@role_required(Role.HR, Role.ADMIN)
def rule_list() -> str:
    today = clock.today()
    all_rules = rules.list_rules(db.session, current_user)
    in_force = [rule for rule in all_rules if rules.in_force(rule, today)]
    ended = [rule for rule in all_rules if not rules.in_force(rule, today)]
    return render_template(
        "rules/list.html",
        in_force=in_force,
        ended=ended,
        open_counts=rules.open_assignment_counts(
            db.session, current_user, [rule.id for rule in in_force], today=today
        ),
        may_change=lambda rule: rules.may_change(current_user, rule),
        for_whom=for_whom,
    )


def _fill_choices(form: RuleForm, rule: RequirementRule | None) -> None:
    """Courses, municipalities and units the signed-in user may choose among."""
    current_course = rule.course_id if rule else None
    courses = db.session.execute(
        sa.select(Course, Provider.name)
        .join(Provider, Provider.id == Course.provider_id)
        .where(sa.or_(Course.status == CourseStatus.ACTIVE, Course.id == current_course))
        .order_by(Provider.name, Course.title)
    )
    form.course.choices = [SelectChoice("", _("Välj en kurs"))] + [
        SelectChoice(
            str(course.id),
            course.title
            if course.status == CourseStatus.ACTIVE
            else _("%(title)s (avstängd)", title=course.title),
            optgroup=provider,
        )
        for course, provider in courses
    ]
    managed = managed_municipality_ids(current_user)
    municipalities = db.session.scalars(
        sa.select(Municipality)
        .where(municipality_clause(current_user, Municipality.id))
        .order_by(Municipality.name)
    )
    choices = [SelectChoice(str(m.id), m.name) for m in municipalities]
    if managed is None:
        choices.insert(0, SelectChoice("", _("Alla kommuner")))
    form.municipality.choices = choices
    current_unit = rule.unit_id if rule else None
    units = db.session.execute(
        sa.select(Unit.id, Unit.name, Municipality.name)
        .join(Municipality, Municipality.id == Unit.municipality_id)
        .where(
            municipality_clause(current_user, Unit.municipality_id),
            sa.or_(Unit.active, Unit.id == current_unit),
        )
        .order_by(Municipality.name, Unit.name)
    )
    form.unit.choices = [SelectChoice("", _("Alla enheter"))] + [
        SelectChoice(str(unit_id), name, optgroup=municipality)
        for unit_id, name, municipality in units
    ]


def _load(form: RuleForm, rule: RequirementRule | None) -> None:
    """What a form shows before anything is posted: the rule as it is, or the defaults."""
    if rule is None:
        # HR: their (first) municipality; admins start from "Alla kommuner".
        form.municipality.data = next(iter(form.municipality.iter_choices()))[0]
        form.due_days.data = current_app.config["DEFAULT_DUE_DAYS"]
        # A link's ?course= that is not a plain id (or past the column's range) is ignored.
        wanted = request.args.get("course", "")
        course_id = int(wanted) if wanted.isascii() and wanted.isdigit() and len(wanted) < 10 else 0
        course = db.session.get(Course, course_id)
        if course is not None and course.status == CourseStatus.ACTIVE:
            form.course.data = str(course.id)
            form.due_days.data = course.due_days
        return
    form.course.data = str(rule.course_id)
    form.municipality.data = str(rule.municipality_id) if rule.municipality_id else ""
    form.sector.data = rule.sector.value if rule.sector else ""
    form.unit.data = str(rule.unit_id) if rule.unit_id else ""
    form.due_days.data = rule.due_days
    form.applies_from.data = rule.applies_from
    form.for_new_hires.data = rule.for_new_hires
    form.for_existing_staff.data = rule.for_existing_staff
    form.ends_on.data = rule.ends_on


def _rule_data(form: RuleForm) -> rules.RuleData:
    course_id = int(form.course.data)
    due_days = form.due_days.data
    if due_days is None:  # left empty: the course's own default
        course = db.session.get(Course, course_id)
        due_days = course.due_days if course else current_app.config["DEFAULT_DUE_DAYS"]
    return rules.RuleData(
        course_id=course_id,
        municipality_id=int(form.municipality.data) if form.municipality.data else None,
        sector=Sector(form.sector.data) if form.sector.data else None,
        unit_id=int(form.unit.data) if form.unit.data else None,
        due_days=due_days,
        applies_from=required(form.applies_from.data),
        for_new_hires=bool(form.for_new_hires.data),
        for_existing_staff=bool(form.for_existing_staff.data),
        ends_on=form.ends_on.data,
    )


@dataclass
class Change:
    label: str
    before: str
    after: str


def _describe(data: rules.RuleData) -> dict[str, str]:
    """A rule's settings as the person reads them, label → value."""
    course = db.session.get(Course, data.course_id)
    municipality = db.session.get(Municipality, data.municipality_id or 0)
    unit = db.session.get(Unit, data.unit_id or 0)

    def day(value: date | None) -> str:
        return shown_date(value) if value else _("Inget")

    return {
        _("Kurs"): course.title if course else "",
        _("Kommun"): municipality.name if municipality else _("Alla kommuner"),
        _("Sektor"): data.sector.label if data.sector else _("Alla sektorer"),
        _("Enhet"): unit.name if unit else _("Alla enheter"),
        _("Dagar till sista dag"): str(data.due_days),
        _("Gäller från"): day(data.applies_from),
        _("Gäller"): for_whom(data.for_new_hires, data.for_existing_staff),
        _("Slutdatum"): day(data.ends_on),
    }


def _changes(before: rules.RuleData, after: rules.RuleData) -> list[Change]:
    old, new = _describe(before), _describe(after)
    return [Change(label, old[label], new[label]) for label in new if old[label] != new[label]]


def _reach_sentence(reach: rules.RuleReach) -> str:
    return " ".join(
        [
            ngettext(
                "Regeln gäller %(num)d anställd.",
                "Regeln gäller %(num)d anställda.",
                reach.employees,
            ),
            _("%(count)d av dem har inte gått kursen.", count=reach.not_completed),
        ]
    )


def _saved_message(changes: AssignmentChanges) -> str:
    return _(
        "Regeln är sparad. Tilldelningar – nya: %(created)d, ändrade: %(updated)d, "
        "avslutade: %(closed)d.",
        created=changes.created,
        updated=changes.updated,
        closed=changes.closed,
    )


def _rule_form(rule: RequirementRule | None) -> str | Response | tuple[str, int]:
    today = clock.today()
    form = RuleForm(today=today)
    _fill_choices(form, rule)
    if not form.is_submitted():
        _load(form, rule)
    preview: dict[str, object] | None = None
    if form.validate_on_submit():
        data = _rule_data(form)
        previewing = request.form.get("action") == "preview"
        with committing(form, fields=FORM_FIELDS, fallback="course") as attempt:
            rules.check_rule(db.session, current_user, data, current=rule)
            if previewing:
                # Read only: nothing is written until the person presses Spara.
                preview = {"sentence": _reach_sentence(rules.rule_reach(db.session, data))}
                if rule is not None:
                    current = rules.rule_data(rule)
                    preview["before"] = _(
                        "Som regeln är nu: %(sentence)s",
                        sentence=_reach_sentence(rules.rule_reach(db.session, current)),
                    )
                    preview["changes"] = _changes(current, data)
                attempt.discard()
            elif rule is None:
                rule, changes = rules.create_rule(db.session, current_user, data)
            else:
                changes = rules.update_rule(db.session, current_user, rule, data)
        if attempt.ok and not previewing:
            flash(_saved_message(changes), "success")
            return redirect(url_for("rules.rule_list"))
    status = 422 if form.errors else 200
    return render_template(
        "rules/form.html",
        form=form,
        rule=rule,
        preview=preview,
        end_form=EndRuleForm() if rule is not None and rules.in_force(rule, today) else None,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def rule_new() -> str | Response | tuple[str, int]:
    return _rule_form(None)


def _rule_or_404(rule_id: int) -> RequirementRule:
    rule = rules.rule_in_scope(db.session, current_user, rule_id)
    if rule is None:
        abort(404)
    return rule


@bp.route("/<int:rule_id>/edit", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def rule_edit(rule_id: int) -> str | Response | tuple[str, int]:
    return _rule_form(_rule_or_404(rule_id))


@bp.route("/<int:rule_id>/end", methods=["POST"])
@role_required(Role.HR, Role.ADMIN)
def rule_end(rule_id: int) -> Response:
    rule = _rule_or_404(rule_id)
    if not EndRuleForm().validate_on_submit():
        abort(400)
    with committing() as attempt:
        changes = rules.end_rule(db.session, current_user, rule)
    if not attempt.ok:
        return redirect(url_for("rules.rule_edit", rule_id=rule_id))
    flash(
        ngettext(
            "Regeln gäller inte längre. %(num)d tilldelning avslutades; genomförda kurser "
            "räknas fortfarande.",
            "Regeln gäller inte längre. %(num)d tilldelningar avslutades; genomförda kurser "
            "räknas fortfarande.",
            changes.closed,
        ),
        "success",
    )
    return redirect(url_for("rules.rule_list"))
