"""Reminders: what the system owes whom on a day, queued exactly once, written when sent.

Where things are:

- :mod:`.policy`: the schedule (a municipality's own, or :data:`.policy.DEFAULT_POLICY`) and
  what each step is called;
- :mod:`.planning`: recording today's reminders and escalations in the ledger and queueing
  one mail per recipient, set-based (:func:`plan_reminders`);
- :mod:`.digest`: the managers' weekly digest, planned and written (:func:`plan_digests`);
- :mod:`.mails`: the reminder, escalation and expiry mails, written at send time;
- here: :func:`run_reminders`, the whole day's run for ``flask reminders run`` and the
  scheduler.

The mail is written when the sender's turn comes, and only with what is still owed then: a
course reported in between is left out, and a mail with nothing left is not sent at all.

Nothing is planned on a Saturday, Sunday or Swedish public holiday; each step's window is wide
enough that the next working day's run still finds it. Nobody who has left, is exempt, or has
completed (or reported) the course is reminded; a rejected report opens the course again.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from training_tracker.services.messaging import outbox
from training_tracker.services.messaging.outbox import DeliveryReport, MailBackend

# The mails module registers the reminder and escalation renderers with the outbox: imported
# here so that any use of the package has them in place before the outbox delivers.
from training_tracker.services.training.reminders import mails  # noqa: F401
from training_tracker.services.training.reminders.digest import plan_digests
from training_tracker.services.training.reminders.planning import PlanReport, plan_reminders

__all__ = ["PlanReport", "plan_digests", "plan_reminders", "run_reminders"]


def run_reminders(
    session: Session, *, today: date, backend: MailBackend | None = None
) -> tuple[PlanReport, DeliveryReport]:
    """Plan today's reminders and digests, commit, and deliver the outbox until nothing due
    is left: what ``flask reminders run`` and the scheduler's jobs do."""
    report = plan_reminders(session, today=today)
    if report.working_day:
        report.queued["digest"] = plan_digests(session, today=today)
    session.commit()
    delivered = DeliveryReport()
    while True:
        batch = outbox.deliver_outbox(session, backend=backend)
        delivered.sent += batch.sent
        delivered.failed += batch.failed
        delivered.retrying += batch.retrying
        delivered.cancelled += batch.cancelled
        delivered.errors.extend(batch.errors)
        if batch.sent + batch.failed + batch.retrying + batch.cancelled == 0:
            break
    return report, delivered
