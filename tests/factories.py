"""Test data, made through the same models the app uses. Each factory commits."""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    EventFormat,
    Evidence,
    IdentityProvider,
    ImportBatch,
    ImportStatus,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    ProgrammeEvent,
    ProgrammeSession,
    Provider,
    RequirementRule,
    Role,
    Sector,
    Unit,
)
from training_tracker.services.imports.batches import table_to_json
from training_tracker.services.imports.table import read_table
from training_tracker.services.people import accounts, roles, saml_providers, sso_providers
from training_tracker.services.programme import times as programme_times
from training_tracker.services.training import catalog
from training_tracker.services.training.evidence import store_file

PASSWORD = "kanelbulle-med-kardemumma"  # meets the policy; every factory account has it
_counter = itertools.count(1)


@functools.cache
def _hashed(password: str) -> str:
    # Argon2 is slow on purpose; hash each test password once per run.
    return accounts.hash_password(password)


def municipality(name: str = "Järfälla") -> Municipality:
    return db.session.scalars(sa.select(Municipality).where(Municipality.name == name)).one()


def unit(
    municipality_name: str = "Järfälla", sector: Sector = Sector.SOCIAL_SERVICES, name: str = ""
) -> Unit:
    home = municipality(municipality_name)
    name = name or f"{sector.label} {next(_counter)}"
    existing = db.session.scalars(
        sa.select(Unit).where(Unit.municipality_id == home.id, Unit.name == name)
    ).first()
    if existing:
        return existing
    created = Unit(municipality=home, name=name, sector=sector)
    db.session.add(created)
    db.session.commit()
    return created


def employee(
    *,
    unit: Unit | None = None,
    email: str | None = None,
    first_name: str = "Anna",
    last_name: str | None = None,
    password: str | None = PASSWORD,
    hire_date: date | None = None,
    active: bool = True,
    language: str = "sv",
    manager: Employee | None = None,
    system_account: bool = False,
) -> Employee:
    """An employee of ``unit`` (a new social-services unit in Järfälla by default)."""
    n = next(_counter)
    if unit is None and not system_account:
        unit = globals()["unit"]()
    person = Employee(
        first_name=first_name,
        last_name=last_name or f"Testsson{n}",
        email=(email or f"person{n}@test.example").lower(),
        employee_number=f"E{n:05d}" if unit else None,
        municipality_id=unit.municipality_id if unit else None,
        unit=unit,
        hire_date=hire_date or clock.today() - timedelta(days=365),
        active=active,
        preferred_language=language,
        password_hash=_hashed(password) if password else None,
        manager=manager,
    )
    db.session.add(person)
    db.session.commit()
    return person


def with_role(
    person: Employee,
    role: Role,
    *,
    municipality_name: str | None = None,
    on_unit: Unit | None = None,
) -> Employee:
    roles.grant_role(
        db.session,
        actor=None,
        employee=person,
        role=role,
        municipality=municipality(municipality_name) if municipality_name else None,
        unit=on_unit,
    )
    db.session.commit()
    return person


def hr_staff(municipality_name: str = "Järfälla") -> Employee:
    """Someone of the municipality's HR department, with the HR role there."""
    home = unit(municipality_name, Sector.OTHER, f"HR-avdelningen {municipality_name}")
    person = employee(unit=home, first_name="Hanna", last_name="Personalsson")
    return with_role(person, Role.HR, municipality_name=municipality_name)


def admin() -> Employee:
    """An administrator: a system account of no municipality."""
    person = employee(system_account=True, first_name="Ada", last_name="Admin")
    return with_role(person, Role.ADMIN)


def synced_catalog() -> dict[str, Course]:
    catalog.sync_catalog(db.session, catalog.providers_from_config())
    db.session.commit()
    return {course.key: course for course in db.session.scalars(sa.select(Course))}


def rule(
    course: Course,
    *,
    sector: Sector | None = None,
    due_days: int = 90,
    municipality_name: str | None = None,
    applies_from: date | None = None,
) -> RequirementRule:
    created = RequirementRule(
        course=course,
        sector=sector,
        municipality=municipality(municipality_name) if municipality_name else None,
        due_days=due_days,
        applies_from=applies_from or clock.today() - timedelta(days=365),
    )
    db.session.add(created)
    db.session.commit()
    return created


