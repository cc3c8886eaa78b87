"""Operator commands for single sign-on (``flask --app wsgi sso …``): each municipality's
identity providers and whether it requires them. Names are stable: scripts depend on them."""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
import sqlalchemy as sa
from flask import Blueprint, Flask, current_app

from training_tracker import schema_check
from training_tracker.cli import demo_group, municipality_named
from training_tracker.demo.oidc_test_provider import OidcTestProvider, Serving
from training_tracker.extensions import db
from training_tracker.models import Employee, IdentityProvider, Municipality, SsoProtocol
from training_tracker.services.core.scope import identity_provider_scope
from training_tracker.services.messaging.mail_rendering import absolute_url
from training_tracker.services.people import saml_providers, saml_settings, sso_providers
from training_tracker.services.people.sso_providers import SsoConfigError
from training_tracker.transactions import committing

bp = Blueprint("sso_cli", __name__, cli_group=None)


@contextmanager
def _committed() -> Iterator[None]:
    """Commit what the block wrote; when the SSO services refuse, nothing is kept and the
    command ends with their message."""
    with committing(errors=()):
        try:
            yield
        except SsoConfigError as error:
            raise click.ClickException(str(error)) from error


@bp.cli.group("sso")
def sso_group() -> None:
    """Sign-in through each municipality's identity provider (OpenID Connect or SAML 2.0)."""


@sso_group.command("add-oidc")
@click.option("--municipality", "municipality_name", required=True, help="Name or kommunkod.")
@click.option("--issuer", required=True, help="The provider's issuer URL (https).")
@click.option("--client-id", required=True)
@click.option(
    "--client-secret-stdin", is_flag=True, help="Read the client secret from standard input."
)
@click.option(
    "--client-secret-env",
    default=None,
    help="Or: the name of an environment variable that holds the secret at run time.",
)
@click.option("--domain", "domains", multiple=True, required=True, help="An e-mail domain.")
@click.option("--label", default="", help="The sign-in button's text (default: the name).")
def add_oidc(
    municipality_name: str,
    issuer: str,
    client_id: str,
    client_secret_stdin: bool,
    client_secret_env: str | None,
    domains: tuple[str, ...],
    label: str,
) -> None:
    """Add an OpenID Connect provider to a municipality. The secret is stored encrypted and
    never shown again."""
    if client_secret_stdin == bool(client_secret_env):
        raise click.ClickException("give exactly one of --client-secret-stdin, --client-secret-env")
    secret = sys.stdin.readline().rstrip("\r\n") if client_secret_stdin else None
    with _committed():
        provider = sso_providers.add_oidc_provider(
            db.session,
            municipality=municipality_named(municipality_name),
            issuer=issuer,
            client_id=client_id,
            domains=list(domains),
            label=label,
            client_secret=secret,
            client_secret_env=client_secret_env,
            actor=None,
        )
    click.echo(f"added provider {provider.id}: {provider.label} ({provider.municipality.name})")
    click.echo(f"redirect URI to register at the provider: {absolute_url('sso.callback')}")


@sso_group.command("add-saml")
@click.option("--municipality", "municipality_name", required=True, help="Name or kommunkod.")
@click.option(
    "--metadata",
    "metadata_source",
    required=True,
    help="The identity provider's metadata: an https URL or a file.",
)
@click.option("--domain", "domains", multiple=True, required=True, help="An e-mail domain.")
@click.option("--label", default="", help="The sign-in button's text (default: the name).")
@click.option(
    "--subject-attribute",
    default=None,
    help="The attribute holding the stable subject (default: the persistent NameID).",
)
def add_saml(
    municipality_name: str,
    metadata_source: str,
    domains: tuple[str, ...],
    label: str,
    subject_attribute: str | None,
) -> None:
    """Add a SAML 2.0 identity provider to a municipality from its metadata, and print the
    URL of our metadata for it (import that at the provider)."""
    with _committed():
        xml = saml_settings.read_metadata(metadata_source)
        provider = saml_providers.add_saml_provider(
            db.session,
            municipality=municipality_named(municipality_name),
            metadata_xml=xml,
            metadata_source=metadata_source,
            domains=list(domains),
            label=label,
            subject_attribute=subject_attribute,
            actor=None,
        )
    urls = saml_settings.sp_urls(provider.id)
    click.echo(f"added provider {provider.id}: {provider.label} ({provider.municipality.name})")
    click.echo(f"identity provider: {provider.issuer}")
    click.echo(f"our metadata (import it at the provider): {urls.entity_id}")
    click.echo(f"assertion consumer service: {urls.acs}")


@sso_group.command("refresh-saml")
@click.argument("provider_id", type=int)
@click.option(
    "--metadata",
    "metadata_source",
    default=None,
    help="Where to read it (default: where it was read when the provider was added).",
)
@click.option(
    "--new-key",
    is_flag=True,
    help="Also make our signing key anew (then import our metadata at the provider again).",
)
def refresh_saml(provider_id: int, metadata_source: str | None, new_key: bool) -> None:
    """Read a SAML provider's metadata again (new signing certificates, moved endpoints),
    keeping its links to people."""
    provider = db.session.get(IdentityProvider, provider_id)
    source = metadata_source or (provider.saml_metadata_source if provider else None)
    if provider is None or not source:
        raise click.ClickException(f"no SAML provider {provider_id} with a metadata source")
    with _committed():
        xml = saml_settings.read_metadata(source)
        saml_providers.refresh_saml_metadata(
            db.session, provider_id, metadata_xml=xml, new_key=new_key, actor=None
        )
    click.echo(f"metadata of provider {provider_id} read again from {source}")


