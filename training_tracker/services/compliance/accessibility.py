"""Reports of accessibility problems, the contact function the DOS law (lagen (2018:1937) om
tillgänglighet till digital offentlig service) asks for.

A report becomes one mail to the operators' contact address, queued in the outbox in the
caller's transaction together with its audit event: both are stored, or neither is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, OutboxMessage, OutboxStatus
from training_tracker.services.core import audit_trail
from training_tracker.services.messaging.outbox import render_mail

DESCRIPTION_MAX = 2000
PAGE_MAX = 500
NAME_MAX = 200
KIND = "accessibility_report"
# The contact mailbox belongs to the municipalities' staff: the mail is written in Swedish.
MAIL_LANGUAGE = "sv"

# Whitespace and control characters: a path with them is not one a link of ours produces
# (and browsers drop tabs and newlines from URLs, which could turn "/\t/x" into "//x").
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")


def local_path(value: str | None) -> str:
    """``value`` if it is a path on this site ("/employees/new"), else "".

    Only for prefilling the form from ``?page=``: an address elsewhere, a scheme-relative
    "//host/…" or anything odd is dropped rather than put in front of the reporter."""
    if not value or len(value) > PAGE_MAX:
        return ""
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    if _UNSAFE.search(value):
        return ""
    return value


@dataclass(frozen=True)
class ProblemReport:
    description: str
    page: str = ""
    name: str = ""
    email: str = ""


def page_link(page: str) -> str | None:
    """An absolute link for the mail when the reporter named a page of ours by its path."""
    path = local_path(page)
    if not path:
        return None
    return current_app.config["BASE_URL"].rstrip("/") + path


def report_problem(
    session: Session,
    report: ProblemReport,
    *,
    contact_email: str,
    submission_key: str,
    actor: Employee | None,
    now: datetime | None = None,
) -> OutboxMessage | None:
    """Queue the mail to ``contact_email`` and record the audit event.

    The same form sent twice (two clicks, a reload) carries the same ``submission_key``, so it
    queues one mail: the second call returns None and records nothing."""
    now = now or clock.utcnow()
    mail = render_mail(
        "accessibility_report",
        MAIL_LANGUAGE,
        report=report,
        page_url=page_link(report.page),
        received_at=now,
    )
    message = OutboxMessage(
        idempotency_key=f"accessibility-report:{submission_key}",
        kind=KIND,
        recipient_id=None,  # a mailbox, not a person with an account
        recipient_email=contact_email,
        subject=mail.subject,
        body_text=mail.text,
        body_html=mail.html,
        status=OutboxStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        # The unique key, not a look first, is what keeps two requests at once to one mail.
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None
    # What was reported stays in the mail; the trail says that it was, and where it went.
    audit_trail.record(
        session,
        "accessibility.reported",
        actor=actor,
        object_type="outbox_message",
        object_id=message.id,
        page=report.page,
        wants_answer=bool(report.email),
    )
    return message
