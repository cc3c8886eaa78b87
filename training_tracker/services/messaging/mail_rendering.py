"""Writing a mail: its text in the recipient's language, and the MIME message that goes out.

- :func:`render_mail` renders ``templates/mail/<template>.{subject,txt,html}`` with one Jinja
  environment per language, its translations bound in once;
- mails queued unwritten (``template`` set, no text yet) are written at send time by the
  renderer their owner registered (:func:`register_renderer`, :func:`register_batch_renderer`;
  :func:`write_deferred` runs them for a batch);
- :func:`build_email` makes the MIME message: quoted-printable UTF-8 parts, and the headers
  every mail carries alike parsed once.
"""

from __future__ import annotations

import binascii
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.contentmanager import ContentManager
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import default as standard_policy
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_translations
from jinja2 import Environment
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, OutboxMessage


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
        # The i18n extension adds this method at run time; Jinja's types do not declare it.
        environment.install_gettext_translations(  # type: ignore[attr-defined]  # see above
            translations, newstyle=True
        )
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
            written: Mapping[int, RenderedMail | Exception | None]
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
    if message.calendar:
        method = "CANCEL" if "METHOD:CANCEL" in message.calendar else "REQUEST"
        email.add_attachment(
            message.calendar.encode(),
            maintype="text",
            subtype="calendar",
            filename="inbjudan.ics",
            params={"method": method, "charset": "utf-8"},
        )
    return email
