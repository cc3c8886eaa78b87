"""Routes of the programme as employees and managers use it: the programme by month, the
November campaign, one event, signing up, cancelling and the calendar invitation. Views parse,
call :mod:`training_tracker.services.programme` and render."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker import clock
from training_tracker.downloads import file_download
from training_tracker.extensions import db
from training_tracker.models import Employee, ProgrammeRegistration, RegistrationStatus
from training_tracker.programme.forms import ConfirmForm, DecisionForm, SignupForm
from training_tracker.services.core.scope import team_scope
from training_tracker.services.programme import attendance, calendar, events, listing, signups
from training_tracker.transactions import committing

bp = Blueprint("programme", __name__, url_prefix="/programme")

FIRST_CAMPAIGN_YEAR = 2020  # "En månad fri från våld" began in November 2020


@bp.route("/")
@login_required
def index() -> str:
    return render_template(
        "programme/index.html",
        months=listing.programme(db.session, current_user),
        may_organise=events.may_organise(current_user),
        campaign_year=listing.campaign_year(clock.today()),
    )


@bp.route("/kampanj/<int:year>")
@login_required
def campaign(year: int) -> str:
    if not FIRST_CAMPAIGN_YEAR <= year <= clock.LATEST_DATE.year:
        abort(404)
    return render_template(
        "programme/campaign.html",
        months=listing.campaign(db.session, current_user, year),
        year=year,
    )


def _team(event_id: int) -> tuple[list[Employee], dict[int, ProgrammeRegistration]]:
    """A manager's staff (for signing them up) and their sign-ups for the event."""
    staff = list(
        db.session.scalars(
            sa.select(Employee)
            .where(team_scope(current_user), Employee.active, Employee.id != current_user.id)
            .order_by(Employee.last_name, Employee.first_name)
        )
    )
    registrations = {
        registration.employee_id: registration
        for registration in db.session.scalars(
            sa.select(ProgrammeRegistration).where(
                ProgrammeRegistration.event_id == event_id,
                ProgrammeRegistration.employee_id.in_([person.id for person in staff]),
                ProgrammeRegistration.status != RegistrationStatus.CANCELLED,
            )
        )
    }
    return staff, registrations


def _row_or_404(event_id: int) -> listing.EventRow:
    row = listing.event_row(db.session, current_user, event_id)
    if row is None:
        abort(404)
    return row


@bp.route("/events/<int:event_id>")
@login_required
def event_detail(event_id: int) -> str:
    row = _row_or_404(event_id)
    organises = events.organised_event(db.session, current_user, event_id) is not None
    staff, team_registrations = _team(event_id)
    mine_pending = row.mine is not None and row.mine.status == RegistrationStatus.PENDING
    signup_form = SignupForm()
    signup_form.employee.choices = [SelectChoice("", "")] + [
        SelectChoice(str(person.id), person.full_name)
        for person in staff
        if person.municipality_id in {m.id for m in row.event.municipalities}
        and person.id not in team_registrations
    ]
    return render_template(
        "programme/event.html",
        row=row,
        event=row.event,
        organises=organises,
        attended=attendance.attended_event(db.session, current_user, event_id) is not None,
        show_link=listing.may_see_link(row, organises=organises),
        signup_form=signup_form,
        cancel_form=ConfirmForm(),
        decision_form=DecisionForm(),
        deciding_hr=signups.deciding_hr(db.session, current_user)
        if row.event.requires_approval or mine_pending
        else None,
        staff_signups=[
            (person, team_registrations[person.id])
            for person in staff
            if person.id in team_registrations
        ],
    )


def _person(form: SignupForm | ConfirmForm | DecisionForm) -> Employee:
    """Whom the form is for: the signed-in user, or one of a manager's staff (404 for anyone
    else, so a denial reveals nothing)."""
    wanted = form.employee.data or ""
    if not wanted:
        return current_user._get_current_object()
    if not (wanted.isascii() and wanted.isdigit() and len(wanted) < 10):
        abort(404)
    person = db.session.scalars(
        sa.select(Employee).where(team_scope(current_user), Employee.id == int(wanted))
    ).one_or_none()
    if person is None:
        abort(404)
    return person