@sso_group.command("set-secret")
@click.argument("provider_id", type=int)
@click.option("--client-secret-stdin", is_flag=True, help="Read the new secret from stdin.")
@click.option("--client-secret-env", default=None, help="Or: an environment variable's name.")
def set_secret(provider_id: int, client_secret_stdin: bool, client_secret_env: str | None) -> None:
    """A provider's new client secret, keeping its links to people (rotate before the old one
    expires)."""
    if client_secret_stdin == bool(client_secret_env):
        raise click.ClickException("give exactly one of --client-secret-stdin, --client-secret-env")
    secret = sys.stdin.readline().rstrip("\r\n") if client_secret_stdin else None
    with _committed():
        sso_providers.set_client_secret(
            db.session,
            provider_id,
            client_secret=secret,
            client_secret_env=client_secret_env,
            actor=None,
        )
    click.echo(f"new secret for provider {provider_id}")


@sso_group.command("list")
def list_providers() -> None:
    """Every provider (never its secret), and which municipalities require SSO."""
    providers = sso_providers.all_providers(db.session)
    if not providers:
        click.echo("no identity providers")
    for provider in providers:
        if provider.protocol == SsoProtocol.SAML:
            slo = "single logout" if provider.saml_slo_url else "no single logout"
            subject = provider.saml_subject_attribute or "persistent NameID"
            click.echo(
                "\t".join(
                    [
                        str(provider.id),
                        provider.protocol,
                        provider.municipality.name,
                        provider.label,
                        provider.issuer,
                        provider.saml_sso_url or "",
                        ",".join(domain.domain for domain in provider.domains),
                        f"subject: {subject}",
                        slo,
                        f"our metadata: {saml_settings.sp_urls(provider.id).entity_id}",
                    ]
                )
            )
            continue
        secret = (
            f"secret from ${provider.client_secret_env}"
            if provider.client_secret_env
            else "secret stored"
        )
        domains = ",".join(domain.domain for domain in provider.domains)
        click.echo(
            "\t".join(
                [
                    str(provider.id),
                    provider.protocol,
                    provider.municipality.name,
                    provider.label,
                    provider.issuer,
                    provider.client_id,
                    domains,
                    secret,
                ]
            )
        )
    for municipality in db.session.scalars(
        sa.select(Municipality).where(Municipality.sso_required).order_by(Municipality.name)
    ):
        click.echo(f"requires SSO: {municipality.name}")


@sso_group.command("remove")
@click.argument("provider_id", type=int)
def remove(provider_id: int) -> None:
    """Remove a provider with its domains and sign-in links."""
    with _committed():
        label = sso_providers.remove_provider(db.session, provider_id, actor=None)
    click.echo(f"removed provider {provider_id}: {label}")


@sso_group.command("require")
@click.option("--municipality", "municipality_name", required=True, help="Name or kommunkod.")
@click.option("--off", is_flag=True, help="Allow password sign-in again.")
def require(municipality_name: str, off: bool) -> None:
    """Require sign-in through the municipality's provider for its people (admins keep their
    passwords), or with --off allow passwords again."""
    municipality = municipality_named(municipality_name)
    with _committed():
        sso_providers.set_sso_required(db.session, municipality, not off, actor=None)
    state = "allows passwords" if off else "requires SSO"
    click.echo(f"{municipality.name} {state}")


@demo_group.command("test-provider")
@click.option("--port", default=5001, show_default=True, type=int)
@click.option(
    "--municipality",
    "municipalities",
    multiple=True,
    default=("Järfälla", "Sigtuna"),
    show_default=True,
)
@click.option("--client-id", default="demo", show_default=True)
@click.option(
    "--client-secret-env",
    default="DEMO_SSO_SECRET",
    show_default=True,
    help="The environment variable holding the client secret.",
)
def demo_test_provider(
    port: int, municipalities: tuple[str, ...], client_id: str, client_secret_env: str
) -> None:
    """Serve a TEST identity provider (OpenID Connect) for demo municipalities, one issuer
    each at http://127.0.0.1:PORT/<name>: its page signs in whichever of the municipality's
    people is picked, without a password. For the demo only, never in production."""
    if current_app.config.get("SESSION_COOKIE_SECURE"):  # the production configuration
        raise click.ClickException("the test provider is for the demo, not for production")
    secret = os.environ.get(client_secret_env)
    if not secret:
        raise click.ClickException(f"set {client_secret_env} to the client secret")
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app, for the server's threads
    callback = absolute_url("sso.callback")
    mounts: dict[str, OidcTestProvider] = {}
    for name in municipalities:
        municipality = municipality_named(name)
        mounts["/" + slug(municipality.name)] = OidcTestProvider(
            name=f"{municipality.name} (test)",
            client_id=client_id,
            client_secret=secret,
            redirect_uris=(callback,),
            people=_people_of(app, municipality.id),
        )
    serving = Serving(mounts, port=port, quiet=False)
    for provider in mounts.values():
        click.echo(f"TEST identity provider: {provider.issuer}")
    serving.serve_forever()


def slug(name: str) -> str:
    """A municipality's name in a URL: "Järfälla" → "jarfalla", "Upplands Väsby" →
    "upplands-vasby"."""
    folded = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
    return "-".join(folded.replace("-", " ").split())


def _people_of(app: Flask, municipality_id: int) -> Callable[[], list[tuple[str, str]]]:
    def people() -> list[tuple[str, str]]:
        with app.app_context():
            rows = db.session.execute(
                sa.select(Employee.first_name, Employee.last_name, Employee.email)
                .where(identity_provider_scope(municipality_id))
                .order_by(Employee.id)
                .limit(8)
            )
            return [(f"{first} {last}", email) for first, last, email in rows]

    return people


schema_check.guard(bp.cli)  # every sso command refuses an unmigrated database