def assignment(person: Employee, course: Course, *, due_in_days: int = 30) -> Assignment:
    created = Assignment(
        employee_id=person.id,
        course_id=course.id,
        due_date=clock.today() + timedelta(days=due_in_days),
    )
    db.session.add(created)
    db.session.commit()
    return created


def import_batch(
    municipality_name: str = "Järfälla",
    content: bytes | None = None,
    *,
    applied_with_rejections: bool = False,
) -> ImportBatch:
    """An uploaded file awaiting its preview; ``applied_with_rejections``: one confirmed
    already, whose second data row (line 3) was rejected, as the result page sees it."""
    data = (
        content
        or (
            "förnamn;efternamn;e-post;enhet;sektor;anställningsdatum\n"
            "Lisa;Berg;lisa.berg@test.example;IFO;Socialtjänst;2026-01-15\n"
            + (
                "Omar;Ali;inte-en-adress;IFO;Socialtjänst;2026-01-15\n"
                if applied_with_rejections
                else ""
            )
        ).encode()
    )
    cells = table_to_json(read_table(data))  # as an upload keeps them
    created = ImportBatch(
        municipality_id=municipality(municipality_name).id,
        filename="personal.csv",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        content=data,
        cells=cells,
    )
    if applied_with_rejections:
        created.status = ImportStatus.APPLIED
        created.applied_at = clock.utcnow()
        created.summary = {"rows": 2, "created": 1, "rejected": 1}
        created.cells = {**cells, "rejected": [[3, "e-post", "är inte en giltig e-postadress"]]}
    db.session.add(created)
    db.session.commit()
    return created


def xlsx_file(rows: list[list[object]]) -> bytes:
    """An Excel workbook with ``rows`` on its one sheet, as an HR system exports it."""
    from openpyxl import Workbook  # late: only the import tests need openpyxl here

    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def completion(
    person: Employee,
    course: Course,
    *,
    status: CompletionStatus = CompletionStatus.VERIFIED,
    completed_on: date | None = None,
) -> Completion:
    created = Completion(
        employee_id=person.id,
        course_id=course.id,
        completed_on=completed_on or clock.today() - timedelta(days=10),
        status=status,
        reported_by_id=person.id,
    )
    db.session.add(created)
    db.session.commit()
    return created


def evidence(of: Completion, content: bytes = b"%PDF-1.7\n%%EOF\n") -> Evidence:
    """A certificate file stored in the app's upload folder, attached to ``of``."""
    stored = store_file(
        io.BytesIO(content),
        filename="intyg.pdf",
        folder=Path(current_app.config["UPLOAD_FOLDER"]),
        max_bytes=10**7,
    )
    created = Evidence(
        completion_id=of.id,
        storage_name=stored.storage_name,
        original_filename=stored.original_filename,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        uploaded_by_id=of.employee_id,
    )
    db.session.add(created)
    db.session.commit()
    return created


def outbox_message(
    recipient: Employee | None = None,
    *,
    kind: str = "reminder",
    status: OutboxStatus | str = OutboxStatus.QUEUED,
    email: str | None = None,
    subject: str = "Påminnelse: Webbkurs om våld",
    body_text: str = "Hej,\n\nDu har en kurs kvar att gå.\n",
    last_error: str | None = None,
    attempts: int = 0,
    created_at: datetime | None = None,
) -> OutboxMessage:
    """A row of the outbox as delivery would have left it."""
    now = clock.utcnow()
    state = OutboxStatus(status)
    created = OutboxMessage(
        idempotency_key=f"test:{kind}:{next(_counter)}",
        kind=kind,
        recipient_id=recipient.id if recipient else None,
        recipient_email=email or (recipient.email if recipient else "someone@test.example"),
        subject=subject,
        body_text=body_text,
        body_html=None,
        status=state,
        attempts=attempts,
        next_attempt_at=created_at or now,
        sent_at=(created_at or now) if state == OutboxStatus.SENT else None,
        last_error=last_error,
        created_at=created_at or now,
    )
    db.session.add(created)
    db.session.commit()
    return created


# --- coverage reports: dated records, as the past left them ----------------------------------


