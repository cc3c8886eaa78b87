"""The mail outbox (issue #2): queued in the caller's transaction, at most once per key, and
delivered over real SMTP exactly once, even when the server is down or two senders run."""

from __future__ import annotations

import email.policy
import smtplib
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage, Message

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests import factories
from tests.conftest import (
    MailCatcher,
    count,
    counting_statements,
    free_port,
    mail_html,
    mail_text,
)
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Employee, OutboxMessage, OutboxStatus
from training_tracker.services.messaging import mail_rendering, outbox
from training_tracker.services.messaging.outbox import RenderedMail

MAIL = RenderedMail(
    subject="Påminnelse: Webbkurs om våld",
    text="Hej Åsa,\n\nDu har en kurs kvar att gå.\n",
    html='<!doctype html><html lang="sv"><body><p>Hej Åsa,</p></body></html>',
)


@pytest.fixture()
def person() -> Employee:
    return factories.employee(email="asa.berg@sigtuna.example", first_name="Åsa", password=None)


def queue(person: Employee, key: str = "reminder:1", mail: RenderedMail = MAIL) -> OutboxMessage:
    message = outbox.queue_mail(db.session, key=key, kind="reminder", recipient=person, mail=mail)
    assert message is not None
    db.session.commit()
    return message


def row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get_one(OutboxMessage, message_id)


def subject_of(mail: Message) -> str:
    return str(make_header(decode_header(mail["Subject"])))


@pytest.fixture()
def mail_server_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """MAIL_PORT points at a loopback port where nothing listens."""
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())


# --- queuing ---------------------------------------------------------------------------------


def test_queuing_twice_with_the_same_key_keeps_one_row(person: Employee) -> None:
    outbox.queue_mail(db.session, key="reminder:1", kind="reminder", recipient=person, mail=MAIL)
    outbox.queue_mail(db.session, key="reminder:1", kind="reminder", recipient=person, mail=MAIL)
    db.session.commit()

    assert count(OutboxMessage) == 1


def test_queuing_again_with_the_same_key_returns_none(person: Employee) -> None:
    queue(person, key="reminder:1")

    again = outbox.queue_mail(
        db.session, key="reminder:1", kind="reminder", recipient=person, mail=MAIL
    )

    assert again is None


def test_a_duplicate_key_does_not_spoil_the_callers_transaction(person: Employee) -> None:
    queue(person, key="reminder:1")
    person.first_name = "Åsa-Lena"
    outbox.queue_mail(db.session, key="reminder:1", kind="reminder", recipient=person, mail=MAIL)
    outbox.queue_mail(db.session, key="reminder:2", kind="reminder", recipient=person, mail=MAIL)
    db.session.commit()

    db.session.expire_all()
    assert person.first_name == "Åsa-Lena"
    keys = db.session.scalars(sa.select(OutboxMessage.idempotency_key)).all()
    assert sorted(keys) == ["reminder:1", "reminder:2"]


def test_the_database_itself_refuses_a_second_row_with_the_same_key(person: Employee) -> None:
    """Not a check in Python: two processes queuing at once cannot both succeed."""
    queue(person, key="reminder:1")
    db.session.add(
        OutboxMessage(
            idempotency_key="reminder:1",
            kind="reminder",
            recipient_email=person.email,
            subject="x",
            body_text="x",
        )
    )

    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_queued_message_waits_in_the_outbox(person: Employee) -> None:
    message = queue(person)

    assert row(message.id).status == OutboxStatus.QUEUED
    assert row(message.id).attempts == 0


# --- delivery over SMTP ----------------------------------------------------------------------


def test_delivery_sends_the_mail_to_the_recipient_over_smtp(
    app: Flask, person: Employee, smtp_server: MailCatcher
) -> None:
    queue(person)

    report = outbox.deliver_outbox(db.session)

    assert report.sent == 1
    assert smtp_server.envelopes == [("no-reply@localhost", ["asa.berg@sigtuna.example"])]
    [mail] = smtp_server.messages
    assert mail["To"] == "asa.berg@sigtuna.example"


