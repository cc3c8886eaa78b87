"""Everything the tracker holds about one person, as a ZIP (GDPR article 15 and 20).

:func:`collect` reads the person's records in a fixed number of queries, however long their
history; :func:`write_zip` writes ``data.json``, ``LASMIG.txt`` and the certificate files. The
two are apart so that what the database holds is read in one place and the files on disk in
another: a file missing on disk is written into ``data.json`` as missing, never an error.

Another person's data never goes in: audit events this person did to someone else are listed
without whom or what, escalations and digests (which name the staff) without their text, and
links that would still sign someone in are cut out of every mail's text.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Completion,
    Course,
    Employee,
    Evidence,
    OutboxMessage,
    Reminder,
    RequirementRule,
    RoleGrant,
)
from training_tracker.services.compliance import audit
from training_tracker.services.compliance.personal_programme import programme_records
from training_tracker.services.core import audit_trail
from training_tracker.services.core.spreadsheets import export_filename
from training_tracker.services.messaging import sign_in_links
from training_tracker.services.messaging.kinds import MESSAGE_KINDS, MESSAGE_STATUSES
from training_tracker.services.people.person_assignments import COMPLETION_STATUS_LABELS
from training_tracker.services.training.evidence import EvidenceError, path_of

FORMAT_NAME = "training-tracker-personal-data"
FORMAT_VERSION = 1
EXPORTED_ACTION = "personal_data.exported"
_CHUNK = 64 * 1024

# Mails whose text concerns the recipient alone. Escalations and digests list a manager's
# staff, and the text of any other kind may name someone else, so theirs is left out (GDPR
# art. 15(4): the copy must not adversely affect the rights of others).
_OWN_TEXT_KINDS = frozenset(
    {
        "invitation",
        "password_reset",
        "completion_rejected",
        "completion_recorded",
        "reminder",
        "programme_signup",
        "programme_reminder",
    }
)
_REMINDER_STEPS = {
    "first": _l("Första påminnelsen"),
    "before_due": _l("Före sista dag"),
    "due": _l("På sista dagen"),
    "overdue": _l("Efter sista dag"),
    "escalation": _l("Till chefen"),
    "expiry": _l("Innan kursen går ut"),
}
_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


@dataclass
class CertificateFile:
    """One stored certificate to copy into the ZIP; ``entry`` is its object in data.json,
    which :func:`write_zip` completes with what it found on disk."""

    storage_name: str
    sha256: str
    zip_name: str
    entry: dict[str, Any]


@dataclass
class PersonalData:
    employee_id: int
    full_name: str
    data: dict[str, Any]
    certificates: list[CertificateFile] = field(default_factory=list)


def _moment(value: datetime | None) -> str | None:
    """A stored naive-UTC timestamp as Swedish local time with its offset."""
    return clock.to_local(value).isoformat(timespec="seconds") if value else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _name(first: str | None, last: str | None) -> str | None:
    return f"{first} {last}" if first is not None else None


def _course(course: Course) -> dict[str, Any]:
    return {"key": course.key, "title": course.title, "provider": course.provider.name}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "kurs"


def _profile(person: Employee) -> dict[str, Any]:
    return {
        "id": person.id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "employee_number": person.employee_number,
        "municipality": person.municipality.name if person.municipality else None,
        "unit": person.unit.name if person.unit else None,
        "sector": person.unit.sector.value if person.unit else None,
        "sector_label": person.unit.sector.label if person.unit else None,
        "manager": person.manager.full_name if person.manager else None,
        "hire_date": _day(person.hire_date),
        "end_date": _day(person.end_date),
        "account_active": person.active,
        "preferred_language": person.preferred_language,
        "has_password": person.password_hash is not None,  # never the password or its hash
        "invited_at": _moment(person.invited_at),
        "last_login_at": _moment(person.last_login_at),
        "weekly_digest_opt_out": person.digest_opt_out,
        "created_at": _moment(person.created_at),
        "updated_at": _moment(person.updated_at),
        "anonymised_at": _moment(person.anonymised_at),
        "personnummer_stored": False,
    }


def _roles(person: Employee) -> list[dict[str, Any]]:
    return [
        {
            "role": grant.role.value,
            "role_label": grant.role.label,
            "municipality": grant.municipality.name if grant.municipality else None,
            "unit": grant.unit.name if grant.unit else None,
            "whole_region": grant.is_regional,
            "granted_at": _moment(grant.granted_at),
        }
        for grant in sorted(person.role_grants, key=lambda g: (g.granted_at, g.id))
    ]


def _rule(rule: RequirementRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "id": rule.id,
        "municipality": rule.municipality.name if rule.municipality else None,
        "sector": rule.sector.value if rule.sector else None,
        "unit": rule.unit.name if rule.unit else None,
        "due_days": rule.due_days,
        "applies_from": _day(rule.applies_from),
        "ends_on": _day(rule.ends_on),
    }


def _assignments(session: Session, person: Employee) -> list[dict[str, Any]]:
    exempted_by = aliased(Employee)
    rows = session.execute(
        sa.select(Assignment, exempted_by.first_name, exempted_by.last_name)
        .join(Assignment.course)
        .outerjoin(exempted_by, exempted_by.id == Assignment.exempted_by_id)
        .where(Assignment.employee_id == person.id)
        .options(
            joinedload(Assignment.course).joinedload(Course.provider),
            joinedload(Assignment.rule).joinedload(RequirementRule.municipality),
            joinedload(Assignment.rule).joinedload(RequirementRule.unit),
        )
        .order_by(Assignment.assigned_at, Assignment.id)
    ).all()
    return [
        {
            "id": assignment.id,
            "course": _course(assignment.course),
            "source": assignment.source.value,
            "rule": _rule(assignment.rule),
            "assigned_at": _moment(assignment.assigned_at),
            "due_date": _day(assignment.due_date),
            "removed_at": _moment(assignment.removed_at),
            "exempt": assignment.exempt,
            "exemption_reason": assignment.exemption_reason,
            "exempted_at": _moment(assignment.exempted_at),
            "exempted_by": _name(first, last),
        }
        for assignment, first, last in rows
    ]


def _certificate(completion: Completion, evidence: Evidence, zip_name: str) -> CertificateFile:
    entry: dict[str, Any] = {
        "file": zip_name,
        "file_status": "pending",  # set by write_zip: "included" or "missing"
        "original_filename": evidence.original_filename,
        "content_type": evidence.content_type,
        "size_bytes": evidence.size_bytes,
        "sha256": evidence.sha256,
        "uploaded_at": _moment(evidence.uploaded_at),
        "reading": evidence.reading,
    }
    return CertificateFile(evidence.storage_name, evidence.sha256, zip_name, entry)


def _completions(
    session: Session, person: Employee
) -> tuple[list[dict[str, Any]], list[CertificateFile]]:
    reporter, reviewer = aliased(Employee), aliased(Employee)
    rows = session.execute(
        sa.select(
            Completion,
            reporter.first_name,
            reporter.last_name,
            reviewer.first_name,
            reviewer.last_name,
        )
        .outerjoin(reporter, reporter.id == Completion.reported_by_id)
        .outerjoin(reviewer, reviewer.id == Completion.reviewed_by_id)
        .where(Completion.employee_id == person.id)
        .options(
            joinedload(Completion.course).joinedload(Course.provider),
            selectinload(Completion.evidence),
        )
        .order_by(Completion.completed_on, Completion.id)
    ).all()
    completions: list[dict[str, Any]] = []
    files: list[CertificateFile] = []
    for completion, rep_first, rep_last, rev_first, rev_last in rows:
        certificates = []
        for number, evidence in enumerate(sorted(completion.evidence, key=lambda e: e.id)):
            extension = _EXTENSIONS.get(evidence.content_type, "bin")
            suffix = f"-{number + 1}" if number else ""
            zip_name = (
                f"certificates/{completion.id}-{_slug(completion.course.key)}{suffix}.{extension}"
            )
            certificate = _certificate(completion, evidence, zip_name)
            files.append(certificate)
            certificates.append(certificate.entry)
        completions.append(
            {
                "id": completion.id,
                "course": _course(completion.course),
                "completed_on": _day(completion.completed_on),
                "expires_on": _day(completion.expires_on),
                "status": completion.status.value,
                "status_label": str(COMPLETION_STATUS_LABELS.get(completion.status, "")),
                "note": completion.note,
                "reported_at": _moment(completion.reported_at),
                "reported_by": _name(rep_first, rep_last),
                "reviewed_at": _moment(completion.reviewed_at),
                "reviewed_by": _name(rev_first, rev_last),
                "rejection_reason": completion.rejection_reason,
                "certificates": certificates,
            }
        )
    return completions, files


def _reminders(session: Session, person: Employee) -> list[dict[str, Any]]:
    """The ledger's reminders about the person's own courses, whoever they went to (the
    manager gets the escalations). Those the person got about other people's courses, as a
    manager, are the staff's data and stay out."""
    recipient = aliased(Employee)
    rows = session.execute(
        sa.select(
            Reminder,
            Course.key,
            Course.title,
            recipient.first_name,
            recipient.last_name,
            OutboxMessage.status,
            OutboxMessage.sent_at,
        )
        .join(Assignment, Assignment.id == Reminder.assignment_id)
        .join(Course, Course.id == Assignment.course_id)
        .join(recipient, recipient.id == Reminder.recipient_id)
        .outerjoin(OutboxMessage, OutboxMessage.idempotency_key == Reminder.batch_key)
        .where(Assignment.employee_id == person.id)
        .order_by(Reminder.planned_on, Reminder.id)
    ).all()
    return [
        {
            "course": {"key": key, "title": title},
            "step": reminder.step,
            "step_label": str(_REMINDER_STEPS.get(reminder.step, reminder.step)),
            "sequence": reminder.sequence,
            "about_due_date": _day(reminder.cycle),
            "planned_on": _day(reminder.planned_on),
            "sent_to_you": reminder.recipient_id == person.id,
            "recipient": _name(first, last),
            "mail_status": status.value if status else None,
            "mail_sent_at": _moment(sent_at),
        }
        for reminder, key, title, first, last, status, sent_at in rows
    ]


