"""The mail outbox (issue #2): queued in the caller's transaction, at most once per key, and
delivered over real SMTP exactly once, even when the server is down or two senders run."""

from __future__ import annotations

import threading
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError

from tests import factories
from tests.conftest import MailCatcher, count, free_port, mail_html, mail_text
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Employee, OutboxMessage, OutboxStatus
from training_tracker.services import outbox
from training_tracker.services.outbox import RenderedMail

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


def test_two_senders_at_once_send_each_message_exactly_once(
    app: Flask, person: Employee, smtp_server: MailCatcher
) -> None:
    for n in range(1, 21):
        mail = RenderedMail(subject=f"Meddelande {n}", text=f"Nummer {n}\n", html="")
        queue(person, key=f"reminder:{n}", mail=mail)
    start = threading.Barrier(2, timeout=30)
    reports: list[outbox.DeliveryReport] = []
    errors: list[BaseException] = []

    def sender() -> None:
        with app.app_context():
            try:
                start.wait()
                reports.append(outbox.deliver_outbox(db.session))
            except BaseException as error:  # noqa: BLE001 - reported by the test below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
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
