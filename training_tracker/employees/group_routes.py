"""Routes of the employees blueprint for recording a course a group completed (a
classroom course, a workplace day): the pick list of attendees and the record form."""

from __future__ import annotations

import secrets
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.employees.choices import (
    course_choices,
    keep_in_scope,
    user_municipalities,
    user_units,
)
from training_tracker.employees.forms import SUBMISSION_KEY, GroupCompletionForm, employee_query
from training_tracker.employees.routes import bp
from training_tracker.extensions import db
from training_tracker.fields import required
from training_tracker.models import Role
from training_tracker.services.core.dates import shown_date
from training_tracker.services.core.titles import course_title
from training_tracker.services.people.employee_list import EmployeeQuery
from training_tracker.services.training import group_records
from training_tracker.transactions import committing

# Which form field a service error belongs to.
_GROUP_FIELDS = {
    "course_id": "course",
    "completed_on": "completed_on",
    "note": "note",
    "employee_ids": "employees",
    "identifiers": "identifiers",
}


def _pick_args(query: EmployeeQuery, **changes: Any) -> dict[str, Any]:
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
    municipality_list = user_municipalities()
    unit_list = user_units(municipality_list)
    keep_in_scope(query, municipality_list, unit_list)

    form = GroupCompletionForm()
    form.course.choices = course_choices()
    form.completed_on.render_kw = {"autocomplete": "off", "max": today.isoformat()}
    if not form.is_submitted():
        form.completed_on.data = today
    if not SUBMISSION_KEY.match(form.submission_key.data or ""):
        form.submission_key.data = secrets.token_urlsafe(24)

    # "Bocka i alla som visas" / "Ta bort bockarna" without JS: the page again, the list
    # ticked or not, the rest of the form as filled in; nothing is recorded.
    picking = request.method == "POST" and request.form.get("pick") in {"shown", "none"}
    if not picking and form.validate_on_submit():
        with committing(form, fields=_GROUP_FIELDS, fallback="employees") as attempt:
            result = group_records.record_group_completion(
                db.session,
                actor=current_user,
                course_id=int(form.course.data),
                completed_on=required(form.completed_on.data),
                employee_ids=form.employees.data or [],
                note=form.note.data or "",
                identifiers=group_records.parse_attendance_list(form.identifiers.data or ""),
                submission_key=form.submission_key.data,
                today=today,
            )
            recorded, own = len(result.recorded), bool(result.awaiting_review)
            skipped = group_records.name_list(result.already_recorded)
            skipped_count = len(result.already_recorded)
            title, day = course_title(result.course), shown_date(result.completed_on)
        if attempt.ok:
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
    if picking and request.form.get("pick") == "shown":
        selected = set(form.employees.data or []) | {p.id for p in candidates.employees}
    elif picking:
        selected = set()
    elif form.is_submitted():
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
