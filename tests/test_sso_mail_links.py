"""Mails lead through the municipality's own sign-in where it has one (issue #18): the links
go to ``/login/sso?email=…&next=…``, and an invitation where SSO is required carries no
password link at all."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from tests import factories, test_sso_oidc
from tests.test_sso_oidc import _back_from_provider, _signed_in_as, _to_provider
from training_tracker.extensions import db
from training_tracker.models import OutboxMessage
from training_tracker.services.people import accounts, sso_providers

# The provider on loopback, Järfälla's provider and Anna, as in tests/test_sso_oidc.py.
idp = test_sso_oidc.idp
jarfalla = test_sso_oidc.jarfalla
anna = test_sso_oidc.anna


def _invitation_text(person) -> str:  # type: ignore[no-untyped-def]
    accounts.queue_invitation(db.session, person, actor=None)
    db.session.commit()
    return db.session.scalars(
        sa.select(OutboxMessage.body_text).where(OutboxMessage.recipient_id == person.id)
    ).one()


def test_without_a_provider_the_invitation_is_as_before(app) -> None:
    person = factories.employee(unit=factories.unit("Sigtuna"), password=None)
    text = _invitation_text(person)
    assert "/invitation/" in text and "/login/sso" not in text


def test_the_invitation_and_its_links_go_through_the_municipalitys_sign_in(
    app,
    client,
    idp,
    jarfalla,
    anna,
) -> None:
    sso_providers.set_sso_required(db.session, jarfalla.municipality, True, actor=None)
    db.session.commit()
    text = _invitation_text(anna)
    assert "/invitation/" not in text  # no password to choose where SSO is required
    links = [word for word in text.split() if "/login/sso?" in word]
    assert links, text
    link = urlsplit(links[0])
    assert parse_qs(link.query)["email"] == [anna.email]

    # Followed from the mail: the municipality's sign-in, then the page the link names.
    idp.person = {"sub": "mail-1", "email": anna.email}
    response = _back_from_provider(client, _to_provider(client, f"{link.path}?{link.query}"))
    assert response.status_code == 302
    assert response.headers["Location"] == parse_qs(link.query)["next"][0]
    assert _signed_in_as(client) == anna.id

    # Followed again while signed in: straight to the page.
    again = client.get(f"{link.path}?{link.query}", follow_redirects=True)
    assert again.status_code == 200 and again.request.path == parse_qs(link.query)["next"][0]
