"""Where mails go: the SMTP server (one connection for a batch), or, in development, the
console or a folder of .eml files. ``MAIL_BACKEND`` chooses (:func:`backend_from_config`).
"""

from __future__ import annotations

import secrets
import smtplib
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext, suppress
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from flask import current_app

from training_tracker import clock


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


def connection_for(backend: MailBackend) -> AbstractContextManager[MailBackend]:
    """What sends a batch: one SMTP connection for all of it, or the backend itself."""
    if isinstance(backend, SmtpBackend):
        return backend.connection()
    return nullcontext(backend)
