"""The day before a session (issue #20): one mail to everyone with a place, with the link for a
digital event, exactly once however often the job runs; nothing for those waiting or gone."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import time_machine

from tests import factories
from tests.conftest import MailCatcher, count, mail_text, subject_of
from training_tracker.extensions import db
from training_tracker.models import OutboxMessage, Sector
from training_tracker.services.messaging import outbox
from training_tracker.services.programme import reminders, signups

# Monday 2 November 2026 09:00 Swedish time; the job runs on Sunday 1 November.
STARTS = datetime(2026, 11, 2, 9, 0)


def test_one_reminder_the_day_before_to_those_with_a_place(app, smtp_server: MailCatcher):
    event = factories.programme_event(capacity=2, starts=STARTS)
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    first, second, waiting = (factories.employee(unit=unit, last_name=f"P{i}") for i in range(3))
    with time_machine.travel(datetime(2026, 10, 20, 9, 0), tick=False):
        for person in (first, second, waiting):
            signups.sign_up(db.session, person, event, person)
        db.session.commit()
    factories.programme_event(title="I övermorgon", starts=datetime(2026, 11, 3, 9, 0))

    with time_machine.travel(datetime(2026, 10, 31, 5, 0), tick=False):  # Saturday: too early
        assert reminders.queue_day_before(db.session, today=date(2026, 10, 31)) == 0
    with time_machine.travel(datetime(2026, 11, 1, 5, 0), tick=False):  # Sunday 06:00
        assert reminders.queue_day_before(db.session, today=date(2026, 11, 1)) == 2
        db.session.commit()
        # A second run, or a second scheduler: nothing more.
        assert reminders.queue_day_before(db.session, today=date(2026, 11, 1)) == 0
        db.session.commit()
        outbox.deliver_outbox(db.session)

    assert count(OutboxMessage, OutboxMessage.kind == "programme_reminder") == 2
    assert {address for _sender, (address,) in smtp_server.envelopes} >= {
        first.email,
        second.email,
    }
    assert (
        count(
            OutboxMessage,
            OutboxMessage.kind == "programme_reminder",
            OutboxMessage.recipient_id == waiting.id,
        )
        == 0
    )
    (mail,) = [m for m in smtp_server.to(first.email) if subject_of(m).startswith("I morgon")]
    assert subject_of(mail) == "I morgon: Barn som upplever våld"
    text = mail_text(mail)
    assert "2 november 2026 09:00–11:00" in text
    assert "https://möte.example/barn" in text


def test_the_command_queues_the_programme_reminders_too(runner):
    event = factories.programme_event(capacity=2, starts=STARTS)
    person = factories.employee(unit=factories.unit("Järfälla"))
    with time_machine.travel(datetime(2026, 10, 20, 9, 0), tick=False):
        signups.sign_up(db.session, person, event, person)
        db.session.commit()
    with time_machine.travel(datetime(2026, 11, 1, 5, 0), tick=False):
        result = runner.invoke(args=["reminders", "run", "--today", "2026-11-01"])
    assert "programme\t1 reminders of tomorrow's sessions queued" in result.output
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.kind == "programme_reminder")
        )
        == 1
    )