@bp.route("/events/<int:event_id>/signup", methods=["POST"])
@login_required
def sign_up(event_id: int) -> Response:
    row = _row_or_404(event_id)
    form = SignupForm()
    if not form.validate_on_submit():
        abort(400)
    if form.staff.data and not form.employee.data:
        flash(_("Välj en medarbetare att anmäla."), "error")
        return redirect(url_for("programme.event_detail", event_id=event_id))
    person = _person(form)
    with committing(form, errors=signups.SignupError) as attempt:
        registration = signups.sign_up(db.session, current_user, row.event, person)
        status = registration.status
        name = person.full_name
        deciding_hr = (
            signups.deciding_hr(db.session, person)
            if status == RegistrationStatus.PENDING
            else None
        )
    if attempt.ok:
        own = person.id == current_user.id
        if status == RegistrationStatus.CONFIRMED:
            message = (
                _("Du har en plats. En bekräftelse med kalenderinbjudan kommer med e-post.")
                if own
                else _("%(name)s har en plats.", name=name)
            )
        elif status == RegistrationStatus.PENDING:
            message = (
                _(
                    "Anmälan väntar på godkännande av HR i %(municipality)s. Platsen är "
                    "reserverad.",
                    municipality=deciding_hr,
                )
                if deciding_hr
                else _("Anmälan väntar på din chefs godkännande. Platsen är reserverad.")
            )
        else:
            message = (
                _(
                    "Evenemanget är fullt. Du står på väntelistan och får e-post om en plats "
                    "blir ledig."
                )
                if own
                else _("Evenemanget är fullt. %(name)s står på väntelistan.", name=name)
            )
        flash(message, "success")
    return redirect(url_for("programme.event_detail", event_id=event_id))


@bp.route("/events/<int:event_id>/cancel", methods=["POST"])
@login_required
def cancel_signup(event_id: int) -> Response:
    _row_or_404(event_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    person = _person(form)
    registration = signups.my_registration(db.session, person, event_id)
    if registration is None or registration.status == RegistrationStatus.CANCELLED:
        abort(404)
    with committing(form, errors=signups.SignupError) as attempt:
        signups.cancel(db.session, current_user, registration)
    if attempt.ok:
        flash(_("Anmälan är avbokad."), "success")
    return redirect(url_for("programme.event_detail", event_id=event_id))


@bp.route("/events/<int:event_id>/decide", methods=["POST"])
@login_required
def decide(event_id: int) -> Response:
    """A manager approves or declines a sign-up of their staff awaiting approval."""
    _row_or_404(event_id)
    form = DecisionForm()
    if not form.validate_on_submit() or not form.employee.data:
        abort(400)
    person = _person(form)
    registration = signups.my_registration(db.session, person, event_id)
    if registration is None:
        abort(404)
    approve = form.decision.data == "approve"
    with committing(form, errors=signups.SignupError) as attempt:
        signups.decide(db.session, current_user, registration, approve=approve)
        name = person.full_name
    if attempt.ok:
        flash(_decided(name, approve=approve), "success")
    return redirect(url_for("programme.event_detail", event_id=event_id))


def _decided(name: str, *, approve: bool) -> str:
    """What an approver is told once their decision on ``name``'s sign-up is saved."""
    if approve:
        return _("%(name)s har en plats.", name=name)
    return _("Anmälan för %(name)s är inte godkänd.", name=name)


@bp.route("/approvals/<int:registration_id>", methods=["GET", "POST"])
@login_required
def approval(registration_id: int) -> str | Response | tuple[str, int]:
    """The page an approver's mail links to: a sign-up awaiting approval, to approve or
    decline (or its state, once decided). 404 for anyone but the person's approvers (their
    managers, or HR of their municipality when they have none)."""
    registration = signups.awaiting_decision(db.session, current_user, registration_id)
    if registration is None:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        approve = form.decision.data == "approve"
        with committing(form, errors=signups.SignupError, fallback="decision") as attempt:
            signups.decide(db.session, current_user, registration, approve=approve)
            name = registration.employee.full_name
        if attempt.ok:
            flash(_decided(name, approve=approve), "success")
            return redirect(url_for("programme.approval", registration_id=registration_id))
    return render_template(
        "programme/approval.html",
        registration=registration,
        event=registration.event,
        form=form,
        pending=registration.status == RegistrationStatus.PENDING,
        deciding_hr=signups.deciding_hr(db.session, registration.employee),
    ), (422 if form.errors else 200)


@bp.route("/events/<int:event_id>/calendar.ics")
@login_required
def calendar_file(event_id: int) -> Response:
    """The invitation as it stands for the signed-in user: only with a place (or awaiting
    approval), or cancelled (so a calendar can remove it)."""
    row = _row_or_404(event_id)
    registration = signups.my_registration(db.session, current_user, event_id)
    if registration is None or registration.status == RegistrationStatus.WAITING:
        abort(404)
    link = (
        row.event.link
        if listing.may_see_link(row, organises=False)
        and registration.status == RegistrationStatus.CONFIRMED
        else None
    )
    body = calendar.invitation(
        row.event,
        registration,
        link=link,
        url=url_for("programme.event_detail", event_id=event_id, _external=True),
    )
    return file_download(body, f"evenemang-{event_id}.ics", "ics")
