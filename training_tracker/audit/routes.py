"""Routes; see the package docstring. Every event comes through ``audit_event_scope`` (via
``services.audit_log``): what lies outside the reader's scope is neither shown, counted nor
offered as a filter."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker import clock
from training_tracker.access import role_required
from training_tracker.audit.forms import AuditFilterForm, audit_query, filter_form, page_args
from training_tracker.downloads import file_download
from training_tracker.extensions import db
from training_tracker.models import Role
from training_tracker.services.compliance import audit_log
from training_tracker.services.compliance.audit_log import AuditChoices
from training_tracker.services.core.spreadsheets import export_filename, to_csv, to_xlsx

bp = Blueprint("audit", __name__, url_prefix="/audit")

READERS = (Role.HR, Role.ADMIN)


def _fill_choices(form: AuditFilterForm, available: AuditChoices) -> None:
    form.action.choices = [SelectChoice("", _("Alla händelser"))] + [
        SelectChoice(action, label) for action, label in available.actions
    ]
    form.municipality.choices = [SelectChoice("", _("Alla kommuner"))] + [
        SelectChoice(str(m.id), m.name) for m in available.municipalities
    ]


@bp.route("/")
@role_required(*READERS)
def event_list() -> str:
    form = filter_form(request.args)
    page = audit_log.search_audit_log(db.session, current_user, audit_query(form, request.args))
    query = page.query
    _fill_choices(form, page.choices)
    # The form shows what is applied: a choice that was dropped reads "all".
    form.action.data = query.action or ""
    form.municipality.data = str(query.municipality_id or "")

    def list_url(**changes: Any) -> str:
        return url_for("audit.event_list", **page_args(query, **changes))

    return render_template(
        "audit/list.html",
        form=form,
        page=page,
        query=query,
        list_url=list_url,
        filter_args=query.filter_args(),
        several_municipalities=len(page.choices.municipalities) > 1,
        municipality_name=(
            page.choices.municipalities[0].name if len(page.choices.municipalities) == 1 else ""
        ),
        limits=audit_log.EXPORT_LIMITS,
        smallest_limit=min(audit_log.EXPORT_LIMITS.values()),
    )


def _export(file_format: str) -> Response:
    form = filter_form(request.args)
    export = audit_log.export_audit_log(
        db.session, current_user, audit_query(form, request.args), file_format=file_format
    )
    if file_format == "csv":
        body = to_csv(export.sheet)
    else:
        body = to_xlsx([export.sheet], title=_("Händelselogg"))
    audit_log.record_export(db.session, current_user, export, file_format)
    db.session.commit()
    filename = export_filename(_("logg"), clock.today(), file_format)
    return file_download(body, filename, file_format)


@bp.route("/events.csv")
@role_required(*READERS)
def events_csv() -> Response:
    return _export("csv")


@bp.route("/events.xlsx")
@role_required(*READERS)
def events_xlsx() -> Response:
    return _export("xlsx")
