"""The scheduler: the periodic jobs, run by their own process (``flask scheduler``).

The web processes never start it. Its jobs, each with a fixed id, in Europe/Stockholm time:

- ``plan-reminders``, daily at ``REMINDER_PLAN_TIME``: deactivate the leavers whose end date
  has come, then queue the reminders, escalations and expiry notices due today;
- ``weekly-digest``, Monday to Friday at ``DIGEST_TIME``: queue the managers' weekly digests.
  The service queues them on the ISO week's first working day only (Tuesday after Easter
  Monday), once per manager and week, so the other days' runs queue nothing;
- ``deliver-outbox``, every ``OUTBOX_DELIVERY_SECONDS``: send what is due in the outbox;
- ``apply-retention``, daily at ``RETENTION_TIME``: anonymise the leavers whose municipality's
  retention time has run out (``services.retention``). A night it misses, or one on which the
  clocks go back and it runs twice, changes nothing: the next run anonymises whoever is past
  retention by then, and nobody twice.
- ``warm-coverage-cache``, daily at ``COVERAGE_WARM_TIME`` (after midnight): fold the coverage
  change log and recompute the units whose cached numbers the new date made stale
  (``services.reporting.coverage_cache_store``), so the day's first readers do not wait.
- ``fill-coverage-cache``, every ``COVERAGE_FILL_SECONDS`` and at start: compute the coverage
  cache's rows a request found too many to compute itself (an empty cache after a seed or a
  restore, a new day before the warm-up): the page meanwhile shows the table live and says
  its trend is being computed. One query when nothing is stale.

Every job is safe to run twice: a message's unique key means it is queued once, and a sender
claims each row before sending it, so two schedulers started by mistake send nothing twice.

The jobs live in memory. A scheduler that was down catches up once: when it starts less than
``SCHEDULER_MISFIRE_GRACE_HOURS`` after a run it missed, it makes that run at once (several
missed runs coalesce into one), as a persistent job store would; older runs are skipped. The
same holds for a scheduler that was suspended (a sleeping virtual machine).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.services.compliance import retention
from training_tracker.services.compliance.retention import RetentionReport
from training_tracker.services.messaging import outbox
from training_tracker.services.messaging.outbox import DeliveryReport
from training_tracker.services.people import employment
from training_tracker.services.programme import reminders as programme_reminders
from training_tracker.services.reporting import coverage_cache_store
from training_tracker.services.training import reminders
from training_tracker.services.training.reminders import PlanReport

log = logging.getLogger(__name__)

PLAN_REMINDERS = "plan-reminders"
WEEKLY_DIGEST = "weekly-digest"
DELIVER_OUTBOX = "deliver-outbox"
APPLY_RETENTION = "apply-retention"
WARM_COVERAGE_CACHE = "warm-coverage-cache"
FILL_COVERAGE_CACHE = "fill-coverage-cache"

# Delivery runs every minute: a run missed by more than this is simply the next one.
DELIVERY_GRACE = timedelta(minutes=5)
# One delivery run sends at most this many batches of 200, then leaves the rest to the next.
DELIVERY_MAX_BATCHES = 25
DELIVERY_BATCH = 200


# --- the jobs --------------------------------------------------------------------------------
# Each takes the app, runs in its own app context (so its own database session), logs one
# line with its counts, and never raises: a failure is logged with its traceback and rolled
# back, and the scheduler runs the job again at its next time.


@contextmanager
def _step(job: str, what: str) -> Iterator[None]:
    try:
        yield
    except Exception:  # one failing run must not stop the scheduler
        db.session.rollback()
        log.exception("%s: %s failed", job, what)


def plan_reminders_job(app: Flask) -> None:
    """Deactivate today's leavers, then queue the reminders due today."""
    with app.app_context():
        try:
            today = clock.today()
            with _step(PLAN_REMINDERS, f"deactivating the leavers of {today}"):
                leavers = employment.deactivate_leavers(db.session, today=today)
                db.session.commit()
                if leavers:
                    log.info("%s %s: %d leavers deactivated", PLAN_REMINDERS, today, leavers)
            with _step(PLAN_REMINDERS, f"planning the reminders of {today}"):
                report = reminders.plan_reminders(db.session, today=today)
                db.session.commit()
                log.info("%s %s: %s", PLAN_REMINDERS, today, describe_plan(report))
            with _step(PLAN_REMINDERS, f"the joint programme's reminders of {today}"):
                sessions = programme_reminders.queue_day_before(db.session, today=today)
                db.session.commit()
                log.info("%s %s: %d programme reminders", PLAN_REMINDERS, today, sessions)
        finally:
            db.end_session()