def _at(day: date | None, hour: int = 10) -> datetime | None:
    """A stored timestamp (naive UTC) on ``day``, in the middle of a Swedish working day."""
    return datetime.combine(day, datetime.min.time()).replace(hour=hour) if day else None


def dated_course(
    key: str,
    *,
    title: str | None = None,
    provider_key: str = "testprovider",
    validity_months: int | None = None,
) -> Course:
    """A course of its own provider (made on the spot), optionally with a validity."""
    from training_tracker.models import Provider

    provider = db.session.scalars(sa.select(Provider).where(Provider.key == provider_key)).first()
    if provider is None:
        provider = Provider(
            key=provider_key, name=f"Provider {provider_key}", website="https://example.org/"
        )
        db.session.add(provider)
    created = Course(
        key=key,
        provider=provider,
        title=title or key,
        url=f"https://example.org/{key}",
        audience=[],
        validity_months=validity_months,
    )
    db.session.add(created)
    db.session.commit()
    return created


def dated_assignment(
    person: Employee,
    course: Course,
    *,
    assigned_on: date,
    due: date,
    removed_on: date | None = None,
    exempted_on: date | None = None,
) -> Assignment:
    """An assignment created on ``assigned_on``, maybe removed or exempted later."""
    created = Assignment(
        employee_id=person.id,
        course_id=course.id,
        due_date=due,
        assigned_at=_at(assigned_on, 8),
        removed_at=_at(removed_on, 8),
        exempt=exempted_on is not None,
        exemption_reason="Har motsvarande utbildning" if exempted_on else None,
        exempted_at=_at(exempted_on, 9),
    )
    db.session.add(created)
    db.session.commit()
    return created


def dated_completion(
    person: Employee,
    course: Course,
    *,
    completed_on: date,
    status: CompletionStatus = CompletionStatus.VERIFIED,
    reported_on: date | None = None,
    reviewed_on: date | None = None,
    expires_on: date | None = None,
) -> Completion:
    """A completion reported on ``reported_on`` (the completion day by default) and, when
    verified or rejected, reviewed on ``reviewed_on``."""
    created = Completion(
        employee_id=person.id,
        course_id=course.id,
        completed_on=completed_on,
        expires_on=expires_on,
        status=status,
        reported_at=_at(reported_on or completed_on, 11),
        reported_by_id=person.id,
        reviewed_at=_at(reviewed_on, 12),
        rejection_reason="Intyget gäller en annan kurs"
        if status == CompletionStatus.REJECTED
        else None,
    )
    db.session.add(created)
    db.session.commit()
    return created


def staff_in_bulk(
    unit: Unit,
    count: int,
    courses: list[Course],
    *,
    hire_date: date,
    assigned_on: date,
    due: date,
    prefix: str = "bulk",
) -> None:
    """``count`` employees of ``unit``, each assigned ``courses``; every other one has
    completed them (verified), every third one reported them, in a few statements."""
    db.session.execute(
        sa.insert(Employee),
        [
            {
                "first_name": "Bulk",
                "last_name": f"{prefix}{n:05d}",
                "email": f"{prefix}{n}.{unit.id}@test.example",
                "employee_number": f"{prefix}{unit.id}-{n}",
                "municipality_id": unit.municipality_id,
                "unit_id": unit.id,
                "hire_date": hire_date,
                "active": True,
            }
            for n in range(count)
        ],
    )
    ids = db.session.scalars(
        sa.select(Employee.id).where(
            Employee.unit_id == unit.id, Employee.last_name.like(f"{prefix}%")
        )
    ).all()
    moment = _at(assigned_on, 8)
    db.session.execute(
        sa.insert(Assignment),
        [
            {"employee_id": i, "course_id": c.id, "due_date": due, "assigned_at": moment}
            for i in ids
            for c in courses
        ],
    )
    completions = []
    for n, i in enumerate(ids):
        status = (
            CompletionStatus.VERIFIED
            if n % 2 == 0
            else (CompletionStatus.REPORTED if n % 3 == 0 else None)
        )
        if status is None:
            continue
        for c in courses:
            completions.append(
                {
                    "employee_id": i,
                    "course_id": c.id,
                    "completed_on": assigned_on,
                    "status": status,
                    "reported_at": moment,
                    "reviewed_at": moment if status == CompletionStatus.VERIFIED else None,
                }
            )
    if completions:
        db.session.execute(sa.insert(Completion), completions)
    db.session.commit()


