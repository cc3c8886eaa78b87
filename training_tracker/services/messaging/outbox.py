"""The mail outbox: queue in the caller's transaction, deliver later, exactly once.

Queuing is idempotent by a unique key enforced by the database. Delivery works in batches: one
conditional UPDATE claims a batch (queued → sending), so two senders running at once never both
send a message; the batch goes over one SMTP connection and its outcomes are recorded together.
"""

from __future__ import annotations

import binascii
import logging
import secrets
import smtplib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.contentmanager import ContentManager
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import default as standard_policy
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_translations
from jinja2 import Environment
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


def _mail_environment(language: str) -> Environment:
    """A Jinja environment for mails in ``language``, with its translations bound in, made
    once per language. Flask-Babel's gettext looks the translations up through the app
    context at every string, a large share of the time a mail takes to render; a mail's
    language is known before it is rendered, so its strings need no lookup."""
    made: dict[str, Environment] = current_app.extensions.setdefault("mail_environments", {})
    if language not in made:
        # A new environment, not an overlay: an overlay shares its parent's globals and its
        # i18n methods, so installing translations there would change every page's.
        environment = current_app.create_jinja_environment()
        pages = current_app.jinja_env
        environment.filters.update(pages.filters)
        environment.tests.update(pages.tests)
        environment.globals.update(pages.globals)
        environment.add_extension("jinja2.ext.i18n")
        with force_locale(language):
            translations = get_translations()
        environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        made[language] = environment
    return made[language]


def _render(environment: Environment, name: str, **context: object) -> str:
    # Without the page context processors: those read the signed-in user, and a mail is
    # rendered the same with no request at all (the CLI, the scheduler) as from whoever's
    # request queued it.
    return environment.get_template(name).render(**context)


def render_mail(template: str, language: str, **context: object) -> RenderedMail:
    """Render ``templates/mail/<template>.{subject,txt,html}`` in the recipient's language."""
    context = {"current_language": language, "today": clock.today(), **context}
    environment = _mail_environment(language)
    with force_locale(language):  # for the date and number filters
        subject = _render(environment, f"mail/{template}.subject.txt", **context).strip()
        text = _render(environment, f"mail/{template}.txt", **context)
        html = _render(environment, f"mail/{template}.html", subject=subject, **context)
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


class SmtpConnection:
    """One SMTP session for many messages: opened at the first, opened again when the server
    has closed it in between, closed with QUIT at the end (``with``).

    The standard library's smtplib, because we need a connect timeout and to tell a
    permanent refusal (5xx) from a passing failure, which Flask-Mail's wrapper hides.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None
        self._cannot_connect: Exception | None = None

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connected(self) -> smtplib.SMTP:
        if self._cannot_connect is not None:
            # Not again for every message of the batch: each would wait for the same timeout
            # (or try the same wrong password).
            raise self._cannot_connect
        if self._smtp is None:
            cfg = self.config
            smtp_class = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
            smtp: smtplib.SMTP | None = None
            try:
                smtp = smtp_class(
                    cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=cfg["MAIL_TIMEOUT_SECONDS"]
                )
                if cfg["MAIL_USE_TLS"]:
                    smtp.starttls()
                if cfg["MAIL_USERNAME"]:
                    smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            except Exception as error:
                if smtp is not None:
                    smtp.close()
                self._cannot_connect = error
                raise
            self._smtp = smtp
        return self._smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            # A server gone already leaves nothing to close politely.
            with suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._drop()

    def send(self, message: EmailMessage) -> None:
        held_open = self._smtp is not None
        try:
            try:
                self._connected().send_message(message)
            except smtplib.SMTPServerDisconnected:
                self._drop()
                if not held_open:
                    raise
                # The server closed the connection kept open since the last message (an idle
                # timeout, a cap on messages per connection) and so did not take this one:
                # send it once more on a new connection.
                self._connected().send_message(message)
        # After these three smtplib has reset the session: the connection serves the next one.
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentMailError(str(error)) from error
            raise
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            if error.smtp_code >= 500:
                raise PermanentMailError(str(error)) from error
            raise
        except BaseException:
            self._drop()  # in a state we do not know: the next message opens a new one
            raise


class SmtpBackend:
    """Delivers over SMTP with the Flask-Mail settings (MAIL_SERVER, MAIL_PORT, …)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def connection(self) -> SmtpConnection:
        """One connection for a batch of messages (see :func:`deliver_outbox`)."""
        return SmtpConnection(self.config)

    def send(self, message: EmailMessage) -> None:
        with self.connection() as connection:
            connection.send(message)


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


