"""The demo's joint programme: the November campaign "En månad fri från våld" (this year's, or
next year's from December on) with digital lectures and workshops open to all six
municipalities or a few, some full with a waiting list, and a few people signed up."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    Course,
    Employee,
    EventFormat,
    Municipality,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    Provider,
    RegistrationStatus,
    Sector,
)
from training_tracker.services.programme.events import new_code
from training_tracker.services.programme.listing import campaign_year
from training_tracker.services.programme.times import end_of_day, to_utc

PROVIDER_KEY = "gemensamma-programmet"

# (title, description, day of November, start, hours, capacity, sectors, course key or None,
#  where: None for digital, else the place; municipalities: None for all six)
EVENTS: list[
    tuple[
        str,
        str,
        int,
        time,
        int,
        int,
        tuple[Sector, ...],
        str | None,
        str | None,
        tuple[str, ...] | None,
    ]
] = [
    (
        "Kampanjstart: Barn som upplever våld",
        "Digital föreläsning om barns utsatthet när vuxna i familjen utövar våld, och vad "
        "socialtjänst, skola och fritid kan göra.",
        3,
        time(9, 0),
        2,
        300,
        (),
        None,
        None,
        None,
    ),
    (
        "Att ställa frågan om våld",
        "Workshop i att fråga om våldsutsatthet och att ta emot svaret. Räknas som NCK:s "
        "webbkurs om våld i de kommuner som godkänt det.",
        6,
        time(13, 0),
        3,
        40,
        (Sector.SOCIAL_SERVICES, Sector.HEALTH_AND_CARE),
        "nck-webbkurs-om-vald",
        None,
        None,
    ),
    (
        "Hedersrelaterat våld och förtryck i skolan",
        "Föreläsning och samtal för skolledare, elevhälsa och lärare.",
        12,
        time(14, 0),
        2,
        120,
        (Sector.SCHOOL,),
        None,
        None,
        None,
    ),
    (
        "Våld i ungas nära relationer",
        "Workshop för fritidsgårdar och fältverksamhet.",
        18,
        time(9, 30),
        3,
        2,
        (Sector.LEISURE,),
        None,
        "Medborgarhuset, Sollentuna",
        ("Sollentuna", "Sundbyberg", "Upplands Väsby"),
    ),
    (
        "Ekonomiskt våld",
        "Digital föreläsning om kontroll genom pengar, skulder och bidrag.",
        25,
        time(10, 0),
        2,
        200,
        (),
        None,
        None,
        None,
    ),
]


def seed_programme(session: Session, rng: random.Random, today: date, organiser_id: int) -> None:
    provider = session.scalars(sa.select(Provider).where(Provider.key == PROVIDER_KEY)).one()
    towns = {m.name: m for m in session.scalars(sa.select(Municipality))}
    courses = {c.key: c for c in session.scalars(sa.select(Course))}
    year = campaign_year(today)
    now = clock.utcnow()
    for title, description, day, starts, hours, capacity, sectors, course, place, where in EVENTS:
        begins = to_utc(date(year, 11, day), starts)
        open_to = (
            [towns[name] for name in where if name in towns] if where else list(towns.values())
        )
        if not open_to:
            continue
        event = ProgrammeEvent(
            title=title,
            description=description,
            provider=provider,
            course=courses.get(course) if course else None,
            format=EventFormat.ON_SITE if place else EventFormat.DIGITAL,
            link=None if place else f"https://meet.example/programmet-{year}-{day}",
            place=place,
            sectors=[sector.value for sector in sectors],
            capacity=capacity,
            signup_deadline=end_of_day(date(year, 11, day) - timedelta(days=2)),
            campaign=True,
            owner_municipality_id=None,
            created_by_id=organiser_id,
            municipalities=open_to,
            sessions=[
                ProgrammeSession(
                    starts_at=begins,
                    ends_at=begins + timedelta(hours=hours),
                    checkin_code=new_code(),
                )
            ],
        )
        session.add(event)
        session.flush()
        _sign_up_some(session, rng, event, open_to, now)


def _sign_up_some(
    session: Session,
    rng: random.Random,
    event: ProgrammeEvent,
    open_to: list[Municipality],
    now: datetime,
) -> None:
    """A few of the staff of the event's municipalities, in order of asking: places first,
    then the waiting list (a small event fills)."""
    candidates = list(
        session.scalars(
            sa.select(Employee.id)
            .where(
                Employee.active,
                Employee.municipality_id.in_([m.id for m in open_to]),
            )
            .order_by(Employee.id)
            .limit(400)
        )
    )
    chosen = rng.sample(candidates, min(len(candidates), min(event.capacity + 2, 12)))
    for number, employee_id in enumerate(chosen):
        confirmed = number < event.capacity
        session.add(
            ProgrammeRegistration(
                event_id=event.id,
                employee_id=employee_id,
                status=RegistrationStatus.CONFIRMED if confirmed else RegistrationStatus.WAITING,
                registered_at=now - timedelta(minutes=len(chosen) - number),
                confirmed_at=now if confirmed else None,
                signed_up_by_id=employee_id,
            )
        )
