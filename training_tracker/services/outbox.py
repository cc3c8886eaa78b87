"""The mail outbox: queue in the caller's transaction, deliver later, exactly once.

Queuing is idempotent by a unique key enforced by the database. Delivery claims each row with
a conditional UPDATE (queued → sending) so two senders running at once never both send it.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)


def absolute_url(endpoint: str, **values: object) -> str:
    """An absolute link for a mail, built from ``BASE_URL`` (no request needed)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _render(name: str, **context: object) -> str:
    # Straight from the Jinja environment, without the page context processors: those read
    # the signed-in user, and a mail is rendered the same with no request at all (the CLI,
    # the scheduler) as from whoever's request queued it.
    return current_app.jinja_env.get_template(name).render(**context)


def render_mail(template: str, language: str, **context: object) -> RenderedMail:
    """Render ``templates/mail/<template>.{subject,txt,html}`` in the recipient's language."""
    context = {"current_language": language, "today": clock.today(), **context}
    with force_locale(language):
        subject = _render(f"mail/{template}.subject.txt", **context).strip()
        text = _render(f"mail/{template}.txt", **context)
        html = _render(f"mail/{template}.html", subject=subject, **context)
    return RenderedMail(subject=" ".join(subject.split()), text=text, html=html)


def message_values(
    *, key: str, kind: str, recipient: Employee, mail: RenderedMail, now: datetime | None = None
) -> dict[str, Any]:
    """The columns of one outbox row."""
    now = now or clock.utcnow()
    return {
        "idempotency_key": key,
        "kind": kind,
        "recipient_id": recipient.id,
        "recipient_email": recipient.email,
        "subject": mail.subject,
        "body_text": mail.text,
        "body_html": mail.html,
        "status": OutboxStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def queue_many(
    session: Session, messages: list[dict[str, Any]], *, now: datetime | None = None
) -> list[int]:
    """Queue many messages with one executemany INSERT … ON CONFLICT DO NOTHING; returns the
    recipient ids of those queued (a key queued before is skipped, as in :func:`queue_mail`)."""
    if not messages:
        return []
    now = now or clock.utcnow()
    rows = [
        {"status": OutboxStatus.QUEUED.value, "attempts": 0, "next_attempt_at": now}
        | message
        | {"created_at": now}
        for message in messages
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    connection = session.connection()
    connection.execute(
        insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["idempotency_key"]),
        rows,
    )
    # Those whose row carries this call's timestamp were queued now; the others existed.
    keys = [row["idempotency_key"] for row in rows]
    queued: list[int] = []
    for start in range(0, len(keys), 900):
        queued.extend(
            session.scalars(
                sa.select(OutboxMessage.recipient_id).where(
                    OutboxMessage.idempotency_key.in_(keys[start : start + 900]),
                    OutboxMessage.created_at == now,
                )
            )
        )
    return queued


def queue_mail(
    session: Session,
    *,
    key: str,
    kind: str,
    recipient: Employee,
    mail: RenderedMail,
) -> OutboxMessage | None:
    """Add a message to the outbox in the caller's transaction.

    Returns None when a message with this key was queued before: the unique key, not a check
    first, is what makes this safe when two processes try at once.
    """
    message = OutboxMessage(**message_values(key=key, kind=kind, recipient=recipient, mail=mail))
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None
    return message


class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class PermanentMailError(Exception):
    """The mail server refused the message for good; retrying will not help."""


class SmtpBackend:
    """Delivers over SMTP with the Flask-Mail settings (MAIL_SERVER, MAIL_PORT, …).

    The standard library's smtplib, because we need a connect timeout and to tell a
    permanent refusal (5xx) from a passing failure, which Flask-Mail's wrapper hides.
    """

    def __init__(self, config: dict) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> None:
        cfg = self.config
        smtp_class = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
        try:
            with smtp_class(
                cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=cfg["MAIL_TIMEOUT_SECONDS"]
            ) as smtp:
                if cfg["MAIL_USE_TLS"]:
                    smtp.starttls()
                if cfg["MAIL_USERNAME"]:
                    smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentMailError(str(error)) from error
            raise
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            if error.smtp_code >= 500:
                raise PermanentMailError(str(error)) from error
            raise


class ConsoleBackend:
    """Development: print each message instead of sending it."""

    def send(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        print(f"--- mail to {message['To']}: {message['Subject']}\n{text}--- end of mail")


class FileBackend:
    """Development: write each message as an .eml file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{clock.utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
        (self.folder / name).write_bytes(message.as_bytes())


def backend_from_config() -> MailBackend:
    config = current_app.config
    kind = config["MAIL_BACKEND"]
    if kind == "smtp":
        return SmtpBackend(config)
    if kind == "console":
        return ConsoleBackend()
    if kind == "file":
        folder = config["MAIL_FILE_FOLDER"] or str(Path(current_app.instance_path) / "mail")
        return FileBackend(Path(folder))
    raise RuntimeError(f"MAIL_BACKEND must be smtp, console or file, not {kind!r}")


# Renderers of messages queued unwritten (``template`` set): given the row, they return the
# mail, or None when it no longer applies. Registered by the module that owns the mail.
Renderer = Callable[[Session, OutboxMessage], RenderedMail | None]
_renderers: dict[str, Renderer] = {}


def register_renderer(template: str) -> Callable[[Renderer], Renderer]:
    def decorator(renderer: Renderer) -> Renderer:
        _renderers[template] = renderer
        return renderer

    return decorator


def write_deferred(session: Session, message: OutboxMessage) -> bool:
    """Fill in a message queued unwritten; False if it no longer applies."""
    mail = _renderers[message.template](session, message) if message.template else None
    if mail is None:
        return False
    message.subject, message.body_text, message.body_html = mail.subject, mail.text, mail.html
    return True


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient_email
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}")
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_outbox(
    session: Session,
    *,
    backend: MailBackend | None = None,
    now: datetime | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Send what is due in the outbox; each message at most once, even with two senders."""
    backend = backend or backend_from_config()
    now = now or clock.utcnow()
    config = current_app.config
    report = DeliveryReport()
    claim = secrets.token_hex(8)
    due_ids = session.scalars(
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.QUEUED,
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    session.commit()
    for message_id in due_ids:
        claimed = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.QUEUED)
            .values(status=OutboxStatus.SENDING, claimed_by=claim, claimed_at=now)
        ).rowcount
        session.commit()
        if claimed != 1:
            continue  # another sender has it
        message = session.get_one(OutboxMessage, message_id)
        if message.template and not message.body_text and not write_deferred(session, message):
            message.status = OutboxStatus.CANCELLED
            message.claimed_by = None
            report.cancelled += 1
            session.commit()
            continue
        message.attempts += 1
        try:
            backend.send(build_email(message, config["MAIL_DEFAULT_SENDER"]))
        except Exception as error:  # noqa: BLE001 - any failure is recorded on the row
            error_text = f"{type(error).__name__}: {error}"[:2000]
            message.last_error = error_text
            message.claimed_by = None
            permanent = isinstance(error, PermanentMailError)
            if permanent or message.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
                message.status = OutboxStatus.FAILED
                report.failed += 1
            else:
                delay = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (message.attempts - 1)
                message.status = OutboxStatus.QUEUED
                message.next_attempt_at = now + timedelta(seconds=delay)
                report.retrying += 1
            report.errors.append(f"#{message.id} {message.recipient_email}: {error_text}")
            log.warning("Mail #%s to %s failed: %s", message.id, message.recipient_email, error)
        else:
            message.status = OutboxStatus.SENT
            message.sent_at = now
            message.last_error = None
            report.sent += 1
        session.commit()
    return report