def _connection(backend: MailBackend) -> AbstractContextManager[MailBackend]:
    """What sends a batch: one SMTP connection for all of it, or the backend itself."""
    if isinstance(backend, SmtpBackend):
        return backend.connection()
    return nullcontext(backend)


# Renderers of messages queued unwritten (``template`` set): given the row, they return the
# mail, or None when it no longer applies. Registered by the module that owns the mail.
Renderer = Callable[[Session, OutboxMessage], RenderedMail | None]
_renderers: dict[str, Renderer] = {}
# The same for all of a batch's messages of a template at once, for mails whose data is
# cheaper loaded together than message by message: the mail (or None) of each, by message id.
BatchRenderer = Callable[[Session, Sequence[OutboxMessage]], Mapping[int, RenderedMail | None]]
_batch_renderers: dict[str, BatchRenderer] = {}


def register_renderer(template: str) -> Callable[[Renderer], Renderer]:
    def decorator(renderer: Renderer) -> Renderer:
        _renderers[template] = renderer
        return renderer

    return decorator


def register_batch_renderer(template: str) -> Callable[[BatchRenderer], BatchRenderer]:
    def decorator(renderer: BatchRenderer) -> BatchRenderer:
        _batch_renderers[template] = renderer
        return renderer

    return decorator


