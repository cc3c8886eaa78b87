"""The SAML replay cache is shared by every web process (issue #18): the deployment of
tests/test_multi_process.py (two gunicorn processes in production configuration behind a
simulated TLS proxy, one database) signs a person in through one process, and the same
response, with the same request's cookie, is refused by the other."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa

from tests import factories
from tests.saml_idp import SamlTestIdp, form_fields
from tests.test_multi_process import SITE, Browser, Deployment, deployment  # noqa: F401
from training_tracker.extensions import db
from training_tracker.models import IdentityProvider, SamlSeenAssertion

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def idp() -> Iterator[SamlTestIdp]:
    provider = SamlTestIdp().start()
    yield provider
    provider.stop()


def test_an_assertion_spent_at_one_process_is_refused_at_the_other(
    deployment: Deployment,  # noqa: F811
    idp: SamlTestIdp,
) -> None:
    factories.municipality("Järfälla")
    anna = factories.employee(
        unit=factories.unit("Järfälla"), email="anna@saml.jarfalla.se", password=None
    )
    db.session.commit()
    # The operator adds the provider as in production (our key is encrypted with its
    # SECRET_KEY, which the processes share).
    added = subprocess.run(
        [
            str(Path(sys.executable).parent / "flask"),
            "sso",
            "add-saml",
            "--municipality",
            "Järfälla",
            "--metadata",
            idp.metadata_url,
            "--domain",
            "saml.jarfalla.se",
        ],
        cwd=PROJECT_ROOT,
        env=deployment.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    provider_id = db.session.scalars(
        sa.select(IdentityProvider.id).where(IdentityProvider.protocol == "saml")
    ).one()
    browser = Browser("203.0.113.50")
    metadata = browser.get(deployment.a, f"/login/saml/{provider_id}/metadata")
    assert metadata.status == 200 and f"https://{SITE}/login/saml/" in metadata.text
    idp.trust(metadata.text)
    idp.person = {"name_id": "anna-guid", "attributes": {"mail": [anna.email]}}

    started = browser.get(deployment.a, f"/login/saml/{provider_id}/start")
    assert started.status == 302 and started.location
    assert browser.cookie_flags["saml_pending"] >= {"secure", "httponly", "samesite"}
    pending = browser.cookies["saml_pending"]
    action, saml_response = form_fields(requests.get(started.location, timeout=10).text)
    assert action == f"https://{SITE}/login/saml/{provider_id}/acs"
    body = urlencode({"SAMLResponse": saml_response}).encode()
    form = "application/x-www-form-urlencoded"

    signed_in = browser.request(deployment.a, "POST", urlsplit(action).path, body, form)
    assert signed_in.status == 302, signed_in.text
    assert browser.get(deployment.a, "/").status == 200

    # Someone who copied the response and the request's cookie tries it at the other process.
    thief = Browser("198.51.100.7", cookies={"saml_pending": pending})
    replayed = thief.request(deployment.b, "POST", urlsplit(action).path, body, form)
    assert replayed.status == 400
    assert "replay" in deployment.b.output()
    assert db.session.scalar(sa.select(sa.func.count(SamlSeenAssertion.id))) == 1
