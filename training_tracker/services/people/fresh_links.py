"""A fresh sign-in link for someone whose invitation or reset mail the admin is looking at in
the outbox: the old link is never shown or sent again (it is redacted on the admin's page), a
new one goes to the person's current address."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, OutboxMessage, OutboxStatus
from training_tracker.services.core import audit_trail
from training_tracker.services.messaging.outbox_admin import LINK_KINDS, OutboxError
from training_tracker.services.people import accounts


def send_fresh_link(
    session: Session, message_id: int, *, actor: Employee | None
) -> tuple[OutboxMessage, bool]:
    """Instead of resending an invitation or reset mail (whose link the admin never sees, and
    which may have run out), queue a fresh one to the person's current address. Returns the
    mail that is on its way and whether it is new: when one of the same kind already waits in
    the queue, that one is returned and nothing more is queued. Refused (:class:`OutboxError`)
    for other kinds, for someone who has left, and for an invitation to someone who has chosen
    a password already."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise OutboxError(_("Mejlet finns inte i utkorgen."))
    if message.kind not in LINK_KINDS:
        raise OutboxError(_("Bara inbjudningar och länkar för nytt lösenord skickas som ny länk."))
    person = session.get(Employee, message.recipient_id) if message.recipient_id else None
    if person is None or not person.active:
        raise OutboxError(
            _("Mottagaren har slutat eller finns inte längre. Ingen ny länk skickas.")
        )
    of_kind = sa.select(OutboxMessage).where(
        OutboxMessage.recipient_id == person.id, OutboxMessage.kind == message.kind
    )
    waiting = session.scalars(
        of_kind.where(OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if waiting is not None:
        return waiting, False
    newest_before = _newest_id(session, of_kind)
    if message.kind == "invitation":
        if person.password_hash:
            raise OutboxError(
                _(
                    "%(name)s har redan valt ett lösenord. Har personen glömt det väljer hen "
                    "”Glömt lösenordet?” på inloggningssidan.",
                    name=person.full_name,
                )
            )
        key = f"invitation:{person.id}:fresh-link:{message.id}:{clock.utcnow():%Y%m%d%H%M%S}"
        accounts.queue_invitation(session, person, actor=actor, key=key)
    else:
        accounts.request_password_reset(session, person.email)
    newest = _newest_id(session, of_kind)
    if newest is None or newest == newest_before:
        # The reset form's own limit: one reset mail per person and ten minutes.
        raise OutboxError(
            _("En länk skickades till personen nyss. Vänta några minuter och försök igen.")
        )
    fresh = session.get(OutboxMessage, newest)
    assert fresh is not None
    audit_trail.record(
        session,
        "outbox.link_resent",
        actor=actor,
        subject=person,
        object_type="outbox_message",
        object_id=message.id,
        kind=message.kind,
        new_message_id=fresh.id,
    )
    return fresh, True


def _newest_id(session: Session, of_kind: sa.Select[tuple[OutboxMessage]]) -> int | None:
    return session.scalar(of_kind.with_only_columns(sa.func.max(OutboxMessage.id)))