def write_deferred(
    session: Session, messages: Sequence[OutboxMessage]
) -> dict[int, RenderedMail | Exception | None]:
    """Write messages queued unwritten: the mail of each, by message id; None when it no longer
    applies, or the exception its renderer raised (recorded on that message alone, as a failed
    attempt). The recipients are loaded in one query first, so a renderer finds its recipient
    in the session rather than asking the database once per message."""
    recipient_ids = {message.recipient_id for message in messages if message.recipient_id}
    # Held here while rendering: the session keeps only weak references to what it loaded.
    recipients = (
        session.scalars(sa.select(Employee).where(Employee.id.in_(recipient_ids))).all()
        if recipient_ids
        else []
    )
    by_template: dict[str, list[OutboxMessage]] = defaultdict(list)
    for message in messages:
        by_template[message.template or ""].append(message)
    mails: dict[int, RenderedMail | Exception | None] = {}
    for template, group in by_template.items():
        if template in _batch_renderers:
            try:
                written = _batch_renderers[template](session, group)
            except Exception as error:  # noqa: BLE001 - recorded on each of the messages
                written = {message.id: error for message in group}
            mails.update({message.id: written.get(message.id) for message in group})
            continue
        for message in group:
            try:
                mails[message.id] = _renderers[template](session, message)
            except Exception as error:  # noqa: BLE001 - recorded on the message
                mails[message.id] = error
    del recipients
    return mails


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, making each kind of header's class once (Python 3.11
    makes a new class for every header of every message, a third of the time it takes to
    build one), and parsing each of the headers that every mail carries alike once (the
    sender, the MIME headers of the text and HTML parts): parsing is most of the rest."""

    # Headers whose few values repeat from mail to mail; a header is an immutable str.
    ALIKE = frozenset(
        {"from", "auto-submitted", "mime-version", "content-type", "content-transfer-encoding"}
    )
    MOST_KEPT = 64

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}
        self._parsed: dict[tuple[str, str], BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()  # the class depends on the name alone, not on its case
        if key not in self._made:
            self._made[key] = super().__getitem__(name)
        return self._made[key]

    def __call__(self, name: str, value: str) -> BaseHeader:
        if name.lower() not in self.ALIKE or "boundary=" in value:  # a boundary is unique
            return self[name](name, value)
        key = (name, value)
        if key not in self._parsed:
            if len(self._parsed) >= self.MOST_KEPT:
                self._parsed.clear()
            self._parsed[key] = self[name](name, value)
        return self._parsed[key]


_MAIL_POLICY = standard_policy.clone(header_factory=_HeaderClasses())


def _set_text(part: EmailMessage, text: str, subtype: str = "plain") -> None:
    """A text part in UTF-8, quoted-printable (readable, 7-bit clean for any relay), encoded
    by binascii's C code: the standard content manager's pure-Python encoder, and its
    weighing of the encodings for every part, took a tenth of the time a mail takes."""
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))


_TEXT_CONTENT = ContentManager()
_TEXT_CONTENT.add_set_handler(str, _set_text)


def build_email(
    message: OutboxMessage, mail: RenderedMail, sender: str, to: str | None = None
) -> EmailMessage:
    email = EmailMessage(policy=_MAIL_POLICY)
    email["From"] = sender
    email["To"] = to or message.recipient_email
    email["Subject"] = mail.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}")
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(mail.text, content_manager=_TEXT_CONTENT)
    if mail.html:
        email.add_alternative(mail.html, subtype="html", content_manager=_TEXT_CONTENT)
    return email


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(session: Session, now: datetime, limit: int) -> list[_Claimed]:
    """Claim up to ``limit`` due messages (queued → sending) in one UPDATE and commit it.

    ``status = queued`` is checked again on the row itself, so of two senders that picked the
    same ids only one claims each (SQLite's write lock serialises the two UPDATEs; PostgreSQL
    re-reads a row another transaction changed, and SKIP LOCKED lets the second sender take
    the next messages instead of waiting for the first one's)."""
    due = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Chosen once (MATERIALIZED): as a plain subquery, a nested-loop plan runs it again
        # for every row, each time past the rows this UPDATE has claimed already, and
        # claims far more than ``limit``.
        chosen = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        due = sa.select(chosen.c.id)
    claimed_ids = session.scalars(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(due), OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SENDING, claimed_by=secrets.token_hex(8), claimed_at=now)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    if not claimed_ids:
        return []
    # With each message, the address its recipient has now (in the same statement).
    rows = session.execute(
        sa.select(OutboxMessage, Employee.email)
        .outerjoin(Employee, Employee.id == OutboxMessage.recipient_id)
        .where(OutboxMessage.id.in_(claimed_ids))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    ).all()
    return [_Claimed(message, _address(message, current)) for message, current in rows]


# Mails about an address change itself go to the address they were queued for (the old one);
# every other mail follows its recipient to the address they have when it is sent.
FIXED_ADDRESS_KINDS = frozenset({"email_changed"})


def _address(message: OutboxMessage, current_email: str | None) -> str:
    if current_email is None or message.kind in FIXED_ADDRESS_KINDS:
        return message.recipient_email
    return current_email


@dataclass(frozen=True)
class _Claimed:
    message: OutboxMessage
    address: str  # where it goes: see _address


@dataclass
class _Outcomes:
    """What became of each message of a batch, written back with one statement per kind."""

    now: datetime
    written: list[dict[str, Any]] = field(default_factory=list)  # mails written now
    cancelled: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # to retry, or failed for good
    untried: list[int] = field(default_factory=list)  # given back: the batch was interrupted
    readdressed: list[dict[str, Any]] = field(default_factory=list)  # sent to a new address

    def record(self, session: Session) -> None:
        # Only reads since the claim was committed: end them first, in case a renderer's query
        # failed (PostgreSQL then refuses every statement until the transaction ends).
        session.rollback()
        table = OutboxMessage.__table__
        by_id = table.c.id == sa.bindparam("message_id")
        if self.written:
            session.execute(
                sa.update(table)
                .where(by_id)
                .values(
                    subject=sa.bindparam("new_subject"),
                    body_text=sa.bindparam("new_text"),
                    body_html=sa.bindparam("new_html"),
                ),
                self.written,
            )
        if self.cancelled:
            session.execute(
                sa.update(table)
                .where(table.c.id.in_(self.cancelled))
                .values(status=OutboxStatus.CANCELLED, claimed_by=None)
            )
        if self.sent:
            session.execute(
                sa.update(table)
                .where(table.c.id.in_(self.sent))
                .values(
                    status=OutboxStatus.SENT,
                    sent_at=self.now,
                    last_error=None,
                    attempts=table.c.attempts + 1,
                )
            )
        if self.failed:
            session.execute(
                sa.update(table)
                .where(by_id)
                .values(
                    status=sa.bindparam("new_status"),
                    attempts=sa.bindparam("new_attempts"),
                    next_attempt_at=sa.bindparam("new_next_attempt_at"),
                    last_error=sa.bindparam("new_error"),
                    claimed_by=None,
                ),
                self.failed,
            )
        if self.readdressed:
            session.execute(
                sa.update(table).where(by_id).values(recipient_email=sa.bindparam("new_email")),
                self.readdressed,
            )
        if self.untried:
            session.execute(
                sa.update(table)
                .where(table.c.id.in_(self.untried))
                .values(status=OutboxStatus.QUEUED, claimed_by=None, claimed_at=None)
            )
        session.commit()


def deliver_outbox(
    session: Session,
    *,
    backend: MailBackend | None = None,
    now: datetime | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Send a batch of what is due in the outbox; each message at most once, even with two
    senders.

    The same statements whatever the batch's size: one claims it (queued → sending) and is
    committed before anything is sent, one loads it, one loads the recipients of the messages
    written now; then the batch goes over one SMTP connection, and one statement per outcome
    (sent, failed or to retry, cancelled) and one commit record it. A message's failure is
    recorded on that message alone. A process that dies mid-batch leaves its messages
    ``sending``, never sent twice (``claimed_at`` tells since when).
    """
    backend = backend or backend_from_config()
    now = now or clock.utcnow()
    config = current_app.config
    report = DeliveryReport()
    claimed = _claim(session, now, limit)
    if not claimed:
        return report
    messages = [item.message for item in claimed]
    address = {item.message.id: item.address for item in claimed}
    outcomes = _Outcomes(now=now)
    written = write_deferred(
        session, [message for message in messages if message.template and not message.body_text]
    )
    to_send: list[tuple[OutboxMessage, RenderedMail]] = []
    for message in messages:
        if message.id not in written:
            mail = RenderedMail(message.subject, message.body_text, message.body_html or "")
        elif isinstance(outcome := written[message.id], Exception):
            outcomes.failed.append(_failure(message, outcome, now, report))
            continue
        elif outcome is None:
            outcomes.cancelled.append(message.id)
            report.cancelled += 1
            continue
        else:
            mail = outcome
            outcomes.written.append(
                {
                    "message_id": message.id,
                    "new_subject": mail.subject,
                    "new_text": mail.text,
                    "new_html": mail.html,
                }
            )
        to_send.append((message, mail))
    tried = 0
    try:
        with _connection(backend) as connection:
            for message, mail in to_send:
                tried += 1
                to = address[message.id]
                try:
                    connection.send(
                        build_email(message, mail, config["MAIL_DEFAULT_SENDER"], to=to)
                    )
                except Exception as error:  # noqa: BLE001 - any failure is recorded on the row
                    outcomes.failed.append(_failure(message, error, now, report))
                else:
                    outcomes.sent.append(message.id)
                    report.sent += 1
                if to != message.recipient_email:  # the row shows where it went
                    outcomes.readdressed.append({"message_id": message.id, "new_email": to})
    except BaseException:
        # Interrupted (a signal, a stop): keep what was done and give back what was not
        # tried. The message in flight stays ``sending``: it may have gone.
        outcomes.untried = [message.id for message, _mail in to_send[tried:]]
        outcomes.record(session)
        raise
    outcomes.record(session)
    return report


def _failure(
    message: OutboxMessage, error: Exception, now: datetime, report: DeliveryReport
) -> dict[str, Any]:
    """The row's values after a failed attempt: back in the queue after a wait that doubles
    each time, or failed for good (a permanent refusal, or OUTBOX_MAX_ATTEMPTS spent)."""
    config = current_app.config
    attempts = message.attempts + 1
    error_text = f"{type(error).__name__}: {error}"[:2000]
    if isinstance(error, PermanentMailError) or attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        status, next_attempt_at = OutboxStatus.FAILED, message.next_attempt_at
        report.failed += 1
    else:
        delay = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1)
        status, next_attempt_at = OutboxStatus.QUEUED, now + timedelta(seconds=delay)
        report.retrying += 1
    report.errors.append(f"#{message.id} {message.recipient_email}: {error_text}")
    log.warning("Mail #%s to %s failed: %s", message.id, message.recipient_email, error)
    return {
        "message_id": message.id,
        "new_status": status,
        "new_attempts": attempts,
        "new_next_attempt_at": next_attempt_at,
        "new_error": error_text,
    }
