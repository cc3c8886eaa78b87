"""Upload an HR-system export, read the preview, confirm: nothing is written before that."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.downloads import file_download
from training_tracker.extensions import db
from training_tracker.imports.forms import (
    DiscardForm,
    UploadForm,
    confirm_form,
    label_sectors,
    posted_tokens,
    sector_fields,
)
from training_tracker.models import ImportBatch, ImportStatus, Role
from training_tracker.ratelimit import uploads_limit
from training_tracker.services.core.bounded_reading import Limits
from training_tracker.services.core.spreadsheets import export_filename, to_csv, to_xlsx
from training_tracker.services.imports import batches, rejected
from training_tracker.services.imports.plan import UnknownUnits
from training_tracker.services.imports.preview import (
    describe_changes,
    describe_creations,
    describe_kept,
    file_format,
    rejection_counts,
)
from training_tracker.services.imports.table import ImportFileError
from training_tracker.services.people.units import municipalities_of
from training_tracker.transactions import committing

bp = Blueprint("imports", __name__, url_prefix="/employees/import")

# A preview lists at most this many rows of each kind; the counts are always complete.
PREVIEW_LIMIT = 500


def _upload_form() -> UploadForm:
    form = UploadForm()
    municipalities = municipalities_of(db.session, current_user)
    choices = [SelectChoice(str(m.id), m.name) for m in municipalities]
    if current_user.has_role(Role.ADMIN):
        choices.insert(0, SelectChoice("", _("Ingen: varje rad anger sin kommun")))
    form.municipality.choices = choices
    if form.municipality.data is None and choices:
        form.municipality.data = choices[0].value  # HR of one municipality: that one
    return form


@bp.route("/", methods=["GET", "POST"])
@uploads_limit
@role_required(Role.HR, Role.ADMIN)
def upload() -> str | Response | tuple[str, int]:
    form = _upload_form()
    if form.validate_on_submit():
        data = form.file.data.read()
        with committing(form, errors=ImportFileError, fallback="file") as attempt:
            batch = batches.receive_upload(
                db.session,
                data=data,
                filename=form.file.data.filename or "",
                user=current_user,
                municipality_id=int(form.municipality.data) if form.municipality.data else None,
                max_bytes=current_app.config["IMPORT_MAX_BYTES"],
                max_rows=current_app.config["IMPORT_MAX_ROWS"],
                limits=Limits.from_config(current_app.config, "IMPORT_READ"),
            )
        if attempt.ok:
            return redirect(url_for("imports.preview", batch_id=batch.id))
    return render_template("imports/upload.html", form=form), 422 if form.errors else 200


def _policy(value: str | None) -> UnknownUnits:
    """The chosen handling of unknown units; a value that is not one of the choices (a
    forged or stale form) previews with the default, which writes nothing new."""
    try:
        return UnknownUnits(value or UnknownUnits.REJECT)
    except ValueError:
        return UnknownUnits.REJECT


def _batch_or_404(batch_id: int) -> ImportBatch:
    batch = batches.batch_in_scope(db.session, current_user, batch_id)
    if batch is None:
        abort(404)
    return batch


@bp.route("/<int:batch_id>", methods=["GET", "POST"])
@role_required(Role.HR, Role.ADMIN)
def preview(batch_id: int) -> Response | tuple[str, int]:
    batch = _batch_or_404(batch_id)
    if batch.status != ImportStatus.PREVIEWED:
        flash(_("Den här filen är redan importerad eller avbruten."), "info")
        return redirect(url_for("imports.result", batch_id=batch.id))
    form = confirm_form(tokens=posted_tokens(request.form.keys()))
    confirming = form.validate_on_submit() and form.submit.data
    policy = _policy(form.unknown_units.data)
    sectors = {
        token: sector
        for token, field in sector_fields(form).items()
        if (sector := field.chosen()) is not None
    }
    if confirming:
        with committing(form, errors=(ImportFileError, batches.MissingSectors)) as attempt:
            result = batches.confirm_batch(
                db.session,
                batch,
                user=current_user,
                unknown_units=policy,
                invite=form.invite.data,
                unit_sectors=sectors,
            )
            if result is None:  # imported meanwhile, in another tab or by a colleague
                attempt.discard()
        if isinstance(attempt.error, ImportFileError):
            return redirect(url_for("imports.upload"))
        if attempt.ok:
            if result is None:
                flash(_("Filen importerades redan, i en annan flik eller av en kollega."), "info")
            else:
                flash(_("Importen är klar."), "success")
            return redirect(url_for("imports.result", batch_id=batch.id))
    try:
        plan = batches.plan_batch(
            db.session, batch, user=current_user, unknown_units=policy, unit_sectors=sectors
        )
    except ImportFileError as error:
        flash(str(error), "error")
        return redirect(url_for("imports.upload"))
    if not form.is_submitted():
        form = confirm_form(tokens=[unit.token for unit in plan.new_units])
    label_sectors(form, plan.new_units)
    return render_template(
        "imports/preview.html",
        batch=batch,
        plan=plan,
        form=form,
        sector_fields=sector_fields(form),
        discard_form=DiscardForm(),
        limit=PREVIEW_LIMIT,
        policy=policy,
        reasons=rejection_counts(plan).most_common(),
        file_format=file_format(plan.parsed),
        creations=describe_creations(db.session, plan, limit=PREVIEW_LIMIT),
        changes=describe_changes(db.session, plan, limit=PREVIEW_LIMIT),
        kept=describe_kept(db.session, plan, limit=PREVIEW_LIMIT),
    ), 422 if form.errors else 200


@bp.route("/<int:batch_id>/result")
@role_required(Role.HR, Role.ADMIN)
def result(batch_id: int) -> str:
    batch = _batch_or_404(batch_id)
    return render_template(
        "imports/result.html",
        batch=batch,
        rejected_download=rejected.has_rejected_rows(batch),
        rejections=rejected.rejections(batch)[:PREVIEW_LIMIT],
        rejected_xlsx=rejected.was_xlsx(batch),
    )


def _rejected_download(batch_id: int, file_format: str) -> Response:
    batch = _batch_or_404(batch_id)
    try:
        sheet = rejected.rejected_rows(batch)
    except ImportFileError:
        abort(404)
    if file_format == "xlsx" and not rejected.was_xlsx(batch):
        abort(404)
    body = to_csv(sheet) if file_format == "csv" else to_xlsx([sheet], title=sheet.title)
    stem = _("avvisade rader") + " " + batch.filename.rsplit(".", 1)[0]
    return file_download(body, export_filename(stem, clock.today(), file_format), file_format)


@bp.route("/<int:batch_id>/rejected.csv")
@role_required(Role.HR, Role.ADMIN)
def rejected_csv(batch_id: int) -> Response:
    return _rejected_download(batch_id, "csv")


@bp.route("/<int:batch_id>/rejected.xlsx")
@role_required(Role.HR, Role.ADMIN)
def rejected_xlsx(batch_id: int) -> Response:
    return _rejected_download(batch_id, "xlsx")


@bp.route("/<int:batch_id>/discard", methods=["POST"])
@role_required(Role.HR, Role.ADMIN)
def discard(batch_id: int) -> Response:
    batch = _batch_or_404(batch_id)
    if DiscardForm().validate_on_submit() and batch.status == ImportStatus.PREVIEWED:
        batches.discard_batch(db.session, batch, actor=current_user)
        db.session.commit()
        flash(_("Importen är avbruten. Filen är borttagen och inget har ändrats."), "success")
    return redirect(url_for("imports.upload"))