_MONTHS = {
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
    "en": "January February March April May June July August September October November December",
}


def shown(day: date, language: str = "sv") -> str:
    """``day`` as people read dates in the app, on pages and in mails: "3 december 2026"."""
    return f"{day.day} {_MONTHS[language].split()[day.month - 1]} {day.year}"


def identity_provider(
    issuer: str,
    *,
    municipality_name: str = "Järfälla",
    domains: tuple[str, ...] = ("jarfalla.se",),
    client_id: str = "utbildning-test",
    client_secret: str = "test-client-secret-" + "x" * 16,
    label: str = "",
) -> IdentityProvider:
    """An OpenID Connect provider of a municipality (its secret entered, not from the env)."""
    provider = sso_providers.add_oidc_provider(
        db.session,
        municipality=municipality(municipality_name),
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        domains=list(domains),
        label=label,
        actor=None,
    )
    db.session.commit()
    return provider


def organiser(municipality_name: str | None = "Järfälla") -> Employee:
    """An organiser of the joint programme: of a municipality, or (None) of the region."""
    home = unit(municipality_name or "Sollentuna", Sector.SOCIAL_SERVICES, "Samordning mot våld")
    person = employee(unit=home, first_name="Olle", last_name="Arrangörsson")
    return with_role(person, Role.ORGANISER, municipality_name=municipality_name)


def programme_event(
    *,
    title: str = "Barn som upplever våld",
    municipalities: tuple[str, ...] = ("Järfälla", "Sigtuna"),
    capacity: int = 30,
    starts: datetime | None = None,
    hours: int = 2,
    deadline: date | None = None,
    campaign: bool = False,
    requires_approval: bool = False,
    course: Course | None = None,
    owner: str | None = "Järfälla",
    link: str | None = "https://möte.example/barn",
    place: str | None = None,
) -> ProgrammeEvent:
    """An event of the joint programme, with one session; ``starts`` is Swedish wall-clock
    time (default: ten days from today at 13:00)."""
    synced_catalog()
    provider = db.session.scalars(
        sa.select(Provider).where(Provider.key == "gemensamma-programmet")
    ).one()
    local = starts or datetime.combine(
        clock.today() + timedelta(days=10), datetime.min.time()
    ).replace(hour=13)
    begins = programme_times.to_utc(local.date(), local.time())
    event = ProgrammeEvent(
        title=title,
        provider=provider,
        format=EventFormat.ON_SITE if place else EventFormat.DIGITAL,
        link=None if place else link,
        place=place,
        sectors=[],
        capacity=capacity,
        signup_deadline=programme_times.end_of_day(deadline or local.date() - timedelta(days=2)),
        campaign=campaign,
        requires_approval=requires_approval,
        course=course,
        owner_municipality_id=municipality(owner).id if owner else None,
        municipalities=[municipality(name) for name in municipalities],
        sessions=[
            ProgrammeSession(
                starts_at=begins,
                ends_at=begins + timedelta(hours=hours),
                checkin_code=f"KOD{next(_counter):03d}",
            )
        ],
    )
    db.session.add(event)
    db.session.commit()
    return event


def programme_session(event: ProgrammeEvent, *, days_later: int) -> ProgrammeSession:
    """Another session of ``event``, at the same time ``days_later`` days after its first."""
    first = event.sessions[0]
    added = ProgrammeSession(
        event=event,
        starts_at=first.starts_at + timedelta(days=days_later),
        ends_at=first.ends_at + timedelta(days=days_later),
    )
    db.session.add(added)
    db.session.commit()
    return added


def saml_identity_provider(
    metadata_xml: str,
    *,
    municipality_name: str = "Järfälla",
    domains: tuple[str, ...] = ("jarfalla.se",),
    label: str = "",
    subject_attribute: str | None = None,
) -> IdentityProvider:
    """A SAML 2.0 provider of a municipality, from its metadata."""
    provider = saml_providers.add_saml_provider(
        db.session,
        municipality=municipality(municipality_name),
        metadata_xml=metadata_xml,
        metadata_source="",
        domains=list(domains),
        label=label,
        subject_attribute=subject_attribute,
        actor=None,
    )
    db.session.commit()
    return provider
