"""Administration: roles, the course catalogue and the mail outbox."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker.access import admin_required
from training_tracker.admin.forms import (
    GrantRoleForm,
    NewLinkForm,
    ResendAllForm,
    ResendForm,
    RevokeRoleForm,
    outbox_args,
    outbox_query,
)
from training_tracker.extensions import db
from training_tracker.fields import required
from training_tracker.models import (
    Employee,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    Role,
    RoleGrant,
    Unit,
)
from training_tracker.redirects import local_path
from training_tracker.services.messaging import outbox_admin
from training_tracker.services.messaging.kinds import MESSAGE_KINDS, MESSAGE_STATUSES
from training_tracker.services.people import fresh_links, roles
from training_tracker.services.training import catalog
from training_tracker.transactions import committing

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index() -> str:
    return render_template("admin/index.html")


def _grant_form() -> GrantRoleForm:
    form = GrantRoleForm()
    municipalities = db.session.scalars(sa.select(Municipality).order_by(Municipality.name))
    form.municipality.choices = [SelectChoice("", _("Ingen (hela regionen)"))] + [
        SelectChoice(str(m.id), m.name) for m in municipalities
    ]
    units = db.session.execute(
        sa.select(Unit.id, Unit.name, Municipality.name)
        .join(Municipality)
        .order_by(Municipality.name, Unit.name)
    )
    form.unit.choices = [SelectChoice("", _("Ingen"))] + [
        SelectChoice(str(unit_id), name, optgroup=municipality)
        for unit_id, name, municipality in units
    ]
    return form


@bp.route("/roles", methods=["GET", "POST"])
@admin_required
def role_list() -> str | Response | tuple[str, int]:
    form = _grant_form()
    if form.validate_on_submit():
        # An unknown person's message goes on the e-mail field, any other on the role.
        with committing(form, fallback="role") as attempt:
            grant = roles.grant_role_by_email(
                db.session,
                actor=current_user,
                email=required(form.email.data),
                role=Role(form.role.data),
                municipality_id=int(form.municipality.data) if form.municipality.data else None,
                unit_id=int(form.unit.data) if form.unit.data else None,
            )
        if attempt.ok:
            flash(_("Rollen är given till %(name)s.", name=grant.employee.full_name), "success")
            return redirect(url_for("admin.role_list"))
    status = 422 if form.errors else 200
    return render_template(
        "admin/roles.html",
        form=form,
        grants=roles.list_grants(db.session),
        describe_scope=roles.describe_scope,
    ), status


@bp.route("/roles/<int:grant_id>/revoke", methods=["GET"], endpoint="confirm_revoke_role")
@admin_required
def confirm_revoke_role(grant_id: int) -> str:
    """Asks before a role is removed: what will happen, and the form that does it."""
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None:
        abort(404)
    return render_template(
        "admin/revoke_role.html",
        grant=grant,
        form=RevokeRoleForm(formdata=None),
        refusal=roles.revoke_refusal(db.session, actor=current_user, grant=grant),
        scope=roles.describe_scope(grant),
    )


@bp.route("/roles/<int:grant_id>/revoke", methods=["POST"])
@admin_required
def revoke_role(grant_id: int) -> Response:
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None:
        abort(404)
    form = RevokeRoleForm()
    if not form.validate_on_submit():
        abort(400)
    with committing() as attempt:
        roles.revoke_role(db.session, actor=current_user, grant=grant)
    if attempt.ok:
        flash(_("Rollen är borttagen."), "success")
    return redirect(url_for("admin.role_list"))


@bp.route("/courses")
@admin_required
def course_list() -> str:
    return render_template("admin/courses.html", courses=catalog.list_courses(db.session))


# --- the mail outbox ------------------------------------------------------------------------


def _back_to(target: str | None, default: str) -> str:
    """Only back to a page of the outbox (the list with its filters, or a message)."""
    path = local_path(target)
    return path if path and path.startswith(url_for("admin.outbox")) else default


def _kind_label(kind: str) -> str:
    return str(MESSAGE_KINDS.get(kind, kind))


@bp.route("/outbox")
@admin_required
def outbox() -> str:
    page = outbox_admin.search_outbox(db.session, outbox_query(request.args))
    query = page.query

    def list_url(**changes: Any) -> str:
        return url_for("admin.outbox", **outbox_args(query, **changes))

    return render_template(
        "admin/outbox.html",
        page=page,
        query=query,
        list_url=list_url,
        this_url=list_url(),
        statuses=list(OutboxStatus),
        status_labels=MESSAGE_STATUSES,
        failed_count=page.counts[OutboxStatus.FAILED],
        kind_label=_kind_label,
        link_kinds=outbox_admin.LINK_KINDS,
        resend_form=ResendForm(formdata=None),
        resend_all_form=ResendAllForm(formdata=None, kind=query.kind or ""),
    )


@bp.route("/outbox/<int:message_id>")
@admin_required
def outbox_message(message_id: int) -> str:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    recipient = db.session.get(Employee, message.recipient_id) if message.recipient_id else None
    return render_template(
        "admin/outbox_message.html",
        message=message,
        # Never the stored text itself: an invitation's or reset's link is the recipient's.
        body_text=outbox_admin.shown_text(message),
        carries_link=message.kind in outbox_admin.LINK_KINDS,
        recipient=recipient,
        status_labels=MESSAGE_STATUSES,
        kind_label=_kind_label,
        resend_form=ResendForm(formdata=None),
        new_link_form=NewLinkForm(formdata=None),
    )


@bp.route("/outbox/<int:message_id>/resend", methods=["POST"])
@admin_required
def resend_message(message_id: int) -> Response:
    if db.session.get(OutboxMessage, message_id) is None:
        abort(404)
    form = ResendForm()
    if not form.validate_on_submit():
        abort(400)
    back = _back_to(form.back.data, url_for("admin.outbox_message", message_id=message_id))
    with committing() as attempt:
        message = outbox_admin.requeue_failed(db.session, message_id, actor=current_user)
    if attempt.ok:
        flash(
            _(
                "Mejlet till %(email)s ligger i kö igen och skickas inom kort.",
                email=message.recipient_email,
            ),
            "success",
        )
    return redirect(back)


@bp.route("/outbox/<int:message_id>/new-link", methods=["POST"])
@admin_required
def send_new_link(message_id: int) -> Response:
    if db.session.get(OutboxMessage, message_id) is None:
        abort(404)
    if not NewLinkForm().validate_on_submit():
        abort(400)
    with committing() as attempt:
        fresh, queued = fresh_links.send_fresh_link(db.session, message_id, actor=current_user)
    if not attempt.ok:
        return redirect(url_for("admin.outbox_message", message_id=message_id))
    email = fresh.recipient_email
    if queued:
        flash(
            _("En ny länk till %(email)s ligger i kö och skickas inom kort.", email=email),
            "success",
        )
    else:
        flash(
            _("En länk till %(email)s ligger redan i kö och skickas inom kort.", email=email),
            "info",
        )
    return redirect(url_for("admin.outbox_message", message_id=fresh.id))


@bp.route("/outbox/resend-failed", methods=["POST"])
@admin_required
def resend_all_failed() -> Response:
    form = ResendAllForm()
    if not form.validate_on_submit():
        abort(400)
    kind = (form.kind.data or "").strip() or None
    requeued = outbox_admin.requeue_all_failed(db.session, actor=current_user, kind=kind)
    db.session.commit()
    if requeued:
        flash(
            ngettext(
                "%(num)d mejl ligger i kö igen och skickas inom kort.",
                "%(num)d mejl ligger i kö igen och skickas inom kort.",
                requeued,
            ),
            "success",
        )
    else:
        flash(_("Det finns inga mejl som inte kunde skickas."), "info")
    # To what now waits in the queue, where the requeued messages are.
    back: dict[str, Any] = {"status": OutboxStatus.QUEUED.value, "kind": kind}
    return redirect(url_for("admin.outbox", **{k: v for k, v in back.items() if v}))
