"""Report a completed course with its certificate; see, replace or withdraw one's own report.

A certificate file is stored before its row is written. Whatever goes wrong after that (the
report is refused, the transaction fails) removes the file again, so there is never a file
without its row; files replaced by a new certificate are removed only after the commit.
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import BinaryIO, cast

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker import clock
from training_tracker.courses.forms import (
    CERTIFICATE_HINT,
    CERTIFICATE_MISSING,
    NO_CERTIFICATE_HINT,
    SUBMISSION_KEY,
    CorrectDateForm,
    ReplaceCertificateForm,
    ReportForm,
    WithdrawForm,
)
from training_tracker.extensions import db
from training_tracker.fields import required
from training_tracker.models import (
    Completion,
    CompletionStatus,
    Course,
)
from training_tracker.ratelimit import uploads_limit
from training_tracker.services.core.titles import course_title
from training_tracker.services.training.completions import (
    ReportData,
    correct_completed_on,
    own_completion,
    replace_certificate,
    report_completion,
    reportable_courses,
    withdraw_completion,
)
from training_tracker.services.training.evidence import (
    EvidenceError,
    StoredFile,
    remove_file,
    store_file,
)
from training_tracker.transactions import committing

bp = Blueprint("courses", __name__, url_prefix="/my")


def _upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _store(upload: FileStorage) -> StoredFile:
    return store_file(
        cast(BinaryIO, upload.stream),  # Werkzeug types the stream as IO[bytes]
        filename=upload.filename or "",
        folder=_upload_folder(),
        max_bytes=current_app.config["EVIDENCE_MAX_BYTES"],
    )


def _course_choices(required: list[Course], others: list[Course]) -> list[SelectChoice]:
    """Active courses, the ones the employee is required to take first. Each option carries
    what app.js needs to adapt the form: the earliest possible date, whether a certificate is
    issued."""

    def choice(course: Course, group: str) -> SelectChoice:
        render_kw: dict[str, str] = {}
        if course.available_from is not None:
            render_kw["data-available-from"] = course.available_from.date().isoformat()
        if not course.issues_certificate:
            render_kw["data-certificate"] = "none"
        return SelectChoice(
            str(course.id), course_title(course), render_kw=render_kw, optgroup=group
        )

    mine = _("Dina obligatoriska kurser")
    other = _("Andra kurser")
    choices = [SelectChoice("", _("Välj kurs"))]
    choices += [choice(c, mine) for c in required]
    choices += [choice(c, other) for c in others]
    return choices


def _chosen_course(form: ReportForm, courses: list[Course]) -> Course | None:
    """The course chosen in the form (or the link's ``?course=``), if it can be reported."""
    chosen = str(form.course_id.data or "")
    return next((c for c in courses if str(c.id) == chosen), None)


def _has_file(upload: object) -> bool:
    return isinstance(upload, FileStorage) and bool(upload)


def _adapt_to_course(form: ReportForm, course: Course | None, today: date) -> None:
    """The date picker starts where the course began; the hint says whether a certificate is
    needed. The select tells app.js where to do the same when another course is chosen."""
    form.course_id.render_kw = {
        "data-course-select": True,
        "data-date-input": form.completed_on.id,
        "data-certificate-hint": f"{form.certificate.id}-hint",
        "data-hint-certificate": str(CERTIFICATE_HINT),
        "data-hint-no-certificate": str(NO_CERTIFICATE_HINT),
    }
    form.completed_on.render_kw = _date_limits(course, today)
    if course is not None and not course.issues_certificate:
        form.certificate.description = NO_CERTIFICATE_HINT


def _date_limits(course: Course | None, today: date) -> dict[str, str]:
    """The date picker's range: from the day the course began, up to today."""
    limits = {"max": today.isoformat()}
    if course is not None and course.available_from is not None:
        limits["min"] = course.available_from.date().isoformat()
    return limits


@bp.route("/report", methods=["GET", "POST"])
@uploads_limit
@login_required
def report() -> str | Response | tuple[str, int]:
    if current_user.municipality_id is None:
        abort(403)  # a system account reports nothing of its own
    today = clock.today()
    required, others = reportable_courses(db.session, current_user)
    form = ReportForm()
    form.course_id.choices = _course_choices(required, others)
    if not form.is_submitted():
        # The date starts empty: the person chooses the day they completed the course.
        form.course_id.data = request.args.get("course", "")
    course = _chosen_course(form, required + others)
    _adapt_to_course(form, course, today)
    if not SUBMISSION_KEY.match(form.submission_key.data or ""):
        form.submission_key.data = secrets.token_urlsafe(24)
    if form.is_submitted():
        valid = form.validate()
        # A course that issues a certificate needs its file; one that issues none does not.
        needs_file = course is not None and course.issues_certificate
        if needs_file and not _has_file(form.certificate.data):
            form.certificate.errors.append(str(CERTIFICATE_MISSING))
            valid = False
        if valid:
            completion = _submit_report(form, today)
            if completion is not None:
                flash(_("Tack! Din rapport väntar på att godkännas."), "success")
                return redirect(url_for("courses.completion", completion_id=completion.id))
    return render_template("courses/report.html", form=form), 422 if form.errors else 200


def _submit_report(form: ReportForm, today: date) -> Completion | None:
    """Store the file, if any, and record the report; None, with the error on its field, if
    refused."""
    stored = None
    if _has_file(form.certificate.data):
        try:
            stored = _store(form.certificate.data)
        except EvidenceError as error:
            form.certificate.errors.append(str(error))
            return None
    data = ReportData(
        course_id=int(form.course_id.data),
        completed_on=required(form.completed_on.data),
        note=form.note.data or "",
        submission_key=form.submission_key.data,
    )
    with committing(form, fallback="course_id", undo=lambda: _remove(stored)) as attempt:
        result = report_completion(
            db.session,
            employee=current_user,
            data=data,
            stored=stored,
            actor=current_user,
            today=today,
        )
        if not result.created and stored is not None:  # the same form sent twice
            remove_file(_upload_folder(), stored.storage_name)
    return result.completion if attempt.ok else None


def _remove(stored: StoredFile | None) -> None:
    if stored is not None:
        remove_file(_upload_folder(), stored.storage_name)


def _own_completion_or_404(completion_id: int) -> Completion:
    completion = own_completion(db.session, current_user, completion_id)
    if completion is None:
        abort(404)  # someone else's or no such report: the answer reveals nothing
    return completion


def _completion_page(
    completion: Completion,
    replace_form: ReplaceCertificateForm | None = None,
    date_form: CorrectDateForm | None = None,
) -> tuple[str, int]:
    replace_form = replace_form or ReplaceCertificateForm(formdata=None)
    if date_form is None:
        date_form = CorrectDateForm(formdata=None, data={"completed_on": completion.completed_on})
    date_form.completed_on.render_kw = _date_limits(completion.course, clock.today())
    page = render_template(
        "courses/completion.html",
        completion=completion,
        awaiting=completion.status == CompletionStatus.REPORTED,
        replace_form=replace_form,
        date_form=date_form,
    )
    return page, 422 if replace_form.errors or date_form.errors else 200


@bp.route("/completions/<int:completion_id>")
@login_required
def completion(completion_id: int) -> tuple[str, int]:
    return _completion_page(_own_completion_or_404(completion_id))


@bp.route(
    "/completions/<int:completion_id>/certificate",
    methods=["POST"],
    endpoint="replace_certificate",
)
@uploads_limit
@login_required
def replace_certificate_view(completion_id: int) -> Response | tuple[str, int]:
    completion = _own_completion_or_404(completion_id)
    form = ReplaceCertificateForm()
    if not form.validate_on_submit():
        return _completion_page(completion, form)
    try:
        stored = _store(form.certificate.data)
    except EvidenceError as error:
        form.certificate.errors.append(str(error))
        return _completion_page(completion, form)
    with committing(undo=lambda: _remove(stored)) as attempt:
        replaced = replace_certificate(db.session, completion, stored, actor=current_user)
    if not attempt.ok:
        return redirect(url_for("courses.completion", completion_id=completion_id))
    for storage_name in replaced:
        remove_file(_upload_folder(), storage_name)
    flash(_("Intyget är bytt. Rapporten väntar på att godkännas."), "success")
    return redirect(url_for("courses.completion", completion_id=completion_id))


@bp.route("/completions/<int:completion_id>/date", methods=["POST"], endpoint="correct_date")
@login_required
def correct_date(completion_id: int) -> Response | tuple[str, int]:
    """The owner corrects the completion date while the report awaits verification."""
    completion = _own_completion_or_404(completion_id)
    form = CorrectDateForm()
    completed_on = form.completed_on.data if form.validate_on_submit() else None
    if completed_on is None and completion.status == CompletionStatus.REPORTED:
        return _completion_page(completion, date_form=form)
    # A date the service refuses goes on the field; a reviewed report is flashed.
    with committing(form, fields={"completed_on": "completed_on"}) as attempt:
        changed = correct_completed_on(
            db.session, completion, completed_on or completion.completed_on, actor=current_user
        )
    if form.errors:
        return _completion_page(completion, date_form=form)
    if attempt.ok:
        flash(
            _("Datumet är ändrat. Rapporten väntar på att godkännas.")
            if changed
            else _("Datumet var redan det. Inget ändrades."),
            "success",
        )
    return redirect(url_for("courses.completion", completion_id=completion_id))


@bp.route("/completions/<int:completion_id>/withdraw", methods=["GET"], endpoint="confirm_withdraw")
@login_required
def confirm_withdraw(completion_id: int) -> Response | str:
    """Ask before withdrawing: what will happen, and the form that does it."""
    completion = _own_completion_or_404(completion_id)
    if completion.status != CompletionStatus.REPORTED:
        flash(_("Rapporten är redan granskad och kan inte återkallas."), "error")
        return redirect(url_for("courses.completion", completion_id=completion_id))
    return render_template(
        "courses/confirm_withdraw.html", completion=completion, form=WithdrawForm(formdata=None)
    )


@bp.route("/completions/<int:completion_id>/withdraw", methods=["POST"])
@login_required
def withdraw(completion_id: int) -> Response:
    completion = _own_completion_or_404(completion_id)
    if WithdrawForm().validate_on_submit():
        with committing() as attempt:
            withdraw_completion(db.session, completion, actor=current_user)
        if attempt.ok:
            flash(_("Rapporten är återkallad."), "success")
    return redirect(url_for("courses.completion", completion_id=completion_id))