def _messages(session: Session, person: Employee) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(OutboxMessage)
        .where(
            sa.or_(
                OutboxMessage.recipient_id == person.id,
                OutboxMessage.recipient_email == person.email,
            )
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    ).all()
    messages = []
    for message in rows:
        own = message.kind in _OWN_TEXT_KINDS
        messages.append(
            {
                "id": message.id,
                "kind": message.kind,
                "kind_label": str(MESSAGE_KINDS.get(message.kind, message.kind)),
                "recipient_email": message.recipient_email,
                "subject": message.subject,
                "status": message.status.value,
                "status_label": str(MESSAGE_STATUSES.get(message.status, "")),
                "created_at": _moment(message.created_at),
                "sent_at": _moment(message.sent_at),
                # An invitation or reset link stays valid for days: whoever holds the ZIP
                # (HR too) must not be able to choose the person's password with it.
                "body_text": sign_in_links.redact(message.body_text) if own else None,
                "body_note": None if own else _("Texten är inte med: den nämner andra personer."),
            }
        )
    return messages


def _audit(session: Session, person: Employee) -> list[dict[str, Any]]:
    events = session.scalars(
        sa.select(AuditEvent)
        .where(
            sa.or_(AuditEvent.subject_employee_id == person.id, AuditEvent.actor_id == person.id)
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    entries = []
    for described in audit.describe_events(session, events):
        event = described.event
        label = described.label
        if event.subject_employee_id is None:
            concerns = "no_person"
        elif event.subject_employee_id == person.id:
            concerns = "you"
        else:
            concerns = "another_person"
        entry: dict[str, Any] = {
            "occurred_at": _moment(event.occurred_at),
            "action": event.action,
            "label": label,
            "concerns": concerns,
            "done_by_you": event.actor_id == person.id,
        }
        if concerns != "another_person":
            # What someone else's record looked like is theirs: only the act itself is listed.
            entry["actor"] = described.actor_name
            entry["note"] = described.note
            entry["changes"] = [
                {"field": change.label, "before": change.before, "after": change.after}
                for change in described.changes
            ]
        entries.append(entry)
    return entries


def collect(session: Session, employee: Employee, *, now: datetime | None = None) -> PersonalData:
    """Everything held about ``employee``, in a fixed number of queries."""
    person = session.scalars(
        sa.select(Employee)
        .where(Employee.id == employee.id)
        .options(
            joinedload(Employee.municipality),
            joinedload(Employee.unit),
            joinedload(Employee.manager),
            selectinload(Employee.role_grants).joinedload(RoleGrant.municipality),
            selectinload(Employee.role_grants).joinedload(RoleGrant.unit),
        )
        .execution_options(populate_existing=True)
    ).one()
    completions, certificates = _completions(session, person)
    data = {
        "format": {"name": FORMAT_NAME, "version": FORMAT_VERSION, "documentation": "LASMIG.txt"},
        "generated_at": _moment(now or clock.utcnow()),
        "person": _profile(person),
        "roles": _roles(person),
        "assignments": _assignments(session, person),
        "completions": completions,
        "reminders": _reminders(session, person),
        "programme": programme_records(session, person),
        "messages": _messages(session, person),
        "audit_events": _audit(session, person),
    }
    return PersonalData(person.id, person.full_name, data, certificates)


def _copy_certificate(
    archive: zipfile.ZipFile, folder: Path, certificate: CertificateFile
) -> tuple[str, bool]:
    """Copy one stored file into the archive; ("missing", False) when it is not on disk."""
    try:
        path = path_of(folder, certificate.storage_name)
        source = path.open("rb")
    except (EvidenceError, OSError):
        return "missing", False
    digest = hashlib.sha256()
    with source, archive.open(certificate.zip_name, "w", force_zip64=True) as target:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            target.write(chunk)
    return "included", digest.hexdigest() == certificate.sha256


def write_zip(personal: PersonalData, out: IO[bytes], *, upload_folder: Path) -> None:
    """Write the ZIP to ``out``: the certificates first, so that data.json can say which
    were found on disk."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for certificate in personal.certificates:
            status, intact = _copy_certificate(archive, upload_folder, certificate)
            certificate.entry["file_status"] = status
            if status == "missing":
                certificate.entry["file"] = None
            else:
                certificate.entry["file_unchanged_since_upload"] = intact
        archive.writestr(
            "data.json",
            json.dumps(personal.data, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
        )
        archive.writestr("LASMIG.txt", README)


def zip_filename(personal: PersonalData, today: date) -> str:
    """An ASCII file name with the person's name and the date."""
    return export_filename(f"personuppgifter {personal.full_name}", today, "zip")


def record_export(
    session: Session, personal: PersonalData, *, actor: Employee, subject: Employee
) -> None:
    """The export in the audit trail (in the caller's transaction)."""
    audit_trail.record(
        session,
        EXPORTED_ACTION,
        actor=actor,
        subject=subject,
        certificates=len(personal.certificates),
        missing_certificates=sum(
            1 for c in personal.certificates if c.entry["file_status"] == "missing"
        ),
    )


# Bilingual on purpose, whatever the interface language of whoever downloads it: the file
# travels on (to the person, to a lawyer, to IMY) and must explain itself to each reader.
README = """\
LÄS MIG – dina personuppgifter i utbildningsuppföljningen
=========================================================

Den här ZIP-filen innehåller allt som utbildningsuppföljningen (tjänsten där kommunen följer
upp kurserna om våld i nära relationer och hedersrelaterat våld och förtryck) har sparat om
dig när filen skapades. Personuppgiftsansvarig är kommunen där du är anställd.

Filer
-----
data.json
    Alla uppgifter, i JSON (UTF-8). Datum skrivs ÅÅÅÅ-MM-DD och tidpunkter med svensk tid och
    tidszon, till exempel 2026-11-24T09:30:00+01:00. Tomt värde (null) betyder att uppgiften
    saknas.
certificates/<rapportens id>-<kursens nyckel>.<pdf|png|jpg>
    Intygen du eller HR har laddat upp, som filerna laddades upp.
LASMIG.txt
    Den här filen.

Delarna i data.json
-------------------
format          Filformatets namn och version.
generated_at    När filen skapades.
person          Dina uppgifter: namn, e-post, anställningsnummer, kommun, enhet, sektor, chef,
                anställnings- och slutdatum, språk, om kontot är aktivt, om du har valt
                lösenord (aldrig själva lösenordet), när du bjöds in och senast loggade in och
                om du har valt bort veckosammanställningen. Personnummer sparas aldrig.
roles           Roller du har fått (chef, HR, samordnare, administratör) och för vad.
assignments     Kurser som krävs eller har krävts av dig: kurs, regel eller manuell
                tilldelning (source, rule), när kursen tilldelades, sista dag, om den har
                tagits bort och om du är undantagen (med skäl, när och av vem).
completions     Kurser du har rapporterat eller som HR har registrerat: datum, status
                (reported = rapporterad, verified = godkänd, rejected = avvisad,
                withdrawn = återkallad), skäl vid avvisning, vem som rapporterade och
                granskade, och intygen. För varje intyg: filens namn i ZIP-filen,
                file_status ("included" = filen finns med, "missing" = filen saknades när
                ZIP-filen skapades), kontrollsumma (sha256) och vad tjänsten läste i intyget
                (reading: om namn, kurs och datum hittades).
reminders       Påminnelser om dina kurser: steg, vilken sista dag de gällde, när de planerades,
                om de gick till dig eller till din chef, och om mejlet skickades.
programme       Gemensamma programmet: dina anmälningar (signups: evenemang, status, när du
                anmäldes, av dig eller av någon annan, bekräftades och avanmäldes) och
                tillfällen du var med på (attendance: när, och hur närvaron registrerades).
messages        Mejl till dig: typ, ämne, status, när de skapades och skickades, och texten.
                Länkar som kunde användas för att välja lösenord är borttagna. Texten i mejl
                som nämner andra personer (till exempel chefens veckosammanställning) finns
                inte med, bara typ, ämne och när de skickades.
audit_events    Loggen: det som har gjorts med dina uppgifter (concerns = "you") och det du
                själv har gjort i tjänsten. Har du gjort något med en annan persons
                uppgifter står bara att och när (concerns = "another_person"), inte vem.

Fel i uppgifterna? Kontakta HR i din kommun. Mer om hur uppgifterna behandlas finns på sidan
"Så behandlar vi dina personuppgifter" (/privacy) i tjänsten.


READ ME – your personal data in the training tracker
====================================================

This ZIP file holds everything the training tracker (where the municipality follows up the
courses on violence in close relationships and honour-related violence) held about you when
the file was made. The controller is the municipality that employs you.

Files
-----
data.json
    All the data, as JSON (UTF-8). Dates are YYYY-MM-DD; moments are Swedish local time with
    the offset, e.g. 2026-11-24T09:30:00+01:00. null means the item is not set.
certificates/<completion id>-<course key>.<pdf|png|jpg>
    The certificates you or HR uploaded, as uploaded.
LASMIG.txt
    This file.

Sections of data.json
---------------------
format          Name and version of this format.
generated_at    When the file was made.
person          Your details: name, e-mail, employee number, municipality, unit, sector,
                manager, hire and end dates, language, whether the account is active, whether
                you have chosen a password (never the password itself), when you were invited
                and last signed in, and whether you opted out of the weekly digest. No
                personal identity number is ever stored.
roles           Roles granted to you (manager, HR, coordinator, administrator) and their scope.
assignments     Courses required of you now or before: course, rule or manual assignment
                (source, rule), when assigned, due date, whether removed, and any exemption
                (reason, when, by whom).
completions     Courses you reported or HR recorded: dates, status (reported, verified,
                rejected, withdrawn), rejection reason, who reported and reviewed, and the
                certificates: the file's name in this ZIP, file_status ("included", or
                "missing" when the file was not on disk), checksum (sha256) and what the
                tracker read on it (reading).
reminders       Reminders about your courses: step, the due date they concerned, when they
                were planned, whether they went to you or to your manager, and whether the
                mail was sent.
programme       The joint programme: your sign-ups (signups: event, status, when you were
                signed up, by you or by someone else, confirmed and cancelled) and the
                sessions you attended (attendance: when, and how it was recorded).
messages        Mails to you: kind, subject, status, when made and sent, and their text. Links
                that could set a password are removed. The text of mails that name other
                people (such as a manager's weekly digest) is left out: only kind, subject and
                when they were sent.
audit_events    The log: what was done with your data (concerns = "you") and what you did in
                the tracker. For what you did to another person's data only that and when is
                listed (concerns = "another_person"), not whom.

Something wrong? Contact HR in your municipality. How the data is processed is described on
the page "Så behandlar vi dina personuppgifter" (/privacy) in the tracker.
"""