def test_delivered_mail_is_from_the_default_sender_with_subject_and_message_id(
    app: Flask, person: Employee, smtp_server: MailCatcher
) -> None:
    queue(person)

    outbox.deliver_outbox(db.session)

    [mail] = smtp_server.messages
    assert str(make_header(decode_header(mail["From"]))) == app.config["MAIL_DEFAULT_SENDER"]
    assert subject_of(mail) == "Påminnelse: Webbkurs om våld"
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith(">")
    assert mail["Date"]


def test_delivered_mail_has_a_text_part_and_an_html_part(
    person: Employee, smtp_server: MailCatcher
) -> None:
    queue(person)

    outbox.deliver_outbox(db.session)

    [mail] = smtp_server.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert mail_text(mail).replace("\r\n", "\n") == MAIL.text  # CRLF on the wire
    assert "<p>Hej Åsa,</p>" in mail_html(mail)


def test_delivered_message_is_marked_sent_with_the_time(
    person: Employee, smtp_server: MailCatcher
) -> None:
    message = queue(person)
    now = clock.utcnow()

    outbox.deliver_outbox(db.session, now=now)

    sent = row(message.id)
    assert sent.status == OutboxStatus.SENT
    assert sent.sent_at == now
    assert sent.attempts == 1
    assert sent.last_error is None


def test_a_second_delivery_sends_nothing_more(person: Employee, smtp_server: MailCatcher) -> None:
    queue(person)
    outbox.deliver_outbox(db.session)

    report = outbox.deliver_outbox(db.session)

    assert report.sent == 0
    assert len(smtp_server.messages) == 1


