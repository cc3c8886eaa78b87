"""The admin's page for the directories' SCIM tokens: create one for a municipality (its
secret shown once), renew it, revoke it; each step in the audit log."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests import factories
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, ScimToken
from training_tracker.services.compliance.audit import describe_events

SECRET = re.compile(r">(ttscim_[^<]+)</textarea>")


def works(client, secret: str) -> bool:
    response = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"})
    return response.status_code == 200


def test_an_admin_creates_renews_and_revokes_a_directory_token(client):
    admin = factories.admin()
    client.sign_in(admin)
    sigtuna = factories.municipality("Sigtuna")
    page = client.get("/admin/scim").get_data(as_text=True)
    assert "Ingen token är skapad ännu." in page
    assert "http://localhost/scim/v2/" in page

    created = client.post_form(
        "/admin/scim",
        {"municipality": str(sigtuna.id), "label": "Entra ID", "hire_date_attribute": "hireDate"},
    )

    assert created.status_code == 302
    shown = client.get(created.location).get_data(as_text=True)
    secret = SECRET.search(shown).group(1)
    assert "Den visas bara den här gången" in shown
    again = client.get(created.location, follow_redirects=True).get_data(as_text=True)
    assert secret not in again
    assert "Token visas bara en gång." in again
    [token] = db.session.scalars(sa.select(ScimToken)).all()
    assert (token.label, token.municipality_id, token.hire_date_attribute) == (
        "Entra ID",
        sigtuna.id,
        "hireDate",
    )
    assert works(client, secret)
    listing = client.get("/admin/scim").get_data(as_text=True)
    assert secret not in listing
    assert f"{secret[:11]}…" in listing

    renewed = client.post_form(f"/admin/scim/{token.id}/rotate", follow_redirects=True)
    new_secret = SECRET.search(renewed.get_data(as_text=True)).group(1)
    assert new_secret != secret
    assert not works(client, secret)
    assert works(client, new_secret)

    confirm = client.get(f"/admin/scim/{token.id}/revoke").get_data(as_text=True)
    assert "Återkalla token?" in confirm
    revoked = client.post_form(f"/admin/scim/{token.id}/revoke", follow_redirects=True)
    assert "Token är återkallad." in revoked.get_data(as_text=True)
    assert not works(client, new_secret)

    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    described = [
        (entry.label, entry.actor_name, entry.note)
        for entry in describe_events(db.session, events)
        if entry.event.action.startswith("scim.")
    ]
    assert described == [
        ("Token för katalogkoppling (SCIM) skapades", "Ada Admin", "Entra ID, Sigtuna"),
        ("Token för katalogkoppling (SCIM) förnyades", "Ada Admin", "Entra ID, Sigtuna"),
        ("Token för katalogkoppling (SCIM) återkallades", "Ada Admin", "Entra ID, Sigtuna"),
    ]


def test_a_token_needs_a_municipality_and_a_name(client):
    client.sign_in(factories.admin())

    refused = client.post_form("/admin/scim", {"municipality": "", "label": " "})

    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Välj kommun." in page
    assert "Ge token ett namn." in page
    assert db.session.scalars(sa.select(ScimToken)).all() == []
