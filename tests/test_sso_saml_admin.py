"""Configuring SAML 2.0 providers (issue #18): ``sso add-saml`` from the IdP's metadata URL or
file, ``sso list`` and ``sso refresh-saml``, and the admin page's SAML form. Our signing key is
made per provider and stored encrypted; its certificate is in our metadata."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import factories
from tests.saml_idp import SamlTestIdp, keys_validated_once
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, IdentityProvider
from training_tracker.services.people import saml_settings
from training_tracker.services.people.sso_providers import saml_sp_key


@pytest.fixture()
def idp(app, monkeypatch) -> Iterator[SamlTestIdp]:  # type: ignore[no-untyped-def]
    keys_validated_once(monkeypatch)
    provider = SamlTestIdp().start()
    saml_settings.forget_cached_settings()
    yield provider
    provider.stop()
    saml_settings.forget_cached_settings()


def _add(runner, metadata: str, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(
        args=[
            "sso",
            "add-saml",
            "--municipality",
            "Järfälla",
            "--metadata",
            metadata,
            "--domain",
            "jarfalla.se",
            "--domain",
            "skola.jarfalla.se",
            *extra,
        ]
    )


def test_add_saml_reads_the_metadata_url_and_prints_ours(runner, idp) -> None:
    result = _add(runner, idp.metadata_url, "--label", "Järfälla kommun")
    assert result.exit_code == 0, result.output
    provider = db.session.scalars(sa.select(IdentityProvider)).one()
    assert (provider.protocol, provider.issuer) == ("saml", idp.entity_id)
    assert provider.saml_sso_url == idp.base + "/sso"
    assert provider.saml_slo_url == idp.base + "/slo"
    assert provider.saml_metadata_source == idp.metadata_url
    assert f"/login/saml/{provider.id}/metadata" in result.output
    # Our key is stored encrypted, never in clear.
    key = saml_sp_key(provider)
    assert key and key.startswith("-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE KEY" not in (provider.saml_sp_key_encrypted or "")
    assert db.session.scalar(
        sa.select(AuditEvent.id).where(AuditEvent.action == "sso.provider_added")
    )

    listed = runner.invoke(args=["sso", "list"])
    assert listed.exit_code == 0
    assert "saml" in listed.output and "persistent NameID" in listed.output
    assert "single logout" in listed.output and "PRIVATE" not in listed.output


def test_add_saml_reads_a_file_and_the_subject_attribute(runner, idp, tmp_path: Path) -> None:
    metadata = tmp_path / "FederationMetadata.xml"
    metadata.write_text(idp.metadata_xml())
    result = _add(runner, str(metadata), "--subject-attribute", "objectGUID")
    assert result.exit_code == 0, result.output
    provider = db.session.scalars(sa.select(IdentityProvider)).one()
    assert provider.saml_subject_attribute == "objectGUID"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (
            "<EntityDescriptor xmlns='urn:oasis:names:tc:SAML:2.0:metadata' entityID='x'/>",
            "exakt en",
        ),
        ("not xml at all", "kunde inte läsas"),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
            "DTD",
        ),
    ],
    ids=["no-idp", "not-xml", "xxe"],
)
def test_add_saml_refuses_metadata_it_cannot_use(runner, tmp_path: Path, metadata, message) -> None:
    path = tmp_path / "metadata.xml"
    path.write_text(metadata)
    result = _add(runner, str(path))
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(sa.select(sa.func.count(IdentityProvider.id))) == 0


def test_add_saml_refuses_plain_http_and_taken_domains(runner, idp) -> None:
    plain = _add(runner, "http://adfs.jarfalla.example/FederationMetadata.xml")
    assert plain.exit_code != 0 and "https" in plain.output
    assert _add(runner, idp.metadata_url).exit_code == 0
    again = _add(runner, idp.metadata_url)
    assert again.exit_code != 0 and "hör redan till" in again.output


def test_refresh_saml_reads_new_certificates_and_keeps_the_provider(runner, idp) -> None:
    assert _add(runner, idp.metadata_url).exit_code == 0
    provider = db.session.scalars(sa.select(IdentityProvider)).one()
    before, key_before = provider.saml_metadata, provider.saml_sp_certificate
    idp.new_key()  # the IdP rolls its signing certificate over
    result = runner.invoke(args=["sso", "refresh-saml", str(provider.id), "--new-key"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    provider = db.session.get(IdentityProvider, provider.id)
    assert provider is not None
    assert provider.saml_metadata != before and provider.saml_sp_certificate != key_before


def test_the_admin_page_adds_a_saml_provider(client, idp) -> None:
    client.sign_in(factories.admin())
    jarfalla = factories.municipality("Järfälla")
    empty = client.post_form(
        "/admin/sso/saml",
        {"saml-municipality": str(jarfalla.id), "saml-domains": "jarfalla.se"},
    )
    assert empty.status_code == 422
    assert "Ange adressen till metadata" in empty.get_data(as_text=True)
    response = client.post_form(
        "/admin/sso/saml",
        {
            "saml-municipality": str(jarfalla.id),
            "saml-label": "Järfälla kommun (AD FS)",
            "saml-metadata_xml": idp.metadata_xml(),
            "saml-domains": "jarfalla.se",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    provider = db.session.scalars(sa.select(IdentityProvider)).one()
    page = client.get("/admin/sso").get_data(as_text=True)
    assert "Järfälla kommun (AD FS)" in page and idp.entity_id in page
    assert f"/login/saml/{provider.id}/metadata" in page
    login = client.post_form("/logout") and client.get("/login").get_data(as_text=True)
    assert "Logga in med Järfälla kommun (AD FS)" in login
