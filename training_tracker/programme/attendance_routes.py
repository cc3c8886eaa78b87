"""Routes of the programme for attendance: the organiser's list of a session (tick, select
all, or paste addresses; the check-in code to show), and attendees checking in themselves."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.downloads import file_download
from training_tracker.extensions import db
from training_tracker.models import ProgrammeEvent, ProgrammeSession
from training_tracker.programme.forms import AttendanceForm, CheckInForm
from training_tracker.programme.manage_routes import ORGANISERS
from training_tracker.programme.routes import bp
from training_tracker.services.programme import attendance, events
from training_tracker.services.programme.certificate import certificate_pdf
from training_tracker.transactions import committing


def _session_or_404(event_id: int, session_id: int) -> tuple[ProgrammeEvent, ProgrammeSession]:
    event = events.organised_event(db.session, current_user, event_id)
    one = events.session_of(event, session_id) if event is not None else None
    if event is None or one is None:
        abort(404)
    return event, one


def _ids(values: list[str] | None) -> list[int]:
    ids = []
    for value in values or []:
        if not (value.isascii() and value.isdigit() and len(value) < 10):
            abort(400)
        ids.append(int(value))
    return ids


@bp.route("/manage/<int:event_id>/sessions/<int:session_id>/attendance", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def attendance_list(event_id: int, session_id: int) -> str | Response | tuple[str, int]:
    event, one = _session_or_404(event_id, session_id)
    form = AttendanceForm()
    if form.validate_on_submit():
        with committing(form, errors=attendance.AttendanceError, fallback="emails") as attempt:
            result = attendance.take_attendance(
                db.session,
                current_user,
                one,
                employee_ids=_ids(form.employees.data),
                everyone=bool(form.everyone.data),
                emails=form.emails.data or "",
            )
            recorded, already = len(result.recorded), len(result.already)
        if attempt.ok:
            flash(
                ngettext(
                    "%(num)d närvaro registrerad.", "%(num)d närvarande registrerade.", recorded
                )
                + (
                    " "
                    + ngettext(
                        "%(num)d var redan registrerad.",
                        "%(num)d var redan registrerade.",
                        already,
                    )
                    if already
                    else ""
                ),
                "success",
            )
            return redirect(
                url_for("programme.attendance_list", event_id=event_id, session_id=session_id)
            )
    now = clock.utcnow()
    return render_template(
        "programme/attendance.html",
        event=event,
        one=one,
        form=form,
        people=attendance.confirmed(db.session, event),
        present=attendance.attended_ids(db.session, one),
        running=one.starts_at <= now <= one.ends_at,
    ), (422 if form.errors else 200)


@bp.route("/checkin", methods=["GET", "POST"])
@login_required
def check_in() -> str | Response | tuple[str, int]:
    form = CheckInForm()
    if form.validate_on_submit():
        with committing(form, errors=attendance.AttendanceError, fallback="code") as attempt:
            one = attendance.check_in(db.session, current_user, form.code.data or "")
            title, event_id = one.event.title, one.event_id
        if attempt.ok:
            flash(_("Du är incheckad på %(title)s.", title=title), "success")
            return redirect(url_for("programme.event_detail", event_id=event_id))
    return render_template("programme/checkin.html", form=form), (422 if form.errors else 200)


@bp.route("/events/<int:event_id>/certificate.pdf")
@login_required
def certificate(event_id: int) -> Response:
    """The attendance certificate: for those who attended a session, and the organisers."""
    event = events.organised_event(db.session, current_user, event_id)
    if event is None:
        event = attendance.attended_event(db.session, current_user, event_id)
    if event is None:
        abort(404)
    return file_download(certificate_pdf(event), f"intyg-evenemang-{event_id}.pdf", "pdf")
