"""Configuring single sign-on (issue #18): the operator commands ``sso add-oidc``, ``list``,
``remove`` and ``require``, and the admin page. A client secret is entered once and never
shown again: not by ``sso list``, not on the page, and not stored in clear."""

from __future__ import annotations

import sqlalchemy as sa

from tests import factories
from training_tracker.extensions import db
from training_tracker.models import IdentityProvider, Municipality
from training_tracker.services.people.sso_providers import client_secret

SECRET = "s3cret-from-the-app-registration-1234"


def _add(runner, *extra: str, secret: str = SECRET):  # type: ignore[no-untyped-def]
    return runner.invoke(
        args=[
            "sso",
            "add-oidc",
            "--municipality",
            "Järfälla",
            "--issuer",
            "https://login.microsoftonline.com/tenant-id/v2.0",
            "--client-id",
            "app-id-1",
            "--client-secret-stdin",
            "--domain",
            "jarfalla.se",
            "--domain",
            "JARFALLA.SE.",
            "--domain",
            "@skola.jarfalla.se",
            *extra,
        ],
        input=secret + "\n",
    )


def test_add_oidc_stores_the_secret_encrypted_and_list_never_shows_it(runner) -> None:
    result = _add(runner, "--label", "Järfälla kommun")
    assert result.exit_code == 0, result.output
    assert "added provider" in result.output and "/login/sso/callback" in result.output
    provider = db.session.scalars(sa.select(IdentityProvider)).one()
    assert [d.domain for d in provider.domains] == ["jarfalla.se", "skola.jarfalla.se"]
    assert SECRET not in (provider.client_secret_encrypted or "")
    assert client_secret(provider) == SECRET

    listed = runner.invoke(args=["sso", "list"])
    assert listed.exit_code == 0
    assert "Järfälla kommun" in listed.output and "jarfalla.se,skola.jarfalla.se" in listed.output
    assert "secret stored" in listed.output and SECRET not in listed.output


def test_add_oidc_refuses_what_cannot_work_and_stores_nothing(runner) -> None:
    assert _add(runner).exit_code == 0
    taken = _add(runner)  # the same domains again
    assert taken.exit_code != 0 and "hör redan till" in taken.output
    plain_http = runner.invoke(
        args=["sso", "add-oidc", "--municipality", "Sigtuna", "--issuer", "http://idp.example",
              "--client-id", "x", "--client-secret-env", "SSO_SECRET", "--domain", "sigtuna.se"]
    )  # fmt: skip
    assert plain_http.exit_code != 0 and "https" in plain_http.output
    nowhere = runner.invoke(
        args=["sso", "add-oidc", "--municipality", "Gotham", "--issuer", "https://idp.example",
              "--client-id", "x", "--client-secret-env", "SSO_SECRET", "--domain", "sigtuna.se"]
    )  # fmt: skip
    assert nowhere.exit_code != 0 and "unknown municipality" in nowhere.output
    assert db.session.scalar(sa.select(sa.func.count(IdentityProvider.id))) == 1


def test_a_secret_from_the_environment_is_read_there(runner, monkeypatch) -> None:
    result = runner.invoke(
        args=["sso", "add-oidc", "--municipality", "0191", "--issuer", "https://idp.sigtuna.example",
              "--client-id", "x", "--client-secret-env", "SSO_SIGTUNA", "--domain", "sigtuna.se"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    provider = db.session.scalars(sa.select(IdentityProvider)).one()
    assert provider.client_secret_encrypted is None
    monkeypatch.setenv("SSO_SIGTUNA", "from-the-env")
    assert client_secret(provider) == "from-the-env"
    assert "secret from $SSO_SIGTUNA" in runner.invoke(args=["sso", "list"]).output


def test_require_needs_a_provider_and_remove_takes_it_away(runner) -> None:
    refused = runner.invoke(args=["sso", "require", "--municipality", "Järfälla"])
    assert refused.exit_code != 0 and "ingen inloggningstjänst" in refused.output
    _add(runner)
    assert runner.invoke(args=["sso", "require", "--municipality", "Järfälla"]).exit_code == 0
    assert factories.municipality("Järfälla").sso_required
    assert "requires SSO: Järfälla" in runner.invoke(args=["sso", "list"]).output
    off = runner.invoke(args=["sso", "require", "--municipality", "Järfälla", "--off"])
    assert off.exit_code == 0 and not factories.municipality("Järfälla").sso_required
    provider_id = db.session.scalar(sa.select(IdentityProvider.id))
    removed = runner.invoke(args=["sso", "remove", str(provider_id)])
    assert removed.exit_code == 0 and "removed provider" in removed.output
    assert db.session.scalar(sa.select(sa.func.count(IdentityProvider.id))) == 0
    assert runner.invoke(args=["sso", "remove", str(provider_id)]).exit_code != 0


def test_the_admin_page_adds_requires_and_removes_a_provider(client) -> None:
    client.sign_in(factories.admin())
    jarfalla = factories.municipality("Järfälla")
    response = client.post_form(
        "/admin/sso",
        {
            "add-municipality": str(jarfalla.id),
            "add-label": "Järfälla kommun",
            "add-issuer": "https://login.jarfalla.example",
            "add-client_id": "app-1",
            "add-client_secret": SECRET,
            "add-domains": "jarfalla.se\nskola.jarfalla.se",
            "add-submit": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/admin/sso").get_data(as_text=True)
    assert "Järfälla kommun" in page and "jarfalla.se, skola.jarfalla.se" in page
    assert "sparad (visas inte)" in page and SECRET not in page
    assert "/login/sso/callback" in page  # the redirect URI to register

    bad = client.post_form(
        "/admin/sso",
        {
            "add-municipality": str(jarfalla.id),
            "add-issuer": "https://login2.jarfalla.example",
            "add-client_id": "app-2",
            "add-client_secret": "x",
            "add-domains": "jarfalla.se",
        },
    )
    assert bad.status_code == 422 and "hör redan till" in bad.get_data(as_text=True)

    required = client.post_form(
        "/admin/sso/require",
        {"require-municipality": str(jarfalla.id), "require-required": "on"},
    )
    assert required.status_code == 302
    assert db.session.get(Municipality, jarfalla.id).sso_required  # type: ignore[union-attr]

    provider = db.session.scalars(sa.select(IdentityProvider)).one()
    question = client.get(f"/admin/sso/{provider.id}/remove").get_data(as_text=True)
    assert "Ta bort inloggningstjänsten?" in question and "kräver inloggning" in question
    assert client.post_form(f"/admin/sso/{provider.id}/remove").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(IdentityProvider.id))) == 0


def test_set_secret_replaces_the_secret_and_keeps_the_provider(runner) -> None:
    _add(runner)
    provider_id = db.session.scalar(sa.select(IdentityProvider.id))
    result = runner.invoke(
        args=["sso", "set-secret", str(provider_id), "--client-secret-stdin"], input="new-one\n"
    )
    assert result.exit_code == 0, result.output
    provider = db.session.get(IdentityProvider, provider_id)
    assert provider is not None and client_secret(provider) == "new-one"
    assert runner.invoke(args=["sso", "set-secret", "999", "--client-secret-stdin"]).exit_code
