"""The mail outbox: a feature queues its mails in its own transaction; they are delivered
later, exactly once.

Queuing is idempotent by a unique key enforced by the database: a key queued before is
skipped, which holds when two processes try at once. A mail is queued written
(:func:`queue_mail`, :func:`queue_many`) or unwritten (:func:`queue_unwritten`: a
``template`` and no text, written at send time by the renderer its owner registered, with
what still applies then).

This module is the package's public face; the work is done by its neighbours:

- :mod:`.mail_rendering`: the mail's text in the recipient's language and the MIME message;
- :mod:`.delivery`: claiming a batch, sending it, recording what became of each message;
- :mod:`.backends`: SMTP (one connection per batch), or the console or files in development;
- :mod:`.kinds`: what each kind of message and each status is called;
- :mod:`.outbox_admin`: the admin's view of the outbox.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, OutboxMessage, OutboxStatus
from training_tracker.services.core.sql import conflict_insert, table_of
from training_tracker.services.messaging.backends import MailBackend
from training_tracker.services.messaging.delivery import DeliveryReport, deliver_outbox
from training_tracker.services.messaging.mail_rendering import (
    RenderedMail,
    absolute_url,
    register_batch_renderer,
    register_renderer,
    render_mail,
)

# What the features need to queue, write and deliver mails, in one place.
__all__ = [
    "DeliveryReport",
    "MailBackend",
    "RenderedMail",
    "absolute_url",
    "deliver_outbox",
    "message_values",
    "queue_mail",
    "queue_many",
    "queue_unwritten",
    "register_batch_renderer",
    "register_renderer",
    "render_mail",
]


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


def queue_one_unwritten(session: Session, message: dict[str, Any]) -> bool:
    """:func:`queue_many` for one message, in one statement; False if its key was queued."""
    now = clock.utcnow()
    row = {"status": OutboxStatus.QUEUED.value, "attempts": 0, "next_attempt_at": now}
    values = row | message | {"created_at": now}
    statement = _insert_unless_queued(tuple(values))
    return session.connection().execute(statement, values).first() is not None


@functools.cache
def _insert_unless_queued(columns: tuple[str, ...]) -> sa.TextualSelect:
    """``INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`` of these columns,
    spelt as both databases read it and built once: SQLAlchemy compiles its dialects' ON
    CONFLICT statements again at every execution (they have no cache key), which cost more
    than running one; a text statement is compiled once."""
    table = table_of(OutboxMessage)
    return (
        sa.text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + name for name in columns)}) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
        )
        .bindparams(*(sa.bindparam(name, type_=table.c[name].type) for name in columns))
        .columns(table.c.id)
    )


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
    connection = session.connection()
    connection.execute(
        conflict_insert(session, OutboxMessage.__table__).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        ),
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
    calendar: str | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox in the caller's transaction; ``calendar`` is an invitation
    (iCalendar text) to send with it.

    Returns None when a message with this key was queued before: the unique key, not a check
    first, is what makes this safe when two processes try at once.
    """
    message = OutboxMessage(
        **message_values(key=key, kind=kind, recipient=recipient, mail=mail), calendar=calendar
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None
    return message


# The columns a set-based queue of unwritten mails fills, in this order (see queue_unwritten).
UNWRITTEN_COLUMNS = [
    "idempotency_key",
    "kind",
    "template",
    "recipient_id",
    "recipient_email",
    "subject",
    "body_text",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
]


def queue_unwritten(session: Session, select: sa.Select[Any]) -> None:
    """Queue the mails ``select`` finds, one per row of :data:`UNWRITTEN_COLUMNS`, with one
    INSERT … SELECT; a key queued before is skipped."""
    session.execute(
        conflict_insert(session, OutboxMessage.__table__)
        .from_select(UNWRITTEN_COLUMNS, select)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
