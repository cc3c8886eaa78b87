"""The admin page of identity providers: add an OpenID Connect or SAML 2.0 provider, remove
one, and require sign-in through the municipality for a municipality's people."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker.access import admin_required
from training_tracker.extensions import db
from training_tracker.fields import required
from training_tracker.models import IdentityProvider, Municipality
from training_tracker.services.people import saml_providers, saml_settings, sso_providers
from training_tracker.services.people.sso_providers import SsoConfigError
from training_tracker.sso.forms import (
    AddOidcProviderForm,
    AddSamlProviderForm,
    RemoveProviderForm,
    SsoRequirementForm,
)
from training_tracker.sso.routes import bp, redirect_uri
from training_tracker.transactions import committing


def _municipalities() -> list[Municipality]:
    return list(db.session.scalars(sa.select(Municipality).order_by(Municipality.name)))


def _page(
    add_form: AddOidcProviderForm,
    require_form: SsoRequirementForm,
    saml_form: AddSamlProviderForm | None = None,
) -> str:
    municipalities = _municipalities()
    saml_form = saml_form or AddSamlProviderForm(prefix="saml", formdata=None)
    choices = [SelectChoice(m.id, m.name) for m in municipalities]
    for form in (add_form, require_form, saml_form):
        form.municipality.choices = choices
    return render_template(
        "sso/admin.html",
        providers=sso_providers.all_providers(db.session),
        municipalities=municipalities,
        add_form=add_form,
        require_form=require_form,
        saml_form=saml_form,
        redirect_uri=redirect_uri(),
        saml_urls=saml_settings.sp_urls,
    )


def _forms() -> tuple[AddOidcProviderForm, SsoRequirementForm]:
    choices = [SelectChoice(m.id, m.name) for m in _municipalities()]
    add_form = AddOidcProviderForm(prefix="add")
    require_form = SsoRequirementForm(prefix="require")
    add_form.municipality.choices = choices
    require_form.municipality.choices = choices
    return add_form, require_form


@bp.route("/admin/sso", methods=["GET", "POST"])
@admin_required
def admin_list() -> str | Response | tuple[str, int]:
    add_form, require_form = _forms()
    if request.method == "GET":
        return _page(add_form, require_form)
    if add_form.validate_on_submit():
        municipality = db.session.get(Municipality, add_form.municipality.data)
        if municipality is None:
            abort(400)
        with committing(add_form) as attempt:
            sso_providers.add_oidc_provider(
                db.session,
                municipality=municipality,
                issuer=required(add_form.issuer.data),
                client_id=required(add_form.client_id.data),
                domains=(add_form.domains.data or "").replace(",", "\n").splitlines(),
                label=add_form.label.data or "",
                client_secret=add_form.client_secret.data or None,
                client_secret_env=(add_form.client_secret_env.data or "").strip() or None,
                actor=current_user,
            )
        if attempt.ok:
            flash(_("Inloggningstjänsten är tillagd."), "success")
            return redirect(url_for("sso.admin_list"))
    return _page(add_form, require_form), 422


@bp.route("/admin/sso/saml", methods=["POST"])
@admin_required
def admin_add_saml() -> Response | tuple[str, int]:
    add_form, require_form = _forms()
    add_form.process(formdata=None)  # only the SAML form was sent
    form = AddSamlProviderForm(prefix="saml")
    form.municipality.choices = [SelectChoice(m.id, m.name) for m in _municipalities()]
    if form.validate_on_submit():
        municipality = db.session.get(Municipality, form.municipality.data)
        if municipality is None:
            abort(400)
        pasted = (form.metadata_xml.data or "").strip()
        source = (form.metadata_url.data or "").strip()
        with committing(form, fallback="metadata_url") as attempt:
            if not pasted and not source:
                raise SsoConfigError(
                    _("Ange adressen till metadata eller klistra in den."), "metadata_url"
                )
            xml = pasted or saml_settings.read_metadata(source)
            provider = saml_providers.add_saml_provider(
                db.session,
                municipality=municipality,
                metadata_xml=xml,
                metadata_source="" if pasted else source,
                domains=(form.domains.data or "").replace(",", "\n").splitlines(),
                label=form.label.data or "",
                subject_attribute=form.subject_attribute.data or None,
                actor=current_user,
            )
        if attempt.ok:
            flash(
                _(
                    "SAML-tjänsten är tillagd. Importera vår metadata hos identitetsleverantören: "
                    "%(url)s",
                    url=saml_settings.sp_urls(provider.id).entity_id,
                ),
                "success",
            )
            return redirect(url_for("sso.admin_list"))
    return _page(add_form, require_form, form), 422


@bp.route("/admin/sso/require", methods=["POST"])
@admin_required
def admin_require() -> Response:
    _add_form, form = _forms()
    if not form.validate_on_submit():
        abort(400)
    municipality = db.session.get(Municipality, form.municipality.data)
    if municipality is None:
        abort(400)
    required_now = form.required.data == "on"
    with committing() as attempt:
        sso_providers.set_sso_required(db.session, municipality, required_now, actor=current_user)
    if attempt.ok:
        flash(
            _("%(name)s kräver nu inloggning via kommunen.", name=municipality.name)
            if required_now
            else _("%(name)s tillåter nu även lösenord.", name=municipality.name),
            "success",
        )
    return redirect(url_for("sso.admin_list"))


@bp.route("/admin/sso/<int:provider_id>/remove", methods=["GET"], endpoint="confirm_remove")
@admin_required
def confirm_remove(provider_id: int) -> str:
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None:
        abort(404)
    return render_template(
        "sso/remove.html", provider=provider, form=RemoveProviderForm(formdata=None)
    )


@bp.route("/admin/sso/<int:provider_id>/remove", methods=["POST"])
@admin_required
def remove(provider_id: int) -> Response:
    if db.session.get(IdentityProvider, provider_id) is None:
        abort(404)
    form = RemoveProviderForm()
    if not form.validate_on_submit():
        abort(400)
    with committing() as attempt:
        label = sso_providers.remove_provider(db.session, provider_id, actor=current_user)
    if attempt.ok:
        flash(_("Inloggningstjänsten %(label)s är borttagen.", label=label), "success")
    return redirect(url_for("sso.admin_list"))
