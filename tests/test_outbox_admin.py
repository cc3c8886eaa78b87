"""The admin's view of the mail outbox: queued, sent and failed mails with their errors, resending
the failed ones (delivered exactly once), and the mails a person received on their HR page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from tests import factories
from tests.conftest import count, counting_statements, subject_of
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, OutboxMessage, OutboxStatus, Role
from training_tracker.services.messaging import outbox, outbox_admin
from training_tracker.services.messaging.outbox_admin import OutboxQuery

ERROR = "SMTPRecipientsRefused: {'nils@test.example': (550, b'5.1.1 No such user')}"


@pytest.fixture()
def person() -> Employee:
    return factories.employee(email="nils.nord@test.example", first_name="Nils")


def ago(minutes: int):  # type: ignore[no-untyped-def]
    return clock.utcnow() - timedelta(minutes=minutes)


def row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get_one(OutboxMessage, message_id)


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def listed_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="message-(\d+)"', page)]


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_the_newest_first_with_counts_per_status(client, person):
    old = factories.outbox_message(person, status="sent", created_at=ago(30))
    failed = factories.outbox_message(
        person, status="failed", last_error=ERROR, attempts=1, created_at=ago(20)
    )
    new = factories.outbox_message(person, kind="invitation", created_at=ago(10))
    client.sign_in(factories.admin())

    page = text(client.get("/admin/outbox"))

    assert listed_ids(page) == [new.id, failed.id, old.id]
    assert "Alla: 3" in page
    assert "Kunde inte skickas: 1" in page and "Skickat: 1" in page and "I kö: 1" in page
    assert "Stoppat: 0" in page
    assert "Välkomstmejl med inbjudan" in page and "Påminnelse" in page  # kinds in words
    assert "5.1.1 No such user" in page  # the failure's error, in the list too


def test_filter_by_status(client, person):
    factories.outbox_message(person, status="sent")
    failed = factories.outbox_message(person, status="failed", last_error=ERROR)
    client.sign_in(factories.admin())

    page = text(client.get("/admin/outbox?status=failed"))

    assert listed_ids(page) == [failed.id]
    assert '<option value="failed" selected>' in page
    assert "Alla: 2" in page  # the summary counts every status


def test_filter_by_kind_offers_the_kinds_the_outbox_holds(client, person):
    factories.outbox_message(person, kind="reminder")
    escalation = factories.outbox_message(person, kind="escalation", status="failed")
    factories.outbox_message(person, kind="digest", status="sent")
    client.sign_in(factories.admin())

    page = text(client.get("/admin/outbox?kind=escalation"))

    assert listed_ids(page) == [escalation.id]
    for kind in ("digest", "escalation", "reminder"):
        assert f'<option value="{kind}"' in page
    assert '<option value="invitation"' not in page  # never sent: not a choice
    # The counts follow the kind: of the escalations, one failed and nothing else.
    assert "Alla: 1" in page and "Kunde inte skickas: 1" in page and "Skickat: 0" in page


def test_filter_by_part_of_the_email_address(client, person):
    other = factories.employee(email="olle.ost@sigtuna.example")
    mine = factories.outbox_message(person)
    factories.outbox_message(other)
    client.sign_in(factories.admin())

    assert listed_ids(text(client.get("/admin/outbox?email=NILS.NORD"))) == [mine.id]
    assert listed_ids(text(client.get("/admin/outbox?email=test.example"))) == [mine.id]
    # LIKE's wildcards are taken literally.
    assert listed_ids(text(client.get("/admin/outbox?email=%25"))) == []
    assert listed_ids(text(client.get("/admin/outbox?email=_"))) == []


def test_the_list_is_paginated_by_fifty(client, person):
    messages = [factories.outbox_message(person, created_at=ago(i)) for i in range(53)]
    client.sign_in(factories.admin())

    first = text(client.get("/admin/outbox"))
    second = text(client.get("/admin/outbox?page=2"))
    past_the_end = text(client.get("/admin/outbox?page=9"))

    assert listed_ids(first) == [m.id for m in messages[:50]]
    assert "Sida 1 av 2" in first and "?page=2" in first
    assert listed_ids(second) == [m.id for m in messages[50:]]
    assert listed_ids(past_the_end) == listed_ids(second)  # the last page


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "status=",
        "kind=%3Cscript%3E",
        "kind=" + "x" * 300,
        "page=abc",
        "page=-1",
        "page=0",
        "page=99999999999999999999",
        "email=" + "a" * 1000,
        "status=FAILED&page=%00&kind=",
    ],
)
def test_malformed_parameters_are_ignored(client, person, query):
    message = factories.outbox_message(person)
    client.sign_in(factories.admin())

    response = client.get(f"/admin/outbox?{query}")

    assert response.status_code == 200
    if "email" not in query:
        assert listed_ids(text(response)) == [message.id]


def test_the_search_takes_three_queries_whatever_the_size(app, person):
    for i in range(3):
        factories.outbox_message(person, status="failed", last_error=ERROR, created_at=ago(i))
    with counting_statements() as few:
        small = outbox_admin.search_outbox(db.session, OutboxQuery(kind="reminder"))
        for message in small.rows:
            _ = (message.subject, message.last_error, message.recipient_email)
    for i in range(60):
        factories.outbox_message(person, kind="digest", created_at=ago(100 + i))
    with counting_statements() as many:
        large = outbox_admin.search_outbox(db.session, OutboxQuery(email="nils"))
        for message in large.rows:
            _ = (message.subject, message.last_error, message.recipient_email)

    assert len(few) == len(many) == 3
    assert (large.total, large.pages, len(large.rows)) == (63, 2, 50)
    assert large.counts[OutboxStatus.FAILED] == 3 and large.counts[OutboxStatus.QUEUED] == 60


# --- one message ----------------------------------------------------------------------------


def test_the_message_page_shows_the_error_and_the_text(client, person):
    long_error = ERROR + " " + "x" * 400 + " THE-END"
    message = factories.outbox_message(
        person,
        status="failed",
        attempts=5,
        last_error=long_error,
        body_text="Hej Nils,\n\nDu har <b>en</b> kurs kvar.\n",
    )
    client.sign_in(factories.admin())

    listing = text(client.get("/admin/outbox"))
    page = text(client.get(f"/admin/outbox/{message.id}"))

    assert "THE-END" not in listing  # shortened in the list
    assert "THE-END" in page and "5.1.1 No such user" in page  # whole on its page
    assert "Kunde inte skickas" in page
    assert "nils.nord@test.example" in page
    assert "Hej Nils,\n\nDu har &lt;b&gt;en&lt;/b&gt; kurs kvar." in page  # escaped, in a <pre>
    assert f'action="/admin/outbox/{message.id}/resend"' in page
    assert f"/employees/{person.id}" in page  # to the person's page


def test_a_sent_message_offers_no_resend(client, person):
    message = factories.outbox_message(person, status="sent")
    client.sign_in(factories.admin())

    page = text(client.get(f"/admin/outbox/{message.id}"))

    assert "Skickat" in page
    assert "/resend" not in page


def test_an_unknown_message_is_404(client):
    client.sign_in(factories.admin())
    assert client.get("/admin/outbox/999999").status_code == 404
    assert client.post_form("/admin/outbox/999999/resend").status_code == 404


# --- resending ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        ("sent", "Mejlet är redan skickat och skickas inte igen."),
        ("queued", "Mejlet ligger redan i kö och skickas inom kort."),
        ("sending", "Mejlet ligger redan i kö och skickas inom kort."),
        ("cancelled", "Mejlet stoppades eftersom det inte längre gällde"),
    ],
)
def test_only_a_failed_message_can_be_resent(client, person, status, refusal):
    message = factories.outbox_message(person, status=status, attempts=2)
    before = (message.status, message.attempts, message.next_attempt_at)
    client.sign_in(factories.admin())

    response = client.post_form(f"/admin/outbox/{message.id}/resend", follow_redirects=True)

    assert refusal in text(response)
    again = row(message.id)
    assert (again.status, again.attempts, again.next_attempt_at) == before
    assert count(AuditEvent, AuditEvent.action == "outbox.requeued") == 0


def test_a_resent_message_is_delivered_exactly_once(client, person, smtp_server):
    message = factories.outbox_message(
        person, status="failed", attempts=5, last_error=ERROR, created_at=ago(60 * 24)
    )
    admin = factories.admin()
    client.sign_in(admin)

    response = client.post_form(
        f"/admin/outbox/{message.id}/resend", {"back": "/admin/outbox?status=failed"}
    )

    assert response.status_code == 302
    assert response.location == "/admin/outbox?status=failed"
    requeued = row(message.id)
    assert (requeued.status, requeued.attempts) == (OutboxStatus.QUEUED, 0)
    assert requeued.next_attempt_at > message.created_at
    assert requeued.last_error == ERROR  # kept until it is sent
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "outbox.requeued")
    ).one()
    assert (event.actor_id, event.object_type, event.object_id) == (
        admin.id,
        "outbox_message",
        message.id,
    )

    first = outbox.deliver_outbox(db.session)
    second = outbox.deliver_outbox(db.session)

    assert (first.sent, second.sent) == (1, 0)
    assert len(smtp_server.to("nils.nord@test.example")) == 1
    assert subject_of(smtp_server.messages[0]) == message.subject
    sent = row(message.id)
    assert (sent.status, sent.attempts, sent.last_error) == (OutboxStatus.SENT, 1, None)
    assert sent.sent_at is not None


def test_two_clicks_requeue_once(client, person):
    message = factories.outbox_message(person, status="failed", last_error=ERROR)
    client.sign_in(factories.admin())

    client.post_form(f"/admin/outbox/{message.id}/resend")
    second = client.post_form(f"/admin/outbox/{message.id}/resend", follow_redirects=True)

    assert "Mejlet ligger redan i kö" in text(second)
    assert count(AuditEvent, AuditEvent.action == "outbox.requeued") == 1


def test_the_service_refuses_a_second_requeue_even_from_a_stale_row(app, person):
    message = factories.outbox_message(person, status="failed", last_error=ERROR)
    outbox_admin.requeue_failed(db.session, message.id, actor=None)
    db.session.commit()
    # Someone else's session loaded the row while it still said "failed".
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status=OutboxStatus.QUEUED)
        .execution_options(synchronize_session=False)
    )
    stale = db.session.get_one(OutboxMessage, message.id)
    set_committed_value(stale, "status", OutboxStatus.FAILED)  # what an earlier read held

    with pytest.raises(outbox_admin.OutboxError, match="ligger redan i kö"):
        outbox_admin.requeue_failed(db.session, message.id, actor=None)


def test_going_back_only_to_a_page_of_the_outbox(client, person):
    message = factories.outbox_message(person, status="failed", last_error=ERROR)
    client.sign_in(factories.admin())

    response = client.post_form(
        f"/admin/outbox/{message.id}/resend", {"back": "https://evil.example/admin/outbox"}
    )

    assert response.location == f"/admin/outbox/{message.id}"


def test_resending_needs_the_csrf_token(client, person):
    message = factories.outbox_message(person, status="failed", last_error=ERROR)
    client.sign_in(factories.admin())

    response = client.post(f"/admin/outbox/{message.id}/resend", data={})

    assert response.status_code == 400
    assert row(message.id).status == OutboxStatus.FAILED


def test_resend_all_failed_of_one_kind(client, person):
    reminders = [
        factories.outbox_message(person, status="failed", last_error=ERROR) for _ in range(2)
    ]
    digest = factories.outbox_message(person, kind="digest", status="failed", last_error=ERROR)
    sent = factories.outbox_message(person, status="sent")
    client.sign_in(factories.admin())

    page = text(client.get("/admin/outbox?kind=reminder"))
    assert "2 mejl av typen Påminnelse kunde inte skickas." in page
    response = client.post_form("/admin/outbox/resend-failed", {"kind": "reminder"})

    assert response.status_code == 302
    assert response.location == "/admin/outbox?status=queued&kind=reminder"
    assert [row(m.id).status for m in reminders] == [OutboxStatus.QUEUED] * 2
    assert row(digest.id).status == OutboxStatus.FAILED
    assert row(sent.id).status == OutboxStatus.SENT
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "outbox.requeued_all")
    ).one()
    assert event.details["count"] == 2 and event.details["kind"] == "reminder"
    assert sorted(event.details["message_ids"]) == sorted(m.id for m in reminders)

    again = client.post_form("/admin/outbox/resend-failed", {"kind": "reminder"})
    assert again.status_code == 302
    assert count(AuditEvent, AuditEvent.action == "outbox.requeued_all") == 1


def test_resend_all_failed_of_every_kind(app, person):
    factories.outbox_message(person, status="failed", last_error=ERROR)
    factories.outbox_message(person, kind="digest", status="failed", last_error=ERROR)

    assert outbox_admin.requeue_all_failed(db.session, actor=None) == 2
    db.session.commit()
    assert count(OutboxMessage, OutboxMessage.status == OutboxStatus.FAILED) == 0


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [None, Role.HR, Role.MANAGER, Role.COORDINATOR])
def test_only_admins_see_the_outbox(client, person, role):
    message = factories.outbox_message(person, status="failed", last_error=ERROR)
    me = factories.employee()
    if role == Role.HR or role == Role.COORDINATOR:
        factories.with_role(me, role, municipality_name="Järfälla")
    elif role == Role.MANAGER:
        factories.with_role(me, role, on_unit=person.unit)
    client.sign_in(me)

    for path in ("/admin/outbox", f"/admin/outbox/{message.id}"):
        assert client.get(path).status_code == 403
    assert client.post_form(f"/admin/outbox/{message.id}/resend").status_code == 403
    assert client.post_form("/admin/outbox/resend-failed").status_code == 403
    assert row(message.id).status == OutboxStatus.FAILED


def test_signed_out_visitors_are_sent_to_sign_in(client, person):
    message = factories.outbox_message(person)
    for path in ("/admin/outbox", f"/admin/outbox/{message.id}"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login")


def test_the_admin_page_links_to_the_outbox(client):
    client.sign_in(factories.admin())
    assert 'href="/admin/outbox">Utkorgen (e-post)</a>' in text(client.get("/admin/"))


# --- a person's page ------------------------------------------------------------------------


def test_the_person_page_lists_the_mails_they_received(client, person):
    manager = factories.employee(unit=person.unit, first_name="Maja")
    factories.outbox_message(person, kind="reminder", status="sent")
    factories.outbox_message(person, kind="completion_rejected", status="failed", last_error=ERROR)
    factories.outbox_message(manager, kind="escalation", status="sent")
    client.sign_in(factories.hr_staff("Järfälla"))

    page = text(client.get(f"/employees/{person.id}"))
    section = page[page.index('id="messages-heading"') : page.index('id="history-heading"')]

    assert "Påminnelse" in section and "Skickat" in section
    assert "Rapporten avvisades" in section and "Kunde inte skickas" in section
    assert "Påminnelse till chefen" not in section  # the manager's, on the manager's page
    assert "/admin/outbox/" not in section  # HR does not open the outbox

    client.sign_in(factories.admin())
    page = text(client.get(f"/employees/{manager.id}"))
    assert "Påminnelse till chefen" in page
    assert "/admin/outbox/" in page  # an admin goes on to the message
