"""Privileged screens do not hand out credentials: an invitation or reset link lets whoever
holds it choose the recipient's password, so no page, export or log shows it to anyone but its
owner. The admin reads those mails with the link cut out, and sends a fresh link instead of
resending the old one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count, mail_text
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, OutboxMessage, OutboxStatus
from training_tracker.services.messaging import outbox, sign_in_links
from training_tracker.services.people import accounts
from training_tracker.services.people.accounts import TokenPurpose

# What follows a sign-in route in a link; "[" starts the placeholder of a removed one.
TOKEN_IN_LINK = re.compile(r"/(?:invitation|password/reset)/([^\s<>\"')\[\]]+)")


def tokens_in(text: str) -> set[str]:
    return set(TOKEN_IN_LINK.findall(text))


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def link_mails() -> tuple[Employee, Employee]:
    """An invitation to a new hire and a reset link to someone with a password, both queued."""
    invitee = factories.employee(email="ny@test.example", first_name="Nora", password=None)
    forgetful = factories.employee(email="glomsk@test.example", first_name="Gustav")
    accounts.queue_invitation(db.session, invitee, actor=None)
    accounts.request_password_reset(db.session, forgetful.email)
    db.session.commit()
    return invitee, forgetful


def stored_tokens() -> set[str]:
    bodies = db.session.scalars(sa.select(OutboxMessage.body_text)).all()
    bodies += db.session.scalars(sa.select(OutboxMessage.body_html)).all()
    return set().union(*(tokens_in(body or "") for body in bodies))


def assert_no_token(page: str, tokens: set[str]) -> None:
    for token in tokens:
        assert token not in page
        # Nor its signature, the part that makes it work.
        assert token.rsplit(".", 1)[-1] not in page
    assert not tokens_in(page)


def test_the_outbox_shows_invitation_and_reset_mails_without_their_links(client, smtp_server):
    invitee, forgetful = link_mails()
    tokens = stored_tokens()
    # A working token as make_token writes it, at this moment, for each of them.
    tokens |= {
        accounts.make_token(invitee, TokenPurpose.INVITATION),
        accounts.make_token(forgetful, TokenPurpose.PASSWORD_RESET),
    }
    assert len(tokens) >= 2  # the same when written in the same second
    messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    client.sign_in(factories.admin())

    for state in ("queued", "sent"):
        pages = [text(client.get("/admin/outbox"))]
        pages += [text(client.get(f"/admin/outbox/{message.id}")) for message in messages]
        for page in pages:
            assert_no_token(page, tokens)
        assert "/invitation/[borttagen-länk]" in pages[1], state
        assert "/password/reset/[borttagen-länk]" in pages[2], state
        assert "Skicka en ny länk" in pages[1]
        if state == "queued":
            assert outbox.deliver_outbox(db.session).sent == 2

    # The recipients got their working links.
    for person, purpose in (
        (invitee, TokenPurpose.INVITATION),
        (forgetful, TokenPurpose.PASSWORD_RESET),
    ):
        (received,) = smtp_server.to(person.email)
        (token,) = tokens_in(mail_text(received))
        assert accounts.check_token(db.session, token, purpose).employee == person


def test_an_invitation_written_when_sent_is_shown_without_its_link(client, smtp_server):
    invitee = factories.employee(first_name="Nora", password=None)
    accounts.queue_invitations(db.session, [invitee.id], actor=None)
    db.session.commit()
    outbox.deliver_outbox(db.session)
    (message,) = db.session.scalars(sa.select(OutboxMessage)).all()
    tokens = stored_tokens()
    assert tokens
    client.sign_in(factories.admin())

    page = text(client.get(f"/admin/outbox/{message.id}"))

    assert_no_token(page, tokens)
    assert "/invitation/[borttagen-länk]" in page


def test_the_audit_log_and_its_exports_hold_no_link(client):
    link_mails()
    tokens = stored_tokens()
    client.sign_in(factories.admin())

    for path in ("/audit/", "/audit/events.csv"):
        response = client.get(path)
        assert response.status_code == 200
        assert_no_token(text(response), tokens)
    events = db.session.scalars(sa.select(AuditEvent.details)).all()
    assert_no_token(repr(events), tokens)


def test_every_route_taking_a_token_is_redacted(app):
    with app.test_request_context():
        prefixes = sign_in_links.token_route_prefixes()
        assert {"/invitation/", "/password/reset/"} <= set(prefixes)
        for prefix in prefixes:
            link = f"Öppna https://tt.example{prefix}eyJlIjoxfQ.Zx1.sig-_ABC) och välj."
            assert sign_in_links.redact(link) == (
                f"Öppna https://tt.example{prefix}[borttagen-länk]) och välj."
            )


# --- a fresh link instead of the old one -------------------------------------------------------


def test_a_fresh_invitation_goes_to_the_current_address_and_is_audited(client, smtp_server):
    invitee = factories.employee(email="gammal@test.example", first_name="Nora", password=None)
    old = factories.outbox_message(
        invitee, kind="invitation", status="failed", last_error="550 No such user"
    )
    invitee.email = "ny.adress@test.example"
    db.session.commit()
    admin = factories.admin()
    client.sign_in(admin)

    response = client.post_form(f"/admin/outbox/{old.id}/new-link")

    fresh = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id != old.id)).one()
    assert response.status_code == 302
    assert response.location == f"/admin/outbox/{fresh.id}"
    assert (fresh.kind, fresh.status, fresh.recipient_email) == (
        "invitation",
        OutboxStatus.QUEUED,
        "ny.adress@test.example",
    )
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "outbox.link_resent")
    ).one()
    assert (event.actor_id, event.subject_employee_id, event.object_id) == (
        admin.id,
        invitee.id,
        old.id,
    )
    assert event.details["new_message_id"] == fresh.id

    # A second click while the fresh one waits queues nothing more.
    again = client.post_form(f"/admin/outbox/{old.id}/new-link", follow_redirects=True)
    assert "ligger redan i kö" in text(again)
    assert count(OutboxMessage) == 2
    assert count(AuditEvent, AuditEvent.action == "outbox.link_resent") == 1

    outbox.deliver_outbox(db.session)
    (received,) = smtp_server.to("ny.adress@test.example")
    (token,) = tokens_in(mail_text(received))
    assert accounts.check_token(db.session, token, TokenPurpose.INVITATION).employee == invitee


def test_a_fresh_reset_link_is_queued_and_audited(client):
    person = factories.employee(first_name="Gustav")
    old = factories.outbox_message(
        person,
        kind="password_reset",
        status="failed",
        last_error="421 Try later",
        created_at=clock.utcnow() - timedelta(minutes=30),
    )
    client.sign_in(factories.admin())

    client.post_form(f"/admin/outbox/{old.id}/new-link")

    fresh = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id != old.id)).one()
    assert (fresh.kind, fresh.status, fresh.recipient_email) == (
        "password_reset",
        OutboxStatus.QUEUED,
        person.email,
    )
    assert count(AuditEvent, AuditEvent.action == "outbox.link_resent") == 1


@pytest.mark.parametrize(
    ("kind", "password", "refusal"),
    [
        ("invitation", "ett-bra-lösenord", "har redan valt ett lösenord"),
        ("reminder", None, "Bara inbjudningar och länkar för nytt lösenord"),
    ],
)
def test_a_fresh_link_is_refused_where_it_makes_no_sense(client, kind, password, refusal):
    person = factories.employee(password=password)
    old = factories.outbox_message(person, kind=kind, status="sent")
    client.sign_in(factories.admin())

    response = client.post_form(f"/admin/outbox/{old.id}/new-link", follow_redirects=True)

    assert refusal in text(response)
    assert count(OutboxMessage) == 1
    assert count(AuditEvent, AuditEvent.action == "outbox.link_resent") == 0
