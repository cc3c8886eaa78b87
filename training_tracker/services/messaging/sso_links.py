"""Links in mails that lead through the recipient's municipality's own sign-in (issue #18):
``/login/sso?email=…&next=…`` when the municipality has an identity provider, so that a
reminder's link signs the person in there and then opens the page; the plain link otherwise."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, SessionTransaction

from training_tracker.models import Employee, IdentityProvider
from training_tracker.services.messaging.mail_rendering import absolute_url

_MEMO = "training_tracker.sso_links.municipalities"


def has_provider(session: Session, municipality_id: int | None) -> bool:
    """Whether the municipality has an identity provider. Read once per transaction, so a
    batch of a thousand mails costs one statement, not one per mail."""
    if municipality_id is None:
        return False
    ids = session.info.get(_MEMO)
    if ids is None:
        ids = frozenset(session.scalars(sa.select(IdentityProvider.municipality_id).distinct()))
        session.info[_MEMO] = ids
    return municipality_id in ids


@sa.event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # A provider added or removed since is seen by the next transaction.
    if transaction.parent is None:
        session.info.pop(_MEMO, None)


def _path(endpoint: str, **values: object) -> str:
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/")
    return adapter.build(endpoint, values)


def mail_link(session: Session, person: Employee, endpoint: str, **values: object) -> str:
    """An absolute link to a page, for a mail to ``person``: through their municipality's
    sign-in when it has one (a person already signed in goes straight to the page)."""
    if not has_provider(session, person.municipality_id):
        return absolute_url(endpoint, **values)
    return absolute_url("sso.discover", email=person.email, next=_path(endpoint, **values))
