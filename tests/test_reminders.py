"""Reminders: exactly the mails owed, on working days, once each, never after the course is
done, never to a leaver or an exempt person; manager escalations and weekly digests.

The clock is moved day by day (time-machine); nothing sleeps. Mails go through a real SMTP
server on a loopback port, and the tests read what arrived."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from tests import factories
from tests.conftest import counting_statements, mail_html, mail_text, subject_of
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Employee,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderPolicy,
    Role,
    Sector,
)
from training_tracker.services.core.working_days import (
    is_first_working_day_of_week,
    is_working_day,
    next_working_day,
)
from training_tracker.services.messaging import outbox
from training_tracker.services.training import reminders

START = date(2026, 11, 30)  # a Monday; the 60 days run over Christmas and Epiphany
BASE_URL = "https://utbildning.example.se"


def at(day: date, hour: int = 5) -> datetime:
    """Early morning in Sweden on ``day`` (UTC+1 in winter), when the planner runs."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture()
def mail(app, smtp_server, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "BASE_URL", BASE_URL)
    return smtp_server


def run_day(day: date) -> None:
    with time_machine.travel(at(day), tick=False):
        reminders.run_reminders(db.session, today=day)


# --- Working days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 23), True),
        (date(2026, 12, 24), False),  # Christmas Eve: offices are closed
        (date(2026, 12, 25), False),
        (date(2026, 12, 26), False),  # a Saturday and Boxing Day
        (date(2026, 12, 28), True),
        (date(2026, 12, 31), False),  # New Year's Eve
        (date(2027, 1, 1), False),
        (date(2027, 1, 6), False),  # Epiphany
        (date(2026, 6, 19), False),  # Midsummer Eve
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 5, 14), False),  # Ascension Day
        (date(2026, 11, 28), False),  # a Saturday
        (date(2026, 11, 30), True),
    ],
)
def test_working_days_are_weekdays_that_are_not_swedish_holidays(day, working):
    assert is_working_day(day) is working


def test_the_next_working_day_and_the_first_of_a_week():
    assert next_working_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert next_working_day(date(2027, 1, 6)) == date(2027, 1, 7)
    assert is_first_working_day_of_week(date(2026, 4, 7))  # the Tuesday after Easter Monday
    assert not is_first_working_day_of_week(date(2026, 4, 8))
    assert is_first_working_day_of_week(date(2026, 11, 30))


# --- Sixty days of reminders ----------------------------------------------------------------