def weekly_digest_job(app: Flask) -> None:
    """Queue the managers' weekly digests (on the ISO week's first working day only)."""
    with app.app_context():
        try:
            today = clock.today()
            with _step(WEEKLY_DIGEST, f"planning the digests of {today}"):
                queued = reminders.plan_digests(db.session, today=today)
                db.session.commit()
                log.info("%s %s: %d digests queued", WEEKLY_DIGEST, today, queued)
        finally:
            db.end_session()


def deliver_outbox_job(app: Flask) -> None:
    """Send what is due in the outbox, a few batches at most."""
    with app.app_context():
        try:
            with _step(DELIVER_OUTBOX, "delivering the outbox"):
                totals = DeliveryReport()
                for _ in range(DELIVERY_MAX_BATCHES):
                    report = outbox.deliver_outbox(db.session, limit=DELIVERY_BATCH)
                    handled = report.sent + report.retrying + report.failed + report.cancelled
                    totals.sent += report.sent
                    totals.retrying += report.retrying
                    totals.failed += report.failed
                    totals.cancelled += report.cancelled
                    if handled < DELIVERY_BATCH:
                        break
                # Every minute: a line only when something happened.
                busy = totals.sent or totals.retrying or totals.failed or totals.cancelled
                level = logging.INFO if busy else logging.DEBUG
                log.log(level, "%s: %s", DELIVER_OUTBOX, describe_delivery(totals))
        finally:
            db.end_session()


def apply_retention_job(app: Flask) -> None:
    """Anonymise the leavers past their municipality's retention, in one transaction."""
    with app.app_context():
        try:
            today = clock.today()
            with _step(APPLY_RETENTION, f"applying retention on {today}"):
                report = retention.apply_retention(db.session, today)
                db.session.commit()
                log.info("%s %s: %s", APPLY_RETENTION, today, describe_retention(report))
                for error in report.file_errors:
                    log.error("%s: certificate file not removed: %s", APPLY_RETENTION, error)
        finally:
            db.end_session()


def warm_coverage_cache_job(app: Flask) -> None:
    """Fold the coverage change log and recompute the units the new date made stale."""
    with app.app_context():
        try:
            with _step(WARM_COVERAGE_CACHE, "warming the coverage cache"):
                report = coverage_cache_store.warm_cache(db.session)
                log.info("%s: %s", WARM_COVERAGE_CACHE, coverage_cache_store.describe_warm(report))
        finally:
            db.end_session()


def fill_coverage_cache_job(app: Flask) -> None:
    """Compute the coverage cache's rows that readers are waiting for (and any stale ones of
    today's trend dates)."""
    with app.app_context():
        try:
            with _step(FILL_COVERAGE_CACHE, "filling the coverage cache"):
                filled = coverage_cache_store.fill_cache(db.session)
                if filled:
                    each = ", ".join(f"{variant} {n}" for variant, n in sorted(filled.items()))
                    log.info("%s: rows recomputed: %s", FILL_COVERAGE_CACHE, each)
        finally:
            db.end_session()


def describe_plan(report: PlanReport) -> str:
    """``12 reminders (overdue 10, escalation 2) in 9 mails``, or why nothing was planned."""
    if not report.working_day:
        return "not a working day (weekend or public holiday), nothing planned"
    steps = ", ".join(f"{step} {count}" for step, count in report.queued.items() if count)
    detail = f" ({steps})" if steps else ""
    return f"{report.total} reminders{detail} in {report.mails} mails"


def describe_retention(report: RetentionReport) -> str:
    """``3 people anonymised (Järfälla 2, Sigtuna 1), 2 certificates deleted, …``"""
    text = retention.describe_counts(report.totals())
    where = ", ".join(f"{m.name} {m.employees}" for m in report.municipalities if m.employees)
    if where:
        first, _, rest = text.partition(", ")
        text = f"{first} ({where}), {rest}"
    return text


def describe_delivery(report: DeliveryReport) -> str:
    return (
        f"{report.sent} sent, {report.retrying} to retry, {report.failed} failed, "
        f"{report.cancelled} cancelled"
    )


# --- the scheduler ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    id: str
    name: str
    func: Callable[[Flask], None]
    trigger: BaseTrigger
    grace: timedelta
    run_at_start: bool = False  # whether a run is due whenever the scheduler starts


def parse_clock_time(setting: str, value: str) -> tuple[int, int]:
    """``"05:30"`` → ``(5, 30)``; a malformed setting is named."""
    hour, sep, minute = value.strip().partition(":")
    if sep and hour.isdigit() and minute.isdigit() and len(minute) == 2:
        parsed = int(hour), int(minute)
        if parsed[0] <= 23 and parsed[1] <= 59:
            return parsed
    raise RuntimeError(f"{setting} must be a time of day as HH:MM, not {value!r}")


