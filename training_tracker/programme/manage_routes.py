"""Routes of the programme for its organisers: their events, a new event, changing one, its
sessions and who signed up."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker.access import role_required
from training_tracker.extensions import db
from training_tracker.fields import required
from training_tracker.models import (
    Course,
    CourseStatus,
    EventFormat,
    Municipality,
    ProgrammeEvent,
    ProgrammeRegistration,
    Provider,
    RegistrationStatus,
    Role,
    Sector,
)
from training_tracker.programme.forms import (
    ConfirmForm,
    EventForm,
    MessageForm,
    NewEventForm,
    SessionForm,
)
from training_tracker.programme.routes import bp
from training_tracker.services.programme import events, listing, signups
from training_tracker.transactions import committing

ORGANISERS = (Role.ORGANISER, Role.ADMIN)

# EventError.field (the service's names) → the form's fields.
FORM_FIELDS = {
    "title": "title",
    "link": "link",
    "place": "place",
    "municipalities": "municipalities",
    "capacity": "capacity",
    "course_id": "course",
    "signup_deadline": "signup_deadline",
    "day": "day",
    "starts": "starts",
    "ends": "ends",
}


@bp.route("/manage/")
@role_required(*ORGANISERS)
def manage_list() -> str:
    organised = events.organised_events(db.session, current_user)
    return render_template(
        "programme/manage_list.html",
        events=organised,
        counts=listing.taken_places(db.session, [event.id for event in organised]),
    )


def _fill_choices(form: EventForm, event: ProgrammeEvent | None) -> None:
    form.municipalities.choices = [
        SelectChoice(str(m.id), m.name)
        for m in db.session.scalars(sa.select(Municipality).order_by(Municipality.name))
    ]
    current = event.course_id if event else None
    courses = db.session.execute(
        sa.select(Course, Provider.name)
        .join(Provider, Provider.id == Course.provider_id)
        .where(sa.or_(Course.status == CourseStatus.ACTIVE, Course.id == current))
        .order_by(Provider.name, Course.title)
    )
    form.course.choices = [SelectChoice("", _("Ingen: en egen punkt"))] + [
        SelectChoice(str(course.id), course.title, optgroup=provider)
        for course, provider in courses
    ]


def _data(form: EventForm) -> events.EventData:
    sessions = []
    if isinstance(form, NewEventForm):
        sessions = [
            events.SessionData(
                required(form.day.data), required(form.starts.data), required(form.ends.data)
            )
        ]
    return events.EventData(
        title=form.title.data or "",
        description=form.description.data or "",
        format=EventFormat(form.format.data),
        link=form.link.data,
        place=form.place.data,
        municipality_ids=[int(value) for value in form.municipalities.data or []],
        sectors=[Sector(value) for value in form.sectors.data or []],
        capacity=required(form.capacity.data),
        signup_deadline=required(form.signup_deadline.data),
        course_id=int(form.course.data) if form.course.data else None,
        requires_approval=bool(form.requires_approval.data),
        campaign=bool(form.campaign.data),
        sessions=sessions,
    )


def _load(form: EventForm, event: ProgrammeEvent) -> None:
    data = events.event_data(event)
    form.title.data = data.title
    form.description.data = data.description
    form.format.data = data.format.value
    form.link.data = data.link
    form.place.data = data.place
    form.municipalities.data = [str(value) for value in data.municipality_ids]
    form.sectors.data = [sector.value for sector in data.sectors]
    form.capacity.data = data.capacity
    form.signup_deadline.data = data.signup_deadline
    form.course.data = str(data.course_id) if data.course_id else ""
    form.requires_approval.data = data.requires_approval
    form.campaign.data = data.campaign


@bp.route("/manage/new", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def event_new() -> str | Response | tuple[str, int]:
    form = NewEventForm()
    _fill_choices(form, None)
    if not form.is_submitted():
        form.municipalities.data = [value for value, *_ in form.municipalities.iter_choices()]
    if form.validate_on_submit():
        with committing(
            form, fields=FORM_FIELDS, fallback="title", errors=events.EventError
        ) as attempt:
            event = events.create_event(db.session, current_user, _data(form))
            event_id = event.id
        if attempt.ok:
            flash(_("Evenemanget är skapat."), "success")
            return redirect(url_for("programme.manage_event", event_id=event_id))
    return render_template("programme/event_form.html", form=form, event=None), (
        422 if form.errors else 200
    )


def _organised_or_404(event_id: int) -> ProgrammeEvent:
    event = events.organised_event(db.session, current_user, event_id)
    if event is None:
        abort(404)
    return event


@bp.route("/manage/<int:event_id>/edit", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def event_edit(event_id: int) -> str | Response | tuple[str, int]:
    event = _organised_or_404(event_id)
    form = EventForm()
    _fill_choices(form, event)
    if not form.is_submitted():
        _load(form, event)
    if form.validate_on_submit():
        with committing(
            form, fields=FORM_FIELDS, fallback="title", errors=events.EventError
        ) as attempt:
            events.update_event(db.session, current_user, event, _data(form))
        if attempt.ok:
            flash(_("Evenemanget är sparat."), "success")
            return redirect(url_for("programme.manage_event", event_id=event_id))
    return render_template("programme/event_form.html", form=form, event=event), (
        422 if form.errors else 200
    )


def _render_manage(
    event: ProgrammeEvent,
    session_form: SessionForm | None = None,
    message_form: MessageForm | None = None,
) -> str:
    registrations = db.session.scalars(
        sa.select(ProgrammeRegistration)
        .where(ProgrammeRegistration.event_id == event.id)
        .order_by(ProgrammeRegistration.registered_at, ProgrammeRegistration.id)
    ).all()
    by_status: dict[RegistrationStatus, list[ProgrammeRegistration]] = {
        status: [] for status in RegistrationStatus
    }
    for registration in registrations:
        by_status[registration.status].append(registration)
    return render_template(
        "programme/manage_event.html",
        event=event,
        session_form=session_form or SessionForm(),
        message_form=message_form or MessageForm(),
        cancel_form=ConfirmForm(),
        taken=len(by_status[RegistrationStatus.CONFIRMED])
        + len(by_status[RegistrationStatus.PENDING]),
        confirmed=by_status[RegistrationStatus.CONFIRMED],
        pending=by_status[RegistrationStatus.PENDING],
        waiting_list=by_status[RegistrationStatus.WAITING],
        cancelled=by_status[RegistrationStatus.CANCELLED],
    )


@bp.route("/manage/<int:event_id>")
@role_required(*ORGANISERS)
def manage_event(event_id: int) -> str:
    return _render_manage(_organised_or_404(event_id))


@bp.route("/manage/<int:event_id>/sessions", methods=["POST"])
@role_required(*ORGANISERS)
def session_add(event_id: int) -> Response | tuple[str, int]:
    event = _organised_or_404(event_id)
    form = SessionForm()
    if form.validate_on_submit():
        with committing(
            form, fields=FORM_FIELDS, fallback="day", errors=events.EventError
        ) as attempt:
            events.add_session(
                db.session,
                current_user,
                event,
                events.SessionData(
                    required(form.day.data), required(form.starts.data), required(form.ends.data)
                ),
            )
        if attempt.ok:
            flash(_("Tillfället är tillagt."), "success")
            return redirect(url_for("programme.manage_event", event_id=event_id))
    return _render_manage(event, form), 422


@bp.route("/manage/<int:event_id>/sessions/<int:session_id>/cancel", methods=["POST"])
@role_required(*ORGANISERS)
def session_cancel(event_id: int, session_id: int) -> Response:
    event = _organised_or_404(event_id)
    one = events.session_of(event, session_id)
    if one is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with committing(errors=events.EventError) as attempt:
        events.cancel_session(db.session, current_user, one)
    if attempt.ok:
        flash(_("Tillfället är inställt."), "success")
    return redirect(url_for("programme.manage_event", event_id=event_id))


@bp.route("/manage/<int:event_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def session_edit(event_id: int, session_id: int) -> str | Response | tuple[str, int]:
    """New times for a session; everyone with a place gets the updated invitation."""
    event = _organised_or_404(event_id)
    one = events.session_of(event, session_id)
    if one is None:
        abort(404)
    form = SessionForm()
    if not form.is_submitted():
        form.day.data, form.starts.data, form.ends.data = events.session_data(one)
    if form.validate_on_submit():
        with committing(
            form, fields=FORM_FIELDS, fallback="day", errors=events.EventError
        ) as attempt:
            events.change_session(
                db.session,
                current_user,
                one,
                events.SessionData(
                    required(form.day.data), required(form.starts.data), required(form.ends.data)
                ),
            )
        if attempt.ok:
            flash(
                _("Tiderna är ändrade. De anmälda får en uppdaterad kalenderinbjudan."), "success"
            )
            return redirect(url_for("programme.manage_event", event_id=event_id))
    return render_template("programme/session_form.html", event=event, one=one, form=form), (
        422 if form.errors else 200
    )


@bp.route("/manage/<int:event_id>/cancel", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def event_cancel(event_id: int) -> str | Response:
    """Cancel the whole event, after a confirmation page saying who will be told."""
    event = _organised_or_404(event_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with committing(errors=events.EventError) as attempt:
            told = events.cancel_event(db.session, current_user, event)
        if attempt.ok:
            flash(
                ngettext(
                    "Evenemanget är inställt. %(num)d anmäld får besked med e-post.",
                    "Evenemanget är inställt. %(num)d anmälda får besked med e-post.",
                    told,
                ),
                "success",
            )
        return redirect(url_for("programme.manage_event", event_id=event_id))
    counts = listing.taken_places(db.session, [event.id]).get(event.id, (0, 0))
    return render_template(
        "programme/cancel_event.html", event=event, form=form, taken=counts[0], waiting=counts[1]
    )


@bp.route("/manage/<int:event_id>/message", methods=["POST"])
@role_required(*ORGANISERS)
def message_everyone(event_id: int) -> Response | tuple[str, int]:
    event = _organised_or_404(event_id)
    form = MessageForm()
    if form.validate_on_submit():
        with committing(form, errors=signups.SignupError, fallback="text") as attempt:
            sent = signups.message_everyone(
                db.session,
                current_user,
                event,
                subject=form.subject.data or "",
                text=form.text.data or "",
            )
        if attempt.ok:
            flash(
                ngettext(
                    "Meddelandet skickas till %(num)d anmäld.",
                    "Meddelandet skickas till %(num)d anmälda.",
                    sent,
                ),
                "success",
            )
            return redirect(url_for("programme.manage_event", event_id=event_id))
    return _render_manage(event, message_form=form), 422
