"""The scheduler and ``flask reminders run`` (issue #5): fixed jobs in Swedish time that catch
up once after a scheduler was down, failures that are logged and never stop it, no scheduler in
the web processes, and every message delivered exactly once, with two processes at once or a
mail server that is down for a while."""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from config import TestingConfig
from tests import factories
from tests.conftest import MailCatcher, count
from training_tracker import clock, create_app, scheduler
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, OutboxMessage, OutboxStatus, Role
from training_tracker.services.core.working_days import next_working_day
from training_tracker.services.messaging import outbox
from training_tracker.services.training import reminders

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
JOB_IDS = {
    scheduler.PLAN_REMINDERS,
    scheduler.WEEKLY_DIGEST,
    scheduler.DELIVER_OUTBOX,
    scheduler.APPLY_RETENTION,
    scheduler.WARM_COVERAGE_CACHE,
    scheduler.FILL_COVERAGE_CACHE,
}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment in Swedish time."""
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


@pytest.fixture()
def background() -> Iterator[list[BaseScheduler]]:
    """Schedulers a test starts in threads, shut down (waiting for their jobs) afterwards."""
    started: list[BaseScheduler] = []
    yield started
    for each in started:
        if each.running:
            each.shutdown(wait=True)


def start_in_background(app: Flask, started: list[BaseScheduler], **kwargs) -> BaseScheduler:  # type: ignore[no-untyped-def]
    built = scheduler.build_scheduler(app, scheduler_class=BackgroundScheduler)
    started.append(built)
    built.start(**kwargs)
    return built


class Runs:
    """The runs of a scheduler's jobs, as APScheduler reports them."""

    def __init__(self, of: BaseScheduler) -> None:
        self.events: list[JobExecutionEvent] = []
        self._changed = threading.Condition()
        of.add_listener(self._record, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _record(self, event: JobExecutionEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, job_id: str) -> list[datetime]:
        with self._changed:
            return [e.scheduled_run_time for e in self.events if e.job_id == job_id]

    def wait_for(self, *job_ids: str, runs: int = 1) -> None:
        """Until each job has run ``runs`` times (the jobs run in threads; nothing sleeps)."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: all(
                    sum(e.job_id == job_id for e in self.events) >= runs for job_id in job_ids
                ),
                timeout=60,
            )
        assert done, f"jobs did not run: {[(e.job_id, e.scheduled_run_time) for e in self.events]}"

    def errors(self) -> list[JobExecutionEvent]:
        return [e for e in self.events if e.code == EVENT_JOB_ERROR]


def staff_with_overdue_courses(people: int, courses: int = 2, *, overdue_days: int = 20) -> list:
    """``people`` employees, each ``courses`` courses past due by ``overdue_days`` days (as
    of ``clock.today()``): each is owed one overdue reminder per course, in one mail."""
    catalog = list(factories.synced_catalog().values())[:courses]
    unit = factories.unit()
    staff = []
    for n in range(people):
        person = factories.employee(
            unit=unit, email=f"medarbetare{n:03d}@sigtuna.example", password=None
        )
        for course in catalog:
            factories.assignment(person, course, due_in_days=-overdue_days)
        staff.append(person)
    return staff


def outbox_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def assert_each_sent_exactly_once(smtp_server: MailCatcher, recipients: list[str]) -> None:
    arrived = Counter(m["To"] for m in smtp_server.messages)
    assert arrived == Counter(recipients), "each recipient gets exactly one mail"
    rows = outbox_rows()
    assert sorted(r.recipient_email for r in rows) == sorted(recipients)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    message_ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(set(message_ids)) == len(message_ids)


# --- the jobs --------------------------------------------------------------------------------


def test_the_scheduler_has_five_jobs_with_fixed_ids_and_catch_up_settings(
    app: Flask, background: list[BaseScheduler]
) -> None:
    with time_machine.travel(at(2026, 3, 2, 4), tick=False):
        built = start_in_background(app, background, paused=True)
        jobs = {job.id: job for job in built.get_jobs()}

    assert set(jobs) == JOB_IDS
    assert str(built.timezone) == "Europe/Stockholm"
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
    assert jobs[scheduler.PLAN_REMINDERS].misfire_grace_time == 12 * 3600
    assert jobs[scheduler.WEEKLY_DIGEST].misfire_grace_time == 12 * 3600
    assert jobs[scheduler.DELIVER_OUTBOX].misfire_grace_time == 5 * 60
    assert jobs[scheduler.APPLY_RETENTION].misfire_grace_time == 12 * 3600
    assert jobs[scheduler.WARM_COVERAGE_CACHE].misfire_grace_time == 12 * 3600
    assert isinstance(jobs[scheduler.PLAN_REMINDERS].trigger, CronTrigger)
    assert isinstance(jobs[scheduler.WEEKLY_DIGEST].trigger, CronTrigger)
    assert isinstance(jobs[scheduler.DELIVER_OUTBOX].trigger, IntervalTrigger)
    assert jobs[scheduler.DELIVER_OUTBOX].trigger.interval == timedelta(seconds=60)
    # The outbox is delivered at once (what was queued while no scheduler ran); planning
    # waits for its time.
    assert jobs[scheduler.DELIVER_OUTBOX].next_run_time == at(2026, 3, 2, 4)
    assert jobs[scheduler.PLAN_REMINDERS].next_run_time == at(2026, 3, 2, 5, 30)
    assert jobs[scheduler.WEEKLY_DIGEST].next_run_time == at(2026, 3, 2, 6)
    # Retention's 02:30 run was missed by less than the grace time: it is due, so made at once.
    assert jobs[scheduler.APPLY_RETENTION].next_run_time == at(2026, 3, 2, 2, 30)
    # So was the coverage cache's warm-up at 00:15.
    assert jobs[scheduler.WARM_COVERAGE_CACHE].next_run_time == at(2026, 3, 2, 0, 15)


def fire_times(trigger, start: datetime, n: int) -> list[datetime]:  # type: ignore[no-untyped-def]
    times, previous = [], None
    for _ in range(n):
        previous = trigger.get_next_fire_time(previous, previous or start)
        times.append(previous)
    return times


def jobs_of(app: Flask) -> dict[str, scheduler.JobSpec]:
    return {spec.id: spec for spec in scheduler.job_specs(app.config)}


def test_planning_runs_at_half_past_five_swedish_time_across_the_change_to_summer_time(
    app: Flask,
) -> None:
    trigger = jobs_of(app)[scheduler.PLAN_REMINDERS].trigger

    times = fire_times(trigger, at(2026, 3, 27, 12), 3)

    assert times == [at(2026, 3, 28, 5, 30), at(2026, 3, 29, 5, 30), at(2026, 3, 30, 5, 30)]
    # 2026-03-29 02:00 the clocks went forward: the same Swedish time, one hour less UTC.
    assert [t.utcoffset() for t in times] == [timedelta(hours=1), *[timedelta(hours=2)] * 2]
    assert [t.astimezone(ZoneInfo("UTC")).hour for t in times] == [4, 3, 3]


def test_planning_runs_at_half_past_five_across_the_change_back_to_winter_time(
    app: Flask,
) -> None:
    trigger = jobs_of(app)[scheduler.PLAN_REMINDERS].trigger

    times = fire_times(trigger, at(2026, 10, 24, 12), 2)

    assert times == [at(2026, 10, 25, 5, 30), at(2026, 10, 26, 5, 30)]
    assert [t.utcoffset() for t in times] == [timedelta(hours=1)] * 2


def test_the_digest_job_runs_on_weekdays_at_six(app: Flask) -> None:
    trigger = jobs_of(app)[scheduler.WEEKLY_DIGEST].trigger

    # From Maundy Thursday 2026: Good Friday, then Easter Monday, then Tuesday. The service
    # queues the digests on the week's first working day only: Tuesday 7 April that week.
    times = fire_times(trigger, at(2026, 4, 2, 7), 4)

    assert times == [at(2026, 4, 3, 6), at(2026, 4, 6, 6), at(2026, 4, 7, 6), at(2026, 4, 8, 6)]


def test_delivery_runs_every_sixty_real_seconds_across_the_missing_hour(
    app: Flask,
) -> None:
    with time_machine.travel(at(2026, 3, 29, 1, 58), tick=False):
        trigger = jobs_of(app)[scheduler.DELIVER_OUTBOX].trigger

    times = fire_times(trigger, at(2026, 3, 29, 1, 58), 3)

    utc = [t.astimezone(ZoneInfo("UTC")) for t in times]
    assert [b - a for a, b in pairwise(utc)] == [timedelta(seconds=60)] * 2
    assert times[-1] == at(2026, 3, 29, 3, 1)  # 02:00–02:59 did not exist that night


def test_the_times_come_from_the_configuration(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "REMINDER_PLAN_TIME", "07:15")
    monkeypatch.setitem(app.config, "DIGEST_TIME", "08:05")

    plan = jobs_of(app)[scheduler.PLAN_REMINDERS].trigger
    digest = jobs_of(app)[scheduler.WEEKLY_DIGEST].trigger

    assert fire_times(plan, at(2026, 12, 1), 1) == [at(2026, 12, 1, 7, 15)]
    assert fire_times(digest, at(2026, 12, 1), 1) == [at(2026, 12, 1, 8, 5)]


def test_the_times_can_be_set_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_PLAN_TIME", "04:45")
    monkeypatch.setenv("SCHEDULER_MISFIRE_GRACE_HOURS", "6")

    loaded = TestingConfig()

    assert loaded.REMINDER_PLAN_TIME == "04:45"
    assert loaded.SCHEDULER_MISFIRE_GRACE_HOURS == 6


@pytest.mark.parametrize("value", ["5.30", "25:00", "05:60", "5", "half past five", "05:3"])
def test_a_malformed_time_is_named(app: Flask, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setitem(app.config, "REMINDER_PLAN_TIME", value)

    with pytest.raises(RuntimeError, match="REMINDER_PLAN_TIME must be a time of day as HH:MM"):
        scheduler.build_scheduler(app)


# --- catching up -----------------------------------------------------------------------------


def test_a_scheduler_started_after_a_missed_run_makes_it_once_at_start(
    app: Flask, background: list[BaseScheduler]
) -> None:
    """Down at 05:30 and 06:00, started again at 07:00: planning and the digest run once,
    at once, then at their times the next day."""
    with time_machine.travel(at(2026, 3, 3, 7), tick=False):
        built = scheduler.build_scheduler(app, scheduler_class=BackgroundScheduler)
        background.append(built)
        runs = Runs(built)
        built.start()
        runs.wait_for(*JOB_IDS)

        assert runs.of(scheduler.PLAN_REMINDERS) == [at(2026, 3, 3, 5, 30)]
        assert runs.of(scheduler.WEEKLY_DIGEST) == [at(2026, 3, 3, 6)]
        assert runs.errors() == []
        assert built.get_job(scheduler.PLAN_REMINDERS).next_run_time == at(2026, 3, 4, 5, 30)
        assert built.get_job(scheduler.WEEKLY_DIGEST).next_run_time == at(2026, 3, 4, 6)


def test_a_run_missed_by_more_than_the_grace_time_waits_for_the_next_day(
    app: Flask, background: list[BaseScheduler]
) -> None:
    # 12 h 45 min after the planning's 05:30, 12 h 15 min after the digest's 06:00
    with time_machine.travel(at(2026, 3, 3, 18, 15), tick=False):
        built = start_in_background(app, background, paused=True)

        assert built.get_job(scheduler.PLAN_REMINDERS).next_run_time == at(2026, 3, 4, 5, 30)
        assert built.get_job(scheduler.WEEKLY_DIGEST).next_run_time == at(2026, 3, 4, 6)


def test_a_suspended_scheduler_makes_its_missed_runs_once(
    app: Flask, background: list[BaseScheduler]
) -> None:
    """Running on Monday at 04:00, then nothing until Thursday at 07:00 (a suspended virtual
    machine): four missed plannings and digests coalesce into one run each."""
    with time_machine.travel(at(2026, 3, 2, 4), tick=False) as traveller:
        built = scheduler.build_scheduler(app, scheduler_class=BackgroundScheduler)
        background.append(built)
        runs = Runs(built)
        built.start()
        runs.wait_for(scheduler.DELIVER_OUTBOX)
        assert runs.of(scheduler.PLAN_REMINDERS) == []

        traveller.move_to(at(2026, 3, 5, 7))
        built.wakeup()
        runs.wait_for(scheduler.PLAN_REMINDERS, scheduler.WEEKLY_DIGEST)

        assert runs.of(scheduler.PLAN_REMINDERS) == [at(2026, 3, 5, 5, 30)]
        assert runs.of(scheduler.WEEKLY_DIGEST) == [at(2026, 3, 5, 6)]
        assert built.get_job(scheduler.PLAN_REMINDERS).next_run_time == at(2026, 3, 6, 5, 30)
        assert runs.errors() == []


def test_two_schedulers_started_by_mistake_send_each_message_once(
    app: Flask, smtp_server: MailCatcher, background: list[BaseScheduler]
) -> None:
    with time_machine.travel(at(2026, 12, 1, 7), tick=False):
        staff = staff_with_overdue_courses(8)
        first = scheduler.build_scheduler(app, scheduler_class=BackgroundScheduler)
        second = scheduler.build_scheduler(app, scheduler_class=BackgroundScheduler)
        background.extend([first, second])
        runs = [Runs(first), Runs(second)]
        first.start()
        second.start()
        for each in runs:
            each.wait_for(*JOB_IDS)
        for each in background:
            each.shutdown(wait=True)
        # Delivery may have run before planning committed: the next minute's run sends.
        scheduler.deliver_outbox_job(app)

        assert [each.errors() for each in runs] == [[], []]
        assert_each_sent_exactly_once(smtp_server, [person.email for person in staff])


# --- failures --------------------------------------------------------------------------------


def _failing_after_a_write(*args, **kwargs):  # type: ignore[no-untyped-def]
    db.session.add(AuditEvent(action="half.done"))
    db.session.flush()
    raise RuntimeError("the database went away")


@pytest.mark.parametrize(
    ("job", "service", "name"),
    [
        (scheduler.plan_reminders_job, reminders, "plan_reminders"),
        (scheduler.weekly_digest_job, reminders, "plan_digests"),
        (scheduler.deliver_outbox_job, outbox, "deliver_outbox"),
    ],
)
def test_a_failing_job_logs_rolls_back_and_does_not_raise(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    job,  # type: ignore[no-untyped-def]
    service,  # type: ignore[no-untyped-def]
    name: str,
) -> None:
    monkeypatch.setattr(service, name, _failing_after_a_write)
    caplog.set_level(logging.INFO, logger="training_tracker.scheduler")

    with time_machine.travel(at(2026, 12, 1, 8), tick=False):
        job(app)

    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "failed" in failure.getMessage()
    assert failure.exc_info and "the database went away" in str(failure.exc_info[1])
    assert count(AuditEvent, AuditEvent.action == "half.done") == 0


def test_a_failed_planning_still_deactivates_the_leavers_and_runs_again_next_time(
    app: Flask, monkeypatch: pytest.MonkeyPatch, background: list[BaseScheduler]
) -> None:
    with time_machine.travel(at(2026, 12, 1, 7), tick=False):
        leaver = factories.employee(password=None)
        leaver.end_date = date(2026, 11, 30)
        db.session.commit()
        monkeypatch.setattr(reminders, "plan_reminders", _failing_after_a_write)
        built = scheduler.build_scheduler(app, scheduler_class=BackgroundScheduler)
        background.append(built)
        runs = Runs(built)
        built.start()
        runs.wait_for(scheduler.PLAN_REMINDERS)

        assert runs.errors() == []  # logged and rolled back by the job, not raised
        assert built.get_job(scheduler.PLAN_REMINDERS).next_run_time == at(2026, 12, 2, 5, 30)
        assert built.running
    db.session.expire_all()
    assert db.session.get_one(Employee, leaver.id).active is False


# --- the digest after a holiday Monday -------------------------------------------------------


def test_after_easter_monday_the_digest_goes_out_on_tuesday_once(
    app: Flask, smtp_server: MailCatcher
) -> None:
    with time_machine.travel(at(2026, 4, 6, 6), tick=False) as traveller:  # Easter Monday
        unit = factories.unit()
        manager = factories.employee(unit=unit, email="chef@sigtuna.example", password=None)
        factories.with_role(manager, Role.MANAGER, on_unit=unit)
        staff_member = factories.employee(unit=unit, password=None)
        course = next(iter(factories.synced_catalog().values()))
        factories.assignment(staff_member, course, due_in_days=-3)

        scheduler.weekly_digest_job(app)
        assert count(OutboxMessage, OutboxMessage.kind == "digest") == 0

        for day in (7, 8, 9):  # Tuesday, the week's first working day; then the rest
            traveller.move_to(at(2026, 4, day, 6))
            scheduler.weekly_digest_job(app)
            scheduler.deliver_outbox_job(app)

    assert [m["To"] for m in smtp_server.messages] == ["chef@sigtuna.example"]
    assert count(OutboxMessage, OutboxMessage.kind == "digest") == 1


# --- flask reminders run ---------------------------------------------------------------------


def test_reminders_run_prints_what_was_planned_and_delivered(
    runner, smtp_server: MailCatcher
) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(at(2026, 12, 1, 8), tick=False):
        staff = staff_with_overdue_courses(3)

        result = runner.invoke(args=["reminders", "run", "--today", "2026-12-01"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "2026-12-01: working day"
    assert "overdue\t6" in lines
    assert "due\t0" in lines
    assert "6 reminders queued in 3 mails" in lines
    assert lines[-1] == "outbox: 3 sent, 0 to retry, 0 failed, 0 cancelled"
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(p.email for p in staff)


def test_reminders_run_plans_nothing_on_a_public_holiday(runner, smtp_server: MailCatcher) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(at(2026, 12, 25, 8), tick=False):
        staff_with_overdue_courses(2)

        result = runner.invoke(args=["reminders", "run", "--today", "2026-12-25"])

    assert result.exit_code == 0, result.output
    assert "2026-12-25: not a working day" in result.stdout
    assert smtp_server.messages == []
    assert count(OutboxMessage) == 0


def test_reminders_run_exits_1_when_a_message_fails_for_good(
    runner, smtp_server: MailCatcher
) -> None:  # type: ignore[no-untyped-def]
    smtp_server.refuse_with = "550 5.1.1 No such user"
    with time_machine.travel(at(2026, 12, 1, 8), tick=False):
        staff_with_overdue_courses(1)

        result = runner.invoke(args=["reminders", "run", "--today", "2026-12-01"])

    assert result.exit_code == 1
    assert "outbox: 0 sent, 0 to retry, 1 failed, 0 cancelled" in result.stdout
    assert "No such user" in result.stderr


def test_reminders_run_refuses_a_malformed_date(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["reminders", "run", "--today", "1/12/2026"])

    assert result.exit_code == 2
    assert "--today" in result.output


def test_mail_server_down_for_part_of_the_run_each_message_arrives_once_it_is_back(
    app: Flask, runner, smtp_server: MailCatcher
) -> None:  # type: ignore[no-untyped-def]
    smtp_server.refuse_with = "451 4.3.0 Try again later"  # a passing failure
    with time_machine.travel(at(2026, 12, 1, 8), tick=False) as traveller:
        staff = staff_with_overdue_courses(4)

        result = runner.invoke(args=["reminders", "run", "--today", "2026-12-01"])

        assert result.exit_code == 0, result.output  # retried later: no operator needed
        assert "outbox: 0 sent, 4 to retry, 0 failed, 0 cancelled" in result.stdout
        now = clock.utcnow()
        waiting = outbox_rows()
        assert len(waiting) == 4
        for row in waiting:
            assert row.status == OutboxStatus.QUEUED
            assert row.attempts == 1
            assert row.next_attempt_at > now
            assert "Try again later" in row.last_error
        assert smtp_server.messages == []

        # Not yet due: the scheduler's next minute sends nothing.
        scheduler.deliver_outbox_job(app)
        assert {row.attempts for row in outbox_rows()} == {1}

        smtp_server.refuse_with = None
        traveller.shift(timedelta(seconds=app.config["OUTBOX_RETRY_BASE_SECONDS"] + 1))
        scheduler.deliver_outbox_job(app)
        scheduler.deliver_outbox_job(app)  # and once more: nothing is sent twice

    assert_each_sent_exactly_once(smtp_server, [person.email for person in staff])
    assert {row.attempts for row in outbox_rows()} == {2}


# --- real processes --------------------------------------------------------------------------


def process_environment(app: Flask, smtp_server: MailCatcher | None = None) -> dict[str, str]:
    """What an operator's shell would hold: this test database and the test mail server."""
    env = dict(os.environ)
    env.update(
        TRAINING_TRACKER_ENV="testing",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
        PYTHONUNBUFFERED="1",
    )
    if smtp_server is not None:
        env.update(
            MAIL_BACKEND="smtp", MAIL_SERVER=smtp_server.host, MAIL_PORT=str(smtp_server.port)
        )
    return env


def flask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def test_two_reminders_run_processes_at_once_deliver_each_message_once(
    app: Flask, smtp_server: MailCatcher
) -> None:
    # The processes' clocks are real: plan for the next working day, with courses 20 days
    # overdue by then (overdue already today, when the mails are written).
    day = next_working_day(clock.today())
    staff = staff_with_overdue_courses(30, overdue_days=20 - (day - clock.today()).days)
    env = process_environment(app, smtp_server)

    processes = [
        subprocess.Popen(
            flask_command("reminders", "run", "--today", day.isoformat()),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]

    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, out + err
    sent = [int(re.search(r"^outbox: (\d+) sent", out, re.M).group(1)) for out, _ in outputs]
    assert sum(sent) == 30
    queued = [int(re.search(r"in (\d+) mails", out).group(1)) for out, _ in outputs]
    assert sum(queued) == 30  # planned once, by whichever process came first
    assert_each_sent_exactly_once(smtp_server, [person.email for person in staff])
    assert {row.attempts for row in outbox_rows()} == {1}


def test_flask_scheduler_runs_in_the_foreground_until_sigterm(app: Flask) -> None:
    process = subprocess.Popen(
        flask_command("scheduler"),
        cwd=PROJECT_ROOT,
        env=process_environment(app) | {"MAIL_BACKEND": "console"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout])  # type: ignore[union-attr]
    reader.start()
    seen: list[str] = []
    try:
        while not any(f"job {scheduler.DELIVER_OUTBOX}" in line for line in seen):
            seen.append(lines.get(timeout=60))
        while not all(any(f"job {job_id}," in line for line in seen) for job_id in JOB_IDS):
            seen.append(lines.get(timeout=10))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
    while not lines.empty():
        seen.append(lines.get())

    output = "".join(seen)
    assert process.returncode == 0, output
    assert "job plan-reminders, cron[hour='5', minute='30']: next run" in output
    assert "job weekly-digest, cron[day_of_week='mon-fri', hour='6', minute='0']" in output
    assert "job deliver-outbox, interval[0:01:00]: next run" in output
    assert "job apply-retention, cron[hour='2', minute='30']: next run" in output
    assert output.rstrip().endswith("scheduler stopped")
    assert "Traceback" not in output


# --- the web processes -----------------------------------------------------------------------


def test_creating_the_app_starts_no_scheduler(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    started: list[BaseScheduler] = []
    monkeypatch.setattr(BaseScheduler, "start", lambda self, *a, **k: started.append(self))
    threads_before = set(threading.enumerate())
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'web.sqlite'}"

    web = create_app(config)
    web.test_client().get("/healthz")

    assert started == []
    new_threads = set(threading.enumerate()) - threads_before
    assert not [t.name for t in new_threads if "APScheduler" in t.name or "scheduler" in t.name]


def test_the_wsgi_entry_point_does_not_even_import_apscheduler(app: Flask) -> None:
    """What gunicorn loads: no scheduler can start in a web worker."""
    probe = (
        "import sys, threading, wsgi; "
        "print(sorted(m for m in sys.modules if m.startswith('apscheduler'))); "
        "print(sorted(t.name for t in threading.enumerate()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        env=process_environment(app),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    modules, threads = result.stdout.splitlines()
    assert modules == "[]"
    assert threads == "['MainThread']"
