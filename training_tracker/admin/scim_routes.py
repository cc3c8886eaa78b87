"""The directories' SCIM tokens (admin only): create one for a municipality, see when each
was last used, renew its secret, revoke it. A secret is never stored: after creating or
renewing, it waits in the admin's own session for the one page that shows it, which takes
it out (post, redirect, get, like every form here)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker.access import admin_required
from training_tracker.admin.routes import bp
from training_tracker.admin.scim_forms import (
    NewScimTokenForm,
    RevokeScimTokenForm,
    RotateScimTokenForm,
)
from training_tracker.extensions import db
from training_tracker.models import ScimToken
from training_tracker.services.people.scim import tokens
from training_tracker.transactions import committing


def _new_form() -> NewScimTokenForm:
    form = NewScimTokenForm()
    form.municipality.choices = [SelectChoice("", _("Välj kommun"))] + [
        SelectChoice(str(m.id), m.name) for m in tokens.municipalities(db.session)
    ]
    return form


def _endpoint() -> str:
    return url_for("scim.elsewhere", rest="", _external=True)


def _page(form: NewScimTokenForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "admin/scim_tokens.html",
        form=form,
        tokens=tokens.list_tokens(db.session),
        rotate_form=RotateScimTokenForm(formdata=None),
        endpoint=_endpoint(),
    ), status


_SECRET_KEY = "scim_secret"


def _show_once(token_id: int, secret: str) -> Response:
    session[_SECRET_KEY] = {"token_id": token_id, "secret": secret}
    return redirect(url_for("admin.scim_secret", token_id=token_id))


@bp.route("/scim/<int:token_id>/secret")
@admin_required
def scim_secret(token_id: int) -> str | Response:
    """The new secret, once: a reload (or any later visit) finds it gone."""
    token = _token(token_id)
    waiting = session.pop(_SECRET_KEY, None)
    if not isinstance(waiting, dict) or waiting.get("token_id") != token_id:
        flash(_("Token visas bara en gång. Förnya den om den inte kopierades."), "info")
        return redirect(url_for("admin.scim_tokens"))
    return render_template(
        "admin/scim_secret.html", token=token, secret=waiting["secret"], endpoint=_endpoint()
    )


@bp.route("/scim", methods=["GET", "POST"])
@admin_required
def scim_tokens() -> str | tuple[str, int] | Response:
    form = _new_form()
    if form.validate_on_submit():
        with committing(form) as attempt:
            municipality = tokens.municipality_by_id(db.session, int(form.municipality.data))
            token, secret = tokens.create_token(
                db.session,
                municipality,
                label=form.label.data or "",
                actor=current_user,
                hire_date_attribute=form.hire_date_attribute.data or None,
            )
            token_id = token.id
        if attempt.ok:
            return _show_once(token_id, secret)
    if form.is_submitted():
        return _page(form, 422)
    return _page(form)


def _token(token_id: int) -> ScimToken:
    token = tokens.get_token(db.session, token_id)
    if token is None:
        abort(404)
    return token


@bp.route("/scim/<int:token_id>/rotate", methods=["POST"])
@admin_required
def rotate_scim_token(token_id: int) -> Response:
    token = _token(token_id)
    if not RotateScimTokenForm().validate_on_submit():
        abort(400)
    with committing() as attempt:
        secret = tokens.rotate_token(db.session, token, actor=current_user)
    if not attempt.ok:
        return redirect(url_for("admin.scim_tokens"))
    return _show_once(token_id, secret)


@bp.route("/scim/<int:token_id>/revoke", methods=["GET"], endpoint="confirm_revoke_scim_token")
@admin_required
def confirm_revoke_scim_token(token_id: int) -> str:
    return render_template(
        "admin/scim_revoke.html",
        token=_token(token_id),
        form=RevokeScimTokenForm(formdata=None),
    )


@bp.route("/scim/<int:token_id>/revoke", methods=["POST"])
@admin_required
def revoke_scim_token(token_id: int) -> Response:
    token = _token(token_id)
    if not RevokeScimTokenForm().validate_on_submit():
        abort(400)
    with committing():
        tokens.revoke_token(db.session, token, actor=current_user)
    flash(_("Token är återkallad. Katalogen kommer inte längre in."), "success")
    return redirect(url_for("admin.scim_tokens"))