class Cast:
    """The people of the simulation, in a unit of Järfälla with its manager Maria."""

    def __init__(self) -> None:
        catalog = factories.synced_catalog()
        self.course = catalog["nck-webbkurs-om-vald"]
        self.expiring_course = next(c for k, c in catalog.items() if k != self.course.key)
        self.unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
        self.maria = factories.with_role(
            factories.employee(unit=self.unit, first_name="Maria", last_name="Chef"),
            Role.MANAGER,
            on_unit=self.unit,
        )
        with time_machine.travel(at(START, 9), tick=False):
            self.anna = self.new_hire("Anna")  # never reports: every step
            self.bo = self.new_hire("Bo")  # reports after the first reminder
            self.cem = self.new_hire("Cem")  # leaves before the first reminder
            self.dan = self.new_hire("Dan")  # exempt
            self.eva = self.new_hire("Eva")  # reports at once; the report is rejected
        self.dan_assignment.exempt = True
        self.cem.end_date = date(2026, 12, 10)
        # Fia and Gus took the other course long ago; it expires on 8 January.
        self.fia = self.with_expiring_completion("Fia")  # takes it again in time
        self.gus = self.with_expiring_completion("Gus")  # lets it expire: due again
        db.session.commit()

    def new_hire(self, name: str) -> Employee:
        person = factories.employee(unit=self.unit, first_name=name, hire_date=START)
        assignment = factories.assignment(person, self.course, due_in_days=44)  # 13 January
        if name == "Dan":
            self.dan_assignment = assignment
        return person

    def with_expiring_completion(self, name: str) -> Employee:
        person = factories.employee(unit=self.unit, first_name=name, hire_date=date(2020, 1, 1))
        assignment = Assignment(
            employee_id=person.id, course_id=self.expiring_course.id, due_date=date(2024, 3, 1)
        )
        done = Completion(
            employee_id=person.id,
            course_id=self.expiring_course.id,
            completed_on=date(2024, 1, 8),
            expires_on=date(2027, 1, 8),
            status=CompletionStatus.VERIFIED,
            reported_by_id=person.id,
        )
        db.session.add_all([assignment, done])
        db.session.commit()
        return person

    def events_of(self, day: date) -> None:
        """What people do on ``day``, before the planner runs."""
        if day == date(2026, 12, 1):
            self.report(self.eva, self.course, CompletionStatus.REPORTED)
        if day == date(2026, 12, 15):
            self.report(self.fia, self.expiring_course, CompletionStatus.VERIFIED, months=36)
        if day == date(2026, 12, 18):
            eva_report = db.session.scalars(
                sa.select(Completion).where(Completion.employee_id == self.eva.id)
            ).one()
            eva_report.status = CompletionStatus.REJECTED
            eva_report.rejection_reason = "Fel intyg"
        if day == date(2026, 12, 20):
            self.report(self.bo, self.course, CompletionStatus.REPORTED)
        db.session.commit()

    def report(self, person, course, status, months=None):  # type: ignore[no-untyped-def]
        today = datetime.now(UTC).date()
        db.session.add(
            Completion(
                employee_id=person.id,
                course_id=course.id,
                completed_on=today,
                expires_on=today.replace(year=today.year + months // 12) if months else None,
                status=status,
                reported_by_id=person.id,
            )
        )


def sent_per_day(cast: Cast) -> list[tuple[str, str, str]]:
    """(day, recipient's first name, kind) of every mail sent, in order."""
    names = {p.id: p.first_name for p in db.session.scalars(sa.select(Employee))}
    rows = db.session.execute(
        sa.select(OutboxMessage.sent_at, OutboxMessage.recipient_id, OutboxMessage.kind)
        .where(OutboxMessage.status == OutboxStatus.SENT)
        .order_by(OutboxMessage.sent_at, OutboxMessage.recipient_id, OutboxMessage.kind)
    ).all()
    return [(sent.date().isoformat(), names[recipient], kind) for sent, recipient, kind in rows]


EXPECTED_60_DAYS = [
    ("2026-12-09", "Fia", "reminder"),  # 30 days before her completion expires
    ("2026-12-09", "Gus", "reminder"),
    ("2026-12-14", "Anna", "reminder"),  # 14 days after the hire
    ("2026-12-14", "Bo", "reminder"),
    ("2026-12-18", "Eva", "reminder"),  # her report was rejected: the course is open again
    ("2027-01-04", "Maria", "digest"),  # Anna and Eva due within two weeks
    ("2027-01-07", "Anna", "reminder"),  # 7 days before: 6 January is Epiphany, so the 7th
    ("2027-01-07", "Eva", "reminder"),
    ("2027-01-08", "Gus", "reminder"),  # his completion expired: due again today
    ("2027-01-11", "Maria", "digest"),
    ("2027-01-13", "Anna", "reminder"),  # on the due date
    ("2027-01-13", "Eva", "reminder"),
    ("2027-01-15", "Maria", "escalation"),  # Gus, 7 days overdue
    ("2027-01-18", "Maria", "digest"),
    ("2027-01-20", "Maria", "escalation"),  # Anna and Eva, 7 days overdue, in one mail
    ("2027-01-22", "Gus", "reminder"),  # 14 days overdue
    ("2027-01-25", "Maria", "digest"),
    ("2027-01-27", "Anna", "reminder"),
    ("2027-01-27", "Eva", "reminder"),
]


def test_sixty_days_send_exactly_the_mails_owed_and_no_more(mail):
    cast = Cast()
    day = START
    while day <= START + timedelta(days=60):
        with time_machine.travel(at(day), tick=False):
            cast.events_of(day)
        run_day(day)
        day += timedelta(days=1)

    assert sent_per_day(cast) == EXPECTED_60_DAYS
    # Each arrived once, at the right address.
    assert len(mail.messages) == len(EXPECTED_60_DAYS)
    assert sorted(m["To"] for m in mail.to(cast.anna.email)) == [cast.anna.email] * 4
    assert not mail.to(cast.cem.email)  # left on 10 December
    assert not mail.to(cast.dan.email)  # exempt
    # Running every day again sends nothing more: each reminder is owed once, ever.
    for again in (date(2027, 1, 7), date(2027, 1, 13), date(2027, 1, 27)):
        run_day(again)
    assert len(mail.messages) == len(EXPECTED_60_DAYS)


def test_the_mails_say_what_is_wanted_with_links_that_lead_there(app, client, mail):
    cast = Cast()
    run_day(date(2026, 12, 14))
    (first,) = mail.to(cast.anna.email)
    assert subject_of(first) == f"Påminnelse: gå {cast.course.title} senast 13 januari 2027"
    text = mail_text(first)
    assert cast.course.url in text
    report_link = f"{BASE_URL}/my/report?course={cast.course.id}"
    assert report_link in text
    assert report_link in mail_html(first)
    assert "30 dagar kvar" in text
    assert "enligt kommunens HR" in text  # why they receive it
    client.sign_in(cast.anna)
    assert client.get(report_link.removeprefix(BASE_URL)).status_code == 200

    run_day(date(2027, 1, 20))
    (escalation,) = mail.to(cast.maria.email)
    assert subject_of(escalation) == (
        # Anna, Bo and Eva (due 13 January), Fia and Gus (expired 8 January: still within
        # the week a late escalation is sent, as after a weekend).
        "Försenade kurser i din personalgrupp: 5 medarbetare"
    )
    text = mail_text(escalation)
    for name in ("Anna", "Bo", "Eva", "Fia", "Gus"):
        assert name in text
    assert "7 dagar försenad" in text
    assert "12 dagar försenad" in text
    assert "Dan" not in text and "Cem" not in text


def test_the_weekly_digest_lists_the_team_s_open_courses_soonest_first(mail):
    cast = Cast()
    day = START
    while day <= date(2027, 1, 18):
        with time_machine.travel(at(day), tick=False):
            cast.events_of(day)
        run_day(day)
        day += timedelta(days=1)
    digests = [m for m in mail.to(cast.maria.email) if "utbildningsläge" in subject_of(m)]
    assert len(digests) == 3  # 4, 11 and 18 January

    first = mail_text(digests[0])  # Anna and Eva due on the 13th; nobody overdue yet
    assert subject_of(digests[0]) == "Veckans utbildningsläge: 0 försenade, 2 snart"
    for person in (cast.anna, cast.eva):
        assert f"- {person.full_name}: {cast.course.title}, senast 13 januari 2027" in first
    for person in (cast.bo, cast.cem, cast.dan, cast.fia, cast.gus, cast.maria):
        assert person.full_name not in first

    last = mail_text(digests[-1])  # Gus's expired on the 8th; Anna's and Eva's on the 13th
    assert subject_of(digests[-1]) == "Veckans utbildningsläge: 3 försenade, 0 snart"
    gus = f"- {cast.gus.full_name}: {cast.expiring_course.title}, 10 dagar försenad"
    assert gus in last
    for person in (cast.anna, cast.eva):
        line = f"- {person.full_name}: {cast.course.title}, 5 dagar försenad"
        assert line in last and last.index(gus) < last.index(line)
    assert cast.bo.full_name not in last  # he reported it
    html = mail_html(digests[-1])
    assert f"<li>{cast.gus.full_name}: {cast.expiring_course.title}, 10 dagar" in html


def test_a_reminder_is_in_the_employees_language(app, mail):
    cast = Cast()
    cast.anna.preferred_language = "en"
    db.session.commit()
    run_day(date(2026, 12, 14))
    (first,) = mail.to(cast.anna.email)
    # The course by its English title too, the date as English pages write it.
    assert subject_of(first) == f"Reminder: take {cast.course.title_en} by 13 January 2027"
    assert cast.course.title_en and cast.course.title_en != cast.course.title


def test_nothing_is_planned_on_a_holiday_and_the_next_working_day_catches_up(mail):
    cast = Cast()
    report = reminders.plan_reminders(db.session, today=date(2027, 1, 6))
    assert report.working_day is False
    assert report.total == 0
    with time_machine.travel(at(date(2027, 1, 7)), tick=False):
        report = reminders.plan_reminders(db.session, today=date(2027, 1, 7))
    db.session.commit()
    # 6 January's "7 days before" goes out on the 7th, to those who have not reported: Anna,
    # Bo and Eva (Cem has left, Dan is exempt).
    assert report.queued["before_due"] == 3
    assert {r.recipient_id for r in db.session.scalars(sa.select(Reminder))} >= {
        cast.anna.id,
        cast.bo.id,
        cast.eva.id,
    }


def test_a_course_reported_after_planning_is_left_out_of_the_mail_and_an_empty_mail_is_not_sent(
    mail,
):
    cast = Cast()
    with time_machine.travel(at(date(2026, 12, 14)), tick=False):
        reminders.plan_reminders(db.session, today=date(2026, 12, 14))
        db.session.commit()
        cast.report(cast.anna, cast.course, CompletionStatus.REPORTED)
        db.session.commit()
        from training_tracker.services.messaging import outbox

        delivered = outbox.deliver_outbox(db.session)
    assert delivered.cancelled == 1  # Anna's: nothing left to remind her of
    assert not mail.to(cast.anna.email)
    assert len(mail.to(cast.bo.email)) == 1


def test_planning_takes_the_same_number_of_statements_for_few_and_many_employees(app):
    cast = Cast()
    with time_machine.travel(at(date(2027, 1, 27)), tick=False):
        with counting_statements() as few:
            reminders.plan_reminders(db.session, today=date(2027, 1, 27))
        db.session.rollback()
        for index in range(60):
            person = factories.employee(unit=cast.unit, first_name=f"P{index}")
            db.session.add(
                Assignment(
                    employee_id=person.id, course_id=cast.course.id, due_date=date(2027, 1, 13)
                )
            )
        db.session.commit()
        with counting_statements() as many:
            report = reminders.plan_reminders(db.session, today=date(2027, 1, 27))
        db.session.commit()
    assert report.mails > 60
    assert len(few) == len(many)
    assert len(many) <= 12


def test_writing_and_sending_the_mails_takes_the_same_statements_for_few_and_many(mail):
    """The mails are written in bulk when they are sent: the reminders still owed, the
    managers' teams, the courses are loaded for a whole batch, not message by message."""
    cast = Cast()
    day = date(2027, 1, 27)

    def deliver_the_days_mails() -> tuple[int, list[str]]:
        with time_machine.travel(at(day), tick=False):
            reminders.plan_reminders(db.session, today=day)
            db.session.commit()
            with counting_statements() as statements:
                report = outbox.deliver_outbox(db.session)
        assert report.failed == report.retrying == 0
        return report.sent, statements

    few_sent, few = deliver_the_days_mails()
    db.session.execute(sa.delete(Reminder))
    db.session.execute(sa.delete(OutboxMessage))
    for index in range(60):
        person = factories.employee(unit=cast.unit, first_name=f"P{index}", password=None)
        db.session.add(
            Assignment(employee_id=person.id, course_id=cast.course.id, due_date=date(2027, 1, 13))
        )
    db.session.commit()
    many_sent, many = deliver_the_days_mails()

    assert many_sent == few_sent + 60
    assert len(few) == len(many)


def test_a_municipality_sets_its_own_schedule(mail):
    cast = Cast()
    db.session.add(
        ReminderPolicy(
            municipality_id=cast.unit.municipality_id,
            first_after_days=0,  # off
            before_due_days=3,
            overdue_times=0,  # off
            escalate_after_days=0,  # off
        )
    )
    db.session.commit()
    for day in (date(2026, 12, 14), date(2027, 1, 7), date(2027, 1, 11), date(2027, 1, 20)):
        run_day(day)
    escalations = sa.select(OutboxMessage).where(OutboxMessage.kind == "escalation")
    assert db.session.scalars(escalations).all() == []
    steps = sorted({r.step for r in db.session.scalars(sa.select(Reminder))} - {"expiry"})
    # No first reminder, no overdue ones, no escalation; "3 days before" 13 January is the 10th,
    # a Sunday, so it went out on the 11th. Fia and Gus, due again when their course expired on
    # the 8th, got the due-date reminder on the next run (the 11th).
    assert steps == ["before_due", "due"]
    planned = {
        (r.recipient_id, r.step): r.planned_on for r in db.session.scalars(sa.select(Reminder))
    }
    assert planned[(cast.anna.id, "before_due")] == date(2027, 1, 11)
    assert planned[(cast.gus.id, "due")] == date(2027, 1, 11)


def test_a_manager_can_switch_off_the_weekly_digest(client, mail):
    cast = Cast()
    client.sign_in(cast.maria)
    page = client.get("/settings/notifications")
    assert page.status_code == 200
    response = client.post_form("/settings/notifications", {"weekly_digest": ""})
    assert response.status_code == 302
    assert db.session.get(Employee, cast.maria.id).digest_opt_out is True
    run_day(date(2027, 1, 11))
    assert [m for m in mail.to(cast.maria.email) if "Veckans" in subject_of(m)] == []


def test_each_reminder_is_recorded_once_even_when_planned_twice_at_once(app):
    cast = Cast()
    with time_machine.travel(at(date(2026, 12, 14)), tick=False):
        first = reminders.plan_reminders(db.session, today=date(2026, 12, 14))
        db.session.commit()
        second = reminders.plan_reminders(db.session, today=date(2026, 12, 14))
        db.session.commit()
    assert first.queued["first"] == 3  # Anna, Bo and Eva (Eva has not reported yet)
    assert second.total == 0 and second.mails == 0
    # And the expiry notices of Fia and Gus, within 30 days of 8 January.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 5
    assert cast.cem.id not in {r.recipient_id for r in db.session.scalars(sa.select(Reminder))}
