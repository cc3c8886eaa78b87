"""Routes; see the package docstring. Reports and certificates are loaded through the
reviewer's scope: what lies outside it answers 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from training_tracker.access import role_required
from training_tracker.extensions import db
from training_tracker.models import Completion, CompletionStatus, Role
from training_tracker.services.core.titles import course_title
from training_tracker.services.training import verification
from training_tracker.services.training.evidence import EvidenceError, download_name, path_of
from training_tracker.services.training.verification import QueueFilters
from training_tracker.transactions import committing
from training_tracker.verification.forms import (
    BulkVerifyForm,
    RejectForm,
    VerifyForm,
    positive_id,
)

bp = Blueprint("verification", __name__)

REVIEWERS = (Role.MANAGER, Role.HR, Role.ADMIN)
NAMES_SHOWN = 5  # reports named in a message; the queue lists the rest


def _positive_int(args: MultiDict[str, str], name: str) -> int | None:
    return positive_id(args.get(name))


def queue_filters(args: MultiDict[str, str]) -> QueueFilters:
    """The queue's filters from the URL; anything malformed is ignored, never an error."""
    return QueueFilters(
        course_id=_positive_int(args, "course"),
        unit_id=_positive_int(args, "unit"),
        page=_positive_int(args, "page") or 1,
    )


@bp.route("/verify/")
@role_required(*REVIEWERS)
def queue() -> str:
    filters = queue_filters(request.args)
    page = verification.verification_queue(
        db.session,
        current_user,
        filters,
        per_page=current_app.config["VERIFICATION_PER_PAGE"],
    )
    return render_template(
        "verification/queue.html",
        page=page,
        filters=filters,
        bulk_form=BulkVerifyForm(formdata=None),
    )


@bp.route("/verify/bulk", methods=["POST"])
@role_required(*REVIEWERS)
def bulk_verify() -> Response:
    form = BulkVerifyForm()
    back = redirect(url_for("verification.queue", **_filter_args()))
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(" ".join(str(error) for error in errors), "error")
        return back
    with committing() as attempt:
        result = verification.verify_selected(
            db.session, form.completion_ids.data or [], actor=current_user
        )
    if not attempt.ok:
        return back
    for category, message in bulk_messages(result):
        flash(message, category)
    return back


def bulk_messages(result: verification.BulkVerification) -> list[tuple[str, str]]:
    """What bulk approval did, in words: how many were approved, and which were left waiting
    and why."""
    messages: list[tuple[str, str]] = []
    if result.verified or not result.without_certificate:
        approved = len(result.verified)
        messages.append(
            (
                "success",
                ngettext("%(num)d rapport godkänd.", "%(num)d rapporter godkända.", approved),
            )
        )
    if result.without_certificate:
        names = ", ".join(
            f"{completion.employee.full_name} ({course_title(completion.course)})"
            for completion in result.without_certificate[:NAMES_SHOWN]
        )
        if len(result.without_certificate) > NAMES_SHOWN:
            names += " …"
        messages.append(
            (
                "error",
                ngettext(
                    "%(num)d rapport godkändes inte, eftersom intyget saknas fast kursen ger "
                    "ett: %(names)s. Öppna rapporten och avgör den för sig.",
                    "%(num)d rapporter godkändes inte, eftersom intyget saknas fast kursen ger "
                    "ett: %(names)s. Öppna rapporterna och avgör dem en och en.",
                    len(result.without_certificate),
                    names=names,
                ),
            )
        )
    if result.already_reviewed:
        messages.append(
            (
                "info",
                ngettext(
                    "%(num)d rapport var redan granskad av någon annan.",
                    "%(num)d rapporter var redan granskade av någon annan.",
                    result.already_reviewed,
                ),
            )
        )
    return messages


def _filter_args() -> dict[str, Any]:
    """The queue's filters, carried through a POST so the reviewer returns to the same view."""
    filters = queue_filters(request.form)
    return {
        name: value
        for name, value in (("course", filters.course_id), ("unit", filters.unit_id))
        if value is not None
    }


def _reviewable_or_404(completion_id: int) -> Completion:
    completion = verification.reviewable_completion(db.session, current_user, completion_id)
    if completion is None:
        abort(404)  # outside the reviewer's scope, their own, or no such report
    return completion


def _review_page(completion: Completion, reject_form: RejectForm | None = None) -> tuple[str, int]:
    reject_form = reject_form or RejectForm(formdata=None)
    page = render_template(
        "verification/review.html",
        completion=completion,
        reading=verification.reading_of(completion),
        awaiting=completion.status == CompletionStatus.REPORTED,
        verify_form=VerifyForm(formdata=None),
        reject_form=reject_form,
    )
    return page, 422 if reject_form.errors else 200


@bp.route("/verify/<int:completion_id>")
@role_required(*REVIEWERS)
def review(completion_id: int) -> tuple[str, int]:
    return _review_page(_reviewable_or_404(completion_id))


@bp.route("/verify/<int:completion_id>/verify", methods=["POST"])
@role_required(*REVIEWERS)
def verify(completion_id: int) -> Response:
    completion = _reviewable_or_404(completion_id)
    if VerifyForm().validate_on_submit():
        name = completion.employee.full_name
        with committing() as attempt:
            verification.verify_completion(db.session, completion, actor=current_user)
        if not attempt.ok:
            return redirect(url_for("verification.review", completion_id=completion_id))
        flash(_("Rapporten från %(name)s är godkänd.", name=name), "success")
    return redirect(url_for("verification.queue"))


@bp.route("/verify/<int:completion_id>/reject", methods=["POST"])
@role_required(*REVIEWERS)
def reject(completion_id: int) -> Response | tuple[str, int]:
    completion = _reviewable_or_404(completion_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _review_page(completion, form)
    name = completion.employee.full_name
    # A refused reason is shown on the form; any other refusal is flashed.
    with committing(form) as attempt:
        verification.reject_completion(
            db.session, completion, actor=current_user, reason=form.reason.data or ""
        )
    if form.errors:
        return _review_page(_reviewable_or_404(completion_id), form)
    if not attempt.ok:
        return redirect(url_for("verification.review", completion_id=completion_id))
    flash(
        _("Rapporten från %(name)s är avvisad. Hen får ett mejl med skälet.", name=name),
        "success",
    )
    return redirect(url_for("verification.queue"))


@bp.route("/evidence/<int:evidence_id>")
@login_required
def evidence_file(evidence_id: int) -> Response:
    """The certificate itself, to the employee, their manager, their HR and admins only."""
    evidence = verification.evidence_in_scope(db.session, current_user, evidence_id)
    if evidence is None:
        abort(404)
    try:
        path = path_of(Path(current_app.config["UPLOAD_FOLDER"]), evidence.storage_name)
    except EvidenceError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=evidence.content_type,
        as_attachment=request.args.get("download") == "1",
        download_name=download_name(evidence.original_filename, evidence.content_type),
        max_age=0,
        conditional=False,
        etag=False,
    )
    # The review page shows the file inline; nothing else may frame it, and the browser must
    # not guess another type than the one its content proved. Unlike the pages, the file's
    # own policy allows object-src 'self': Chromium's PDF viewer is a plugin of the PDF
    # document and would refuse to show it otherwise; default-src 'none' still runs nothing.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        "object-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