def test_a_mail_is_built_as_with_the_standard_email_policy(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox's policy only makes each kind of header once, for speed."""
    message = OutboxMessage(id=7, recipient_email="åsa.berg@sigtuna.example")
    sender = app.config["MAIL_DEFAULT_SENDER"]

    def wire(built: EmailMessage) -> bytes:
        data = built.as_bytes()
        for header in ("Date", "Message-ID"):
            data = data.replace(str(built[header]).encode(), b"")
        return data.replace(built.get_boundary().encode(), b"")

    ours = wire(mail_rendering.build_email(message, MAIL, sender))
    monkeypatch.setattr(mail_rendering, "_MAIL_POLICY", email.policy.default)

    assert ours == wire(mail_rendering.build_email(message, MAIL, sender))


def test_mails_in_each_language_leave_the_pages_translations_alone(
    app: Flask, client: FlaskClient, person: Employee
) -> None:
    """Mails are rendered with their language's translations bound in (no lookup per
    string); the pages keep following the visitor's language."""
    pages_gettext = app.jinja_env.globals["gettext"]
    context = {"employee": person, "reset_url": "https://x.example/r", "valid_minutes": 30}
    for _ in range(2):  # alternating, each language's environment made once and kept
        english = outbox.render_mail("password_reset", "en", **context)
        swedish = outbox.render_mail("password_reset", "sv", **context)
        assert english.subject == "Choose a new password"
        assert swedish.subject == "Välj nytt lösenord"
        assert "Someone, hopefully you" in english.text and "30 minutes" in english.text
        assert "30 minuter" in swedish.text

    assert app.jinja_env.globals["gettext"] is pages_gettext
    assert "Logga in" in client.get("/login").get_data(as_text=True)
    client.post_form("/language", {"language": "en", "next": "/login"})
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_headers_alike_in_every_mail_are_parsed_once_and_the_others_each_time(
    app: Flask,
) -> None:
    registry = mail_rendering._HeaderClasses()
    sender = registry("From", "Utbildning <noreply@example.se>")
    assert registry("From", "Utbildning <noreply@example.se>") is sender
    assert registry("From", "Annan <annan@example.se>").addresses[0].username == "annan"
    subject = registry("Subject", "Påminnelse")
    assert registry("Subject", "Påminnelse") is not subject  # differs from mail to mail
    multipart = 'multipart/alternative; boundary="===1=="'
    assert registry("Content-Type", multipart) is not registry("Content-Type", multipart)
    for n in range(mail_rendering._HeaderClasses.MOST_KEPT * 2):  # kept few, however many values
        assert registry("From", f"n{n}@example.se").addresses[0].username == f"n{n}"
    assert len(registry._parsed) <= mail_rendering._HeaderClasses.MOST_KEPT

    built = [
        mail_rendering.build_email(
            OutboxMessage(id=n, recipient_email=f"p{n}@x.example"), MAIL, "a@b.se"
        )
        for n in range(3)
    ]
    parsed = [message_from_bytes(mail.as_bytes()) for mail in built]
    assert [mail["To"] for mail in parsed] == ["p0@x.example", "p1@x.example", "p2@x.example"]
    assert len({mail.get_boundary() for mail in parsed}) == 3
    assert all(
        [part.get_content_type() for part in mail.walk()]
        == ["multipart/alternative", "text/plain", "text/html"]
        for mail in parsed
    )


def test_the_text_parts_are_quoted_printable_utf8_and_decode_to_exactly_the_mail(
    app: Flask,
) -> None:
    tricky = (
        "Hej Åsa,\n"
        + "En rad som är längre än sjuttiosex tecken, så att den måste brytas mjukt: " * 3
        + "\nFrom början\n.\nlikhetstecken = 1 + 1 \t \nslutet utan radbrytning"
    )
    mail = RenderedMail("Påminnelse", tricky, f"<p>{tricky}</p>")
    built = mail_rendering.build_email(
        OutboxMessage(id=1, recipient_email="a@x.example"), mail, "b@y.se"
    )
    wire = built.as_bytes()
    assert max(len(line) for line in wire.split(b"\n")) <= 78
    assert wire.isascii(), "7-bit clean, for any relay"

    parsed = message_from_bytes(wire, policy=email.policy.default)
    text, html = (part for part in parsed.walk() if part.get_content_maintype() == "text")
    for part, expected in ((text, tricky), (html, f"<p>{tricky}</p>")):
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8"
        assert part.get_content() == expected


# --- failures --------------------------------------------------------------------------------


def test_mail_server_down_keeps_the_message_queued_for_a_retry(
    app: Flask, person: Employee, mail_server_down: None
) -> None:
    message = queue(person)
    now = clock.utcnow()

    report = outbox.deliver_outbox(db.session, now=now)

    waiting = row(message.id)
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    assert waiting.status == OutboxStatus.QUEUED
    assert waiting.attempts == 1
    assert waiting.last_error
    retry_after = timedelta(seconds=app.config["OUTBOX_RETRY_BASE_SECONDS"])
    assert waiting.next_attempt_at == now + retry_after


def test_message_is_not_retried_before_its_time(person: Employee, mail_server_down: None) -> None:
    message = queue(person)
    now = clock.utcnow()
    outbox.deliver_outbox(db.session, now=now)

    outbox.deliver_outbox(db.session, now=row(message.id).next_attempt_at - timedelta(seconds=0.5))

    assert row(message.id).attempts == 1


def test_retries_wait_twice_as_long_each_time(
    app: Flask, person: Employee, mail_server_down: None
) -> None:
    message = queue(person)
    now = clock.utcnow()
    waits = []
    for _ in range(3):
        outbox.deliver_outbox(db.session, now=now)
        next_attempt_at = row(message.id).next_attempt_at
        waits.append((next_attempt_at - now).total_seconds())
        now = next_attempt_at

    base = app.config["OUTBOX_RETRY_BASE_SECONDS"]
    assert waits == [base, 2 * base, 4 * base]


def test_message_fails_after_outbox_max_attempts(
    app: Flask, person: Employee, mail_server_down: None
) -> None:
    message = queue(person)
    now = clock.utcnow()
    for _ in range(app.config["OUTBOX_MAX_ATTEMPTS"] - 1):
        outbox.deliver_outbox(db.session, now=now)
        assert row(message.id).status == OutboxStatus.QUEUED
        now = row(message.id).next_attempt_at

    report = outbox.deliver_outbox(db.session, now=now)

    failed = row(message.id)
    assert report.failed == 1
    assert failed.status == OutboxStatus.FAILED
    assert failed.attempts == app.config["OUTBOX_MAX_ATTEMPTS"]
    assert failed.last_error


def test_a_failed_message_is_never_sent_later(
    app: Flask, person: Employee, smtp_server: MailCatcher
) -> None:
    smtp_server.refuse_with = "550 5.1.1 No such user"
    queue(person)
    outbox.deliver_outbox(db.session)
    smtp_server.refuse_with = None

    report = outbox.deliver_outbox(db.session, now=clock.utcnow() + timedelta(days=1))

    assert report.sent == 0
    assert smtp_server.messages == []


def test_a_permanent_refusal_fails_the_message_at_once(
    person: Employee, smtp_server: MailCatcher
) -> None:
    smtp_server.refuse_with = "550 5.1.1 No such user"
    message = queue(person)

    report = outbox.deliver_outbox(db.session)

    failed = row(message.id)
    assert report.failed == 1
    assert failed.status == OutboxStatus.FAILED
    assert failed.attempts == 1
    assert "No such user" in failed.last_error


def test_a_passing_refusal_is_retried(person: Employee, smtp_server: MailCatcher) -> None:
    smtp_server.refuse_with = "450 4.2.1 Mailbox busy, try later"
    message = queue(person)

    outbox.deliver_outbox(db.session)

    assert row(message.id).status == OutboxStatus.QUEUED
    assert "Mailbox busy" in row(message.id).last_error


# --- two senders -----------------------------------------------------------------------------


def two_senders(
    app: Flask, deliver: Callable[[], list[outbox.DeliveryReport]]
) -> list[outbox.DeliveryReport]:
    """Run ``deliver`` in two threads released together; their reports. Fails on any error."""
    start = threading.Barrier(2, timeout=30)
    reports: list[outbox.DeliveryReport] = []
    errors: list[BaseException] = []

    def sender() -> None:
        with app.app_context():
            try:
                start.wait()
                reports.extend(deliver())
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return reports


def test_two_senders_at_once_send_each_message_exactly_once(
    app: Flask, person: Employee, smtp_server: MailCatcher
) -> None:
    for n in range(1, 21):
        mail = RenderedMail(subject=f"Meddelande {n}", text=f"Nummer {n}\n", html="")
        queue(person, key=f"reminder:{n}", mail=mail)

    reports = two_senders(app, lambda: [outbox.deliver_outbox(db.session)])

    assert sorted(subject_of(m) for m in smtp_server.messages) == sorted(
        f"Meddelande {n}" for n in range(1, 21)
    )
    assert sum(report.sent for report in reports) == 20
    statuses = db.session.scalars(sa.select(OutboxMessage.status)).all()
    assert statuses == [OutboxStatus.SENT] * 20


# --- development backends --------------------------------------------------------------------


def test_file_backend_writes_each_mail_as_an_eml_file(
    app: Flask, person: Employee, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "MAIL_FILE_FOLDER", str(tmp_path))
    message = queue(person)

    outbox.deliver_outbox(db.session)

    [eml] = tmp_path.glob("*.eml")
    mail = message_from_bytes(eml.read_bytes())
    assert mail["To"] == "asa.berg@sigtuna.example"
    assert subject_of(mail) == "Påminnelse: Webbkurs om våld"
    assert mail_text(mail) == MAIL.text
    assert row(message.id).status == OutboxStatus.SENT


def test_console_backend_prints_each_mail(
    app: Flask,
    person: Employee,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")
    message = queue(person)

    outbox.deliver_outbox(db.session)

    printed = capsys.readouterr().out
    assert "--- mail to asa.berg@sigtuna.example: Påminnelse: Webbkurs om våld" in printed
    assert "Du har en kurs kvar att gå." in printed
    assert row(message.id).status == OutboxStatus.SENT


def test_an_unknown_backend_is_a_clear_error(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "pigeon")

    with pytest.raises(RuntimeError, match="MAIL_BACKEND must be smtp, console or file"):
        outbox.deliver_outbox(db.session)


# --- batches ---------------------------------------------------------------------------------


def staff(count: int, tag: str = "p") -> list[Employee]:
    return [
        factories.employee(
            email=f"{tag}{n:02d}@sigtuna.example", first_name=f"{tag.upper()}{n}", password=None
        )
        for n in range(count)
    ]


def queue_each(people: list[Employee]) -> list[int]:
    """One message to each, written now; their ids."""
    return [queue(person, key=f"note:{person.email}").id for person in people]


def connections_of(server: MailCatcher, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The client's address of each mail that arrives: one port per SMTP connection."""
    peers: list[object] = []
    receive = server.handle_DATA

    async def handle_DATA(smtp, session, envelope):  # type: ignore[no-untyped-def]
        peers.append(session.peer)
        return await receive(smtp, session, envelope)

    monkeypatch.setattr(server, "handle_DATA", handle_DATA)
    return peers


def refuse(server: MailCatcher, monkeypatch: pytest.MonkeyPatch, replies: dict[str, str]) -> None:
    """The server answers RCPT TO for these addresses with these replies."""
    accept = server.handle_RCPT

    async def handle_RCPT(smtp, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in replies:
            return replies[address]
        return await accept(smtp, session, envelope, address, rcpt_options)

    monkeypatch.setattr(server, "handle_RCPT", handle_RCPT)


@pytest.fixture()
def note_template(monkeypatch: pytest.MonkeyPatch) -> str:
    """A mail written when it is sent, addressed by name; none to someone who has left."""

    def write_note(session: Session, message: OutboxMessage) -> RenderedMail | None:
        recipient = session.get(Employee, message.recipient_id)
        if recipient is None or not recipient.active:
            return None
        return RenderedMail(f"Till {recipient.first_name}", f"Hej {recipient.first_name}!\n", "")

    monkeypatch.setitem(mail_rendering._renderers, "note", write_note)
    return "note"


def queue_unwritten(people: list[Employee], template: str) -> None:
    for person in people:
        factories.outbox_message(person, subject="", body_text="").template = template
    db.session.commit()


class Stopped(BaseException):
    """What a signal or a stop raises: not an Exception, so not a failure of the message."""


class Recorder:
    """A backend that takes each message, or is stopped while handing over the n-th."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at = stop_at
        self.sent: list[str] = []

    def send(self, message: EmailMessage) -> None:
        if len(self.sent) + 1 == self.stop_at:
            raise Stopped
        self.sent.append(message["To"])


def test_a_batch_takes_the_same_statements_for_5_and_for_50_messages(
    smtp_server: MailCatcher,
) -> None:
    queue_each(staff(5, "a"))
    with counting_statements() as few:
        assert outbox.deliver_outbox(db.session).sent == 5
    queue_each(staff(50, "b"))
    with counting_statements() as many:
        assert outbox.deliver_outbox(db.session).sent == 50

    assert len(smtp_server.messages) == 55
    assert len(few) == len(many) == 3  # claim, load, mark sent


def test_mails_written_when_sent_take_the_same_statements_for_5_and_for_50(
    smtp_server: MailCatcher, note_template: str
) -> None:
    """The recipients are loaded together, not by each renderer; one who has left is not
    written to, in both batches."""
    few_people, many_people = staff(5, "a"), staff(50, "b")
    few_people[0].active = many_people[0].active = False
    queue_unwritten(few_people, note_template)
    with counting_statements() as few:
        report = outbox.deliver_outbox(db.session)
    assert (report.sent, report.cancelled) == (4, 1)
    queue_unwritten(many_people, note_template)
    with counting_statements() as many:
        report = outbox.deliver_outbox(db.session)
    assert (report.sent, report.cancelled) == (49, 1)

    assert len(few) == len(many)
    assert subject_of(smtp_server.to("b07@sigtuna.example")[0]) == "Till B7"
    written = db.session.scalars(
        sa.select(OutboxMessage.subject).where(
            OutboxMessage.recipient_email == "b07@sigtuna.example"
        )
    ).one()
    assert written == "Till B7"  # kept on the row, as sent


def test_a_batch_takes_no_more_than_its_limit_oldest_first() -> None:
    ids = queue_each(staff(30))
    backend = Recorder()
    if db.session.get_bind().dialect.name == "postgresql":
        # The plan PostgreSQL picks for an outbox it has no statistics of yet (a day's mails
        # just queued): a nested loop that chooses the due messages again for every row,
        # each time past those claimed already, unless the choice is made once.
        for setting in ("hashjoin", "hashagg", "mergejoin", "material", "sort"):
            db.session.execute(sa.text(f"SET LOCAL enable_{setting} = off"))

    report = outbox.deliver_outbox(db.session, backend=backend, limit=7)

    assert report.sent == 7
    assert backend.sent == [f"p{n:02d}@sigtuna.example" for n in range(7)]
    assert [row(i).status for i in ids].count(OutboxStatus.QUEUED) == 23


def test_a_batch_goes_over_one_smtp_connection(
    smtp_server: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    peers = connections_of(smtp_server, monkeypatch)
    queue_each(staff(10))

    report = outbox.deliver_outbox(db.session)

    assert report.sent == 10
    assert len(peers) == 10
    assert len(set(peers)) == 1


def test_a_recipient_refused_mid_batch_fails_alone_and_the_others_are_sent(
    app: Flask, smtp_server: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = staff(6)
    refuse(
        smtp_server,
        monkeypatch,
        {
            people[2].email: "550 5.1.1 No such user",
            people[4].email: "450 4.2.1 Mailbox busy, try later",
        },
    )
    peers = connections_of(smtp_server, monkeypatch)
    ids = queue_each(people)
    now = clock.utcnow()

    report = outbox.deliver_outbox(db.session, now=now)

    assert (report.sent, report.failed, report.retrying) == (4, 1, 1)
    refused, busy = row(ids[2]), row(ids[4])
    assert (refused.status, refused.attempts) == (OutboxStatus.FAILED, 1)
    assert "No such user" in refused.last_error
    assert (busy.status, busy.attempts) == (OutboxStatus.QUEUED, 1)
    assert "Mailbox busy" in busy.last_error
    retry_after = timedelta(seconds=app.config["OUTBOX_RETRY_BASE_SECONDS"])
    assert busy.next_attempt_at == now + retry_after
    others = [ids[n] for n in (0, 1, 3, 5)]
    assert {row(i).status for i in others} == {OutboxStatus.SENT}
    assert {row(i).last_error for i in others} == {None}
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        people[n].email for n in (0, 1, 3, 5)
    )
    assert len(set(peers)) == 1  # a refusal does not cost the connection


def test_a_connection_the_server_drops_mid_batch_is_opened_again(
    smtp_server: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    peers = connections_of(smtp_server, monkeypatch)
    senders: list[str] = []

    async def handle_MAIL(smtp, session, envelope, address, mail_options):  # type: ignore[no-untyped-def]
        senders.append(address)
        if len(senders) == 3:
            smtp.transport.abort()  # gone before answering, as after an idle timeout
            return "421 4.4.2 Closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    monkeypatch.setattr(smtp_server, "handle_MAIL", handle_MAIL, raising=False)
    people = staff(5)
    ids = queue_each(people)

    report = outbox.deliver_outbox(db.session)

    assert (report.sent, report.retrying, report.failed) == (5, 0, 0)
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(p.email for p in people)
    assert {row(i).attempts for i in ids} == {1}
    assert len(set(peers)) == 2


def test_a_mail_server_that_cannot_be_reached_is_tried_once_per_batch(
    mail_server_down: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[object] = []

    class CountedSMTP(smtplib.SMTP):
        def __init__(self, *args: object, **kwargs: object) -> None:
            connects.append(args)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(smtplib, "SMTP", CountedSMTP)
    ids = queue_each(staff(4))

    report = outbox.deliver_outbox(db.session)

    assert (report.sent, report.retrying) == (0, 4)
    assert len(connects) == 1
    assert all(row(i).status == OutboxStatus.QUEUED and row(i).last_error for i in ids)


def test_a_renderer_that_fails_fails_its_own_message_only(
    smtp_server: MailCatcher, note_template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when a query failed, which on PostgreSQL spoils the rest of the transaction."""
    write_note = mail_rendering._renderers[note_template]

    def fragile(session: Session, message: OutboxMessage) -> RenderedMail | None:
        if message.recipient_email == "p01@sigtuna.example":
            session.execute(sa.text("SELECT no_such_column FROM outbox_messages"))
        return write_note(session, message)

    monkeypatch.setitem(mail_rendering._renderers, note_template, fragile)
    queue_unwritten(staff(3), note_template)

    report = outbox.deliver_outbox(db.session)

    assert (report.sent, report.retrying) == (2, 1)
    failed = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.recipient_email == "p01@sigtuna.example")
    ).one()
    assert failed.status == OutboxStatus.QUEUED
    assert "no_such_column" in failed.last_error


def test_a_batch_renderer_writes_all_its_messages_at_once(
    smtp_server: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def write_notes(
        session: Session, messages: Sequence[OutboxMessage]
    ) -> dict[int, RenderedMail | None]:
        calls.append(len(messages))
        return {m.id: RenderedMail("Samlat", f"Till {m.recipient_email}\n", "") for m in messages}

    monkeypatch.setitem(mail_rendering._batch_renderers, "notes", write_notes)
    queue_unwritten(staff(4), "notes")

    report = outbox.deliver_outbox(db.session)

    assert report.sent == 4
    assert calls == [4]
    assert {subject_of(m) for m in smtp_server.messages} == {"Samlat"}


def test_an_interrupted_batch_keeps_what_was_sent_and_gives_back_what_was_not_tried() -> None:
    ids = queue_each(staff(5))

    with pytest.raises(Stopped):
        outbox.deliver_outbox(db.session, backend=Recorder(stop_at=3))

    statuses = [row(i).status for i in ids]
    # The third may have gone when it stopped: it stays "sending", never sent twice.
    assert statuses == [OutboxStatus.SENT] * 2 + [OutboxStatus.SENDING] + [OutboxStatus.QUEUED] * 2
    assert row(ids[2]).claimed_at is not None
    again = Recorder()
    assert outbox.deliver_outbox(db.session, backend=again).sent == 2
    assert again.sent == ["p03@sigtuna.example", "p04@sigtuna.example"]


def test_two_senders_taking_small_batches_at_once_send_each_message_exactly_once(
    app: Flask, person: Employee, smtp_server: MailCatcher
) -> None:
    for n in range(1, 91):
        mail = RenderedMail(subject=f"Meddelande {n}", text=f"Nummer {n}\n", html="")
        queue(person, key=f"reminder:{n}", mail=mail)

    def in_batches_of_four() -> list[outbox.DeliveryReport]:
        reports = []
        while (report := outbox.deliver_outbox(db.session, limit=4)).sent:
            reports.append(report)
        return reports

    reports = two_senders(app, in_batches_of_four)

    arrived = [subject_of(m) for m in smtp_server.messages]
    assert sorted(arrived) == sorted(f"Meddelande {n}" for n in range(1, 91))
    assert sum(report.sent for report in reports) == 90
    rows = db.session.execute(sa.select(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert set(rows) == {(OutboxStatus.SENT, 1)}