def job_specs(config: dict) -> list[JobSpec]:
    """The jobs, in one list."""
    tz = clock.BUSINESS_TZ
    grace = timedelta(hours=config["SCHEDULER_MISFIRE_GRACE_HOURS"])
    plan_hour, plan_minute = parse_clock_time("REMINDER_PLAN_TIME", config["REMINDER_PLAN_TIME"])
    digest_hour, digest_minute = parse_clock_time("DIGEST_TIME", config["DIGEST_TIME"])
    retention_hour, retention_minute = parse_clock_time("RETENTION_TIME", config["RETENTION_TIME"])
    warm_hour, warm_minute = parse_clock_time("COVERAGE_WARM_TIME", config["COVERAGE_WARM_TIME"])
    return [
        JobSpec(
            id=PLAN_REMINDERS,
            name="Deactivate leavers and plan the day's reminders",
            func=plan_reminders_job,
            trigger=CronTrigger(hour=plan_hour, minute=plan_minute, timezone=tz),
            grace=grace,
        ),
        JobSpec(
            id=APPLY_RETENTION,
            name="Anonymise the leavers past retention",
            func=apply_retention_job,
            trigger=CronTrigger(hour=retention_hour, minute=retention_minute, timezone=tz),
            grace=grace,
        ),
        JobSpec(
            id=WARM_COVERAGE_CACHE,
            name="Recompute the coverage cache for the new day",
            func=warm_coverage_cache_job,
            trigger=CronTrigger(hour=warm_hour, minute=warm_minute, timezone=tz),
            grace=grace,
        ),
        JobSpec(
            id=FILL_COVERAGE_CACHE,
            name="Compute the coverage cache's rows readers are waiting for",
            func=fill_coverage_cache_job,
            trigger=IntervalTrigger(seconds=config["COVERAGE_FILL_SECONDS"], timezone=tz),
            grace=DELIVERY_GRACE,
            run_at_start=True,
        ),
        JobSpec(
            id=WEEKLY_DIGEST,
            name="Plan the managers' weekly digests",
            func=weekly_digest_job,
            trigger=CronTrigger(
                day_of_week="mon-fri", hour=digest_hour, minute=digest_minute, timezone=tz
            ),
            grace=grace,
        ),
        JobSpec(
            id=DELIVER_OUTBOX,
            name="Deliver the outbox",
            func=deliver_outbox_job,
            trigger=IntervalTrigger(seconds=config["OUTBOX_DELIVERY_SECONDS"], timezone=tz),
            grace=DELIVERY_GRACE,
            run_at_start=True,
        ),
    ]


def missed_run(trigger: BaseTrigger, now: datetime, grace: timedelta) -> datetime | None:
    """The latest time ``trigger`` fired in the ``grace`` before ``now``, if any."""
    latest = None
    fire_time = trigger.get_next_fire_time(None, now - grace)
    while fire_time is not None and fire_time <= now:
        latest = fire_time
        fire_time = trigger.get_next_fire_time(fire_time, fire_time + timedelta(microseconds=1))
    return latest


def build_scheduler(
    app: Flask, *, scheduler_class: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    """A scheduler holding the jobs of :func:`job_specs`, not started."""
    now = clock.to_local(clock.utcnow())
    scheduler = scheduler_class(timezone=clock.BUSINESS_TZ)
    for spec in job_specs(app.config):
        options: dict[str, Any] = {}
        first_run = now if spec.run_at_start else missed_run(spec.trigger, now, spec.grace)
        if first_run is not None:
            options["next_run_time"] = first_run
        scheduler.add_job(
            spec.func,
            spec.trigger,
            args=[app],
            id=spec.id,
            name=spec.name,
            misfire_grace_time=int(spec.grace.total_seconds()),
            coalesce=True,
            max_instances=1,
            replace_existing=True,
            **options,
        )
    return scheduler


# --- the process -----------------------------------------------------------------------------


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # APScheduler logs each job added and two lines per run; our jobs log their own line,
    # with counts. Its warnings (a run missed, skipped or failed) still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def run_scheduler(app: Flask) -> None:
    """Run the scheduler in the foreground until Ctrl+C or SIGTERM, then let the running jobs
    finish (what ``flask scheduler`` does).

    The jobs run in APScheduler's background threads while this thread waits for a signal:
    a BlockingScheduler cannot be stopped reliably from a signal handler, because APScheduler
    catches every exception (KeyboardInterrupt too) around listeners and job submission."""
    _configure_logging()
    scheduler = build_scheduler(app, scheduler_class=BackgroundScheduler)
    stop = threading.Event()
    received: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        log.info("scheduler starting (process %d); Ctrl+C or SIGTERM stops it", os.getpid())
        scheduler.start()
        for job in scheduler.get_jobs():
            log.info("job %s, %s: next run %s", job.id, job.trigger, job.next_run_time)
        stop.wait()
        log.info("%s received: letting running jobs finish", signal.Signals(received[0]).name)
    finally:
        # A second Ctrl+C or SIGTERM while the jobs finish stops at once.
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if scheduler.running:
            scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
