"""The audit trail: who did what to whose records, and how an event reads in words.

:func:`record` writes an event; :func:`describe_events` turns stored events into what a person
reads (the action in words, who did it, whom it concerned and what changed), the same on HR's
person page and in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from flask_babel import format_time, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from training_tracker.models import (
    AssignmentSource,
    Course,
    Employee,
    Municipality,
    RequirementRule,
    Role,
    Sector,
    Unit,
)
from training_tracker.services.core.audit_trail import FIELD_LABELS
from training_tracker.services.core.dates import shown_date
from training_tracker.services.messaging.kinds import MESSAGE_KINDS
from training_tracker.services.training.reminders.policy import REMINDER_NAMES

# --- in words -------------------------------------------------------------------------------


ACTION_LABELS = {
    "employee.created": _l("Lades till"),
    "employee.updated": _l("Uppgifterna ändrades"),
    "employee.deactivated": _l("Slutade – kontot avaktiverades"),
    "employee.reactivated": _l("Återanställd – kontot aktiverades igen"),
    "employee.weekly_digest_changed": _l("Ändrade valet av veckosammanställning"),
    "assignment.assigned": _l("Kurs tilldelad"),
    "assignment.exempted": _l("Undantagen från kurs"),
    "assignment.exemption_lifted": _l("Undantag borttaget"),
    "auth.invitation_queued": _l("Inbjudan lades i utkorgen"),
    "auth.invitations_sent_in_bulk": _l("Skickade väntande inbjudningar för en lista"),
    "auth.login": _l("Loggade in"),
    "auth.login_failed": _l("Misslyckade inloggningsförsök"),
    "auth.password_set": _l("Valde lösenord"),
    "auth.sessions_ended": _l("Alla inloggningar avslutades"),
    "auth.password_reset_requested": _l("Bad om nytt lösenord"),
    "auth.sso_linked": _l("Kopplades till kommunens inloggning vid första inloggningen"),
    "sso.provider_added": _l("En inloggningstjänst lades till"),
    "sso.provider_removed": _l("En inloggningstjänst togs bort"),
    "sso.secret_changed": _l("En inloggningstjänsts klienthemlighet byttes"),
    "sso.requirement_changed": _l("Kravet på inloggning via kommunen ändrades"),
    "account.email_changed": _l("E-postadressen ändrades; den gamla adressen fick besked"),
    "roles.granted": _l("Fick en roll"),
    "roles.revoked": _l("En roll togs bort"),
    "completion.reported": _l("Rapporterade en genomförd kurs"),
    "completion.certificate_replaced": _l("Bytte intyg på en rapport"),
    "completion.withdrawn": _l("Återkallade en rapport"),
    "completion.verified": _l("Rapporten godkändes"),
    "completion.rejected": _l("Rapporten avvisades"),
    "completion.recorded": _l("Genomförd kurs registrerad av HR"),
    "unit.created": _l("Enhet skapades"),
    "unit.updated": _l("Enhet ändrades"),
    "rule.created": _l("Utbildningskrav skapades"),
    "rule.updated": _l("Utbildningskrav ändrades"),
    "rule.ended": _l("Utbildningskrav avslutades"),
    "municipality.settings_changed": _l("Kommunens inställningar ändrades"),
    "municipality.reminders_changed": _l("Kommunens påminnelser ändrades"),
    "import.uploaded": _l("Fil från HR-systemet laddades upp"),
    "import.applied": _l("Import från HR-systemet genomfördes"),
    "import.discarded": _l("Import från HR-systemet avbröts"),
    "outbox.requeued": _l("Mejl lades i kö igen"),
    "outbox.requeued_all": _l("Mejl som inte kunde skickas lades i kö igen"),
    "outbox.link_resent": _l("En ny länk (inbjudan eller nytt lösenord) lades i kö"),
    "audit.exported": _l("Loggen exporterades"),
    "personal_data.exported": _l("Personuppgifterna laddades ned"),
    "accessibility.reported": _l("Brist i tillgängligheten rapporterades"),
    "reminder.manual_sent": _l("Påmindes om en försenad kurs, på chefens eller HR:s begäran"),
    "retention.applied": _l("Personuppgifter om slutade togs bort (gallring)"),
    "scim.token_created": _l("Token för katalogkoppling (SCIM) skapades"),
    "scim.token_rotated": _l("Token för katalogkoppling (SCIM) förnyades"),
    "scim.token_revoked": _l("Token för katalogkoppling (SCIM) återkallades"),
}

LANGUAGE_LABELS = {"sv": _l("Svenska"), "en": _l("Engelska")}
SOURCE_LABELS = {
    AssignmentSource.RULE.value: _l("Regel"),
    AssignmentSource.MANUAL.value: _l("Manuell"),
}


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    if action.startswith("import"):
        return _("Import från HR-systemet")
    return action


def field_label(name: str) -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    return str(REMINDER_NAMES.get(name, name))


class EventLike(Protocol):
    """What describing needs of an event: an :class:`AuditEvent` or a row of its columns."""

    occurred_at: datetime
    action: str
    actor_id: int | None
    subject_employee_id: int | None
    object_type: str | None
    object_id: int | None
    details: dict[str, Any]


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    """One event in words."""

    event: EventLike
    label: str
    actor_name: str
    note: str = ""
    changes: list[Change] = field(default_factory=list)
    actor_email: str = ""
    subject_name: str = ""  # empty when the event concerns no person
    subject_email: str = ""
    subject_municipality: str = ""

    @property
    def summary(self) -> str:
        """The note and the changes on one line, as the exports write them."""
        parts = [self.note] if self.note else []
        parts += [f"{change.label}: {change.before} → {change.after}" for change in self.changes]
        return "; ".join(parts)


@dataclass(frozen=True)
class _Person:
    name: str
    email: str
    municipality_id: int | None


def change_pairs(details: dict[str, Any]) -> list[tuple[str, tuple[Any, Any]]]:
    """(field, (before, after)) from either audit shape: ``changes: {field: [before, after]}``
    or ``before: {...}, after: {...}`` (``after`` alone, for something created, is left out:
    a person's page shows what holds now)."""
    pairs: list[tuple[str, tuple[Any, Any]]] = []
    changes = details.get("changes")
    if isinstance(changes, dict):
        for name, pair in changes.items():
            if isinstance(pair, list | tuple) and len(pair) == 2:
                pairs.append((name, (pair[0], pair[1])))
    before, after = details.get("before"), details.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        for name in dict.fromkeys([*before, *after]):
            if before.get(name) != after.get(name):
                pairs.append((name, (before.get(name), after.get(name))))
    return pairs


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _snapshot_of(details: dict[str, Any]) -> dict[str, Any]:
    """What a unit or rule looked like: ``after`` when there is one, else ``before``."""
    for key in ("after", "before"):
        if isinstance(details.get(key), dict):
            return details[key]
    return {}


class EventNames:
    """Names for the ids a batch of events holds (people, units, municipalities, courses,
    rules), fetched in one query per kind however many events there are."""

    def __init__(self, session: Session, events: Sequence[EventLike]) -> None:
        people: set[int] = set()
        units: set[int] = set()
        municipalities: set[int] = set()
        course_ids: set[int] = set()
        course_keys: set[str] = set()
        rules: set[int] = set()
        for event in events:
            details = event.details or {}
            people.update(i for i in (event.actor_id, event.subject_employee_id) if i is not None)
            if event.object_type == "unit" and event.object_id is not None:
                units.add(event.object_id)
            elif event.object_type == "municipality" and event.object_id is not None:
                municipalities.add(event.object_id)
            elif event.object_type == "rule" and event.object_id is not None:
                rules.add(event.object_id)
            snapshot = _snapshot_of(details)
            for source in (details, snapshot):
                if (unit_id := _int(source.get("unit_id"))) is not None:
                    units.add(unit_id)
                if (municipality_id := _int(source.get("municipality_id"))) is not None:
                    municipalities.add(municipality_id)
                if (course_id := _int(source.get("course_id"))) is not None:
                    course_ids.add(course_id)
            for name, pair in change_pairs(details):
                target = {
                    "unit_id": units,
                    "municipality_id": municipalities,
                    "manager_id": people,
                    "course_id": course_ids,
                }.get(name)
                if target is not None:
                    target.update(v for v in pair if _int(v) is not None)
            if isinstance(details.get("course"), str):
                course_keys.add(details["course"])

        self.rules: dict[int, tuple[int, int | None]] = {
            rule_id: (course_id, municipality_id)
            for rule_id, course_id, municipality_id in session.execute(
                sa.select(
                    RequirementRule.id, RequirementRule.course_id, RequirementRule.municipality_id
                ).where(RequirementRule.id.in_(rules))
            )
        }
        for course_id, municipality_id in self.rules.values():
            course_ids.add(course_id)
            if municipality_id is not None:
                municipalities.add(municipality_id)
        self.people = {
            person_id: _Person(f"{first} {last}", email, municipality_id)
            for person_id, first, last, email, municipality_id in session.execute(
                sa.select(
                    Employee.id,
                    Employee.first_name,
                    Employee.last_name,
                    Employee.email,
                    Employee.municipality_id,
                ).where(Employee.id.in_(people))
            )
        }
        municipalities.update(
            p.municipality_id for p in self.people.values() if p.municipality_id is not None
        )
        self.units: dict[int, str] = dict(
            session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(units))).tuples().all()
        )
        self.municipalities: dict[int, str] = dict(
            session.execute(
                sa.select(Municipality.id, Municipality.name).where(
                    Municipality.id.in_(municipalities)
                )
            )
            .tuples()
            .all()
        )
        courses = session.execute(
            sa.select(Course.id, Course.key, Course.title).where(
                sa.or_(Course.id.in_(course_ids), Course.key.in_(course_keys))
            )
        ).all()
        self.course_by_id = {course_id: title for course_id, _key, title in courses}
        self.course_by_key = {key: title for _id, key, title in courses}

    def value(self, name: str, value: Any) -> str:
        if value is None or value == "":
            return "–"
        if isinstance(value, bool):
            return _("Ja") if value else _("Nej")
        if name == "manager_id":
            person = self.people.get(value)
            return person.name if person else str(value)
        if name == "sector":
            try:
                return Sector(value).label
            except ValueError:
                return str(value)
        lookup: dict[Any, Any] = {
            "unit_id": self.units,
            "municipality_id": self.municipalities,
            "course_id": self.course_by_id,
            "preferred_language": LANGUAGE_LABELS,
            "source": SOURCE_LABELS,
        }.get(name, {})
        return str(lookup.get(value, value))

    def course(self, details: dict[str, Any]) -> str:
        if (course_id := _int(details.get("course_id"))) is not None:
            return self.course_by_id.get(course_id, "")
        if isinstance(details.get("course"), str):
            return self.course_by_key.get(details["course"], details["course"])
        return ""


def _role_note(details: dict[str, Any], names: EventNames) -> str:
    try:
        role = Role(details.get("role", ""))
    except ValueError:
        return ""
    if (unit_id := _int(details.get("unit_id"))) is not None:
        place = names.units.get(unit_id, "")
    elif (municipality_id := _int(details.get("municipality_id"))) is not None:
        place = names.municipalities.get(municipality_id, "")
    elif role in (Role.COORDINATOR, Role.ORGANISER):
        place = _("hela regionen")
    else:
        place = ""
    return f"{role.label}, {place}" if place else role.label


def _object_note(event: EventLike, details: dict[str, Any], names: EventNames) -> str:
    """What a unit, rule, municipality, import or outbox event concerns."""
    kind = event.object_type
    snapshot = _snapshot_of(details)
    if event.action == "audit.exported" and _int(details.get("rows")) is not None:
        return ngettext(
            "%(format)s, %(num)d händelse",
            "%(format)s, %(num)d händelser",
            details["rows"],
            format=str(details.get("format", "")).upper(),
        )
    if kind == "scim_token":
        municipality = names.municipalities.get(_int(details.get("municipality_id")) or 0, "")
        return ", ".join(str(p) for p in (details.get("label"), municipality) if p)
    if kind == "unit":
        name = snapshot.get("name") or names.units.get(event.object_id or 0, "")
        municipality = names.municipalities.get(_int(snapshot.get("municipality_id")) or 0, "")
        return ", ".join(part for part in (str(name), municipality) if part)
    if kind == "rule":
        course_id = _int(snapshot.get("course_id"))
        municipality_id = _int(snapshot.get("municipality_id")) if snapshot else None
        if course_id is None and event.object_id in names.rules:
            course_id, municipality_id = names.rules[event.object_id]
        course = names.course_by_id.get(course_id or 0, "")
        place = (
            names.municipalities.get(municipality_id, "")
            if municipality_id is not None
            else _("alla kommuner")
        )
        return ", ".join(part for part in (course, place) if part)
    if kind == "municipality":
        return names.municipalities.get(event.object_id or 0, "")
    if event.action == "import.uploaded" and details.get("filename"):
        return str(details["filename"])
    if event.action == "import.applied" and isinstance(details.get("summary"), dict):
        summary = details["summary"]
        return _(
            "rader: %(rows)s, nya: %(created)s, ändrade: %(updated)s, avvisade: %(rejected)s",
            rows=summary.get("rows", 0),
            created=summary.get("created", 0),
            updated=summary.get("updated", 0),
            rejected=summary.get("rejected", 0),
        )
    if event.action.startswith("outbox.") and details.get("kind"):
        kind_label = str(MESSAGE_KINDS.get(details["kind"], details["kind"]))
        if _int(details.get("count")) is not None:
            return ngettext(
                "%(kind)s, %(num)d mejl",
                "%(kind)s, %(num)d mejl",
                details["count"],
                kind=kind_label,
            )
        return kind_label
    return ""


def _shown(stored: object) -> str:
    """A date kept in an event's details (ISO) as people read dates; anything else as kept."""
    try:
        return shown_date(date.fromisoformat(str(stored)))
    except ValueError:
        return str(stored)


def _failed_login_note(event: EventLike, details: dict[str, Any]) -> str:
    """``3 försök, det senaste 14:05``: one event counts an hour's failed sign-ins."""
    attempts = _int(details.get("attempts")) or 1
    text = ngettext("%(num)d försök", "%(num)d försök", attempts)
    try:
        last = datetime.fromisoformat(details["last_at"])
    except (KeyError, TypeError, ValueError):
        last = None
    if attempts > 1 and last is not None:
        text = _("%(attempts)s, det senaste %(time)s", attempts=text, time=format_time(last))
    if event.subject_employee_id is None:
        return _("Adress utan konto (adressen sparas inte): %(attempts)s", attempts=text)
    return text


def _note(event: EventLike, details: dict[str, Any], names: EventNames) -> str:
    action = event.action
    if action == "auth.login_failed":
        return _failed_login_note(event, details)
    if action == "assignment.assigned" and details.get("due_date"):
        return _(
            "%(course)s, sista dag %(date)s",
            course=names.course(details),
            date=_shown(details["due_date"]),
        )
    if action == "employee.deactivated" and details.get("end_date"):
        return _("Slutdatum %(date)s", date=_shown(details["end_date"]))
    if action == "completion.rejected" and details.get("reason"):
        return _("%(course)s: %(reason)s", course=names.course(details), reason=details["reason"])
    if action in ("roles.granted", "roles.revoked"):
        return _role_note(details, names)
    if action == "employee.weekly_digest_changed" and isinstance(
        details.get("weekly_digest"), bool
    ):
        return (
            _("Vill ha veckosammanställningen")
            if details["weekly_digest"]
            else _("Vill inte ha veckosammanställningen")
        )
    return names.course(details) or _object_note(event, details, names)


def describe_events(session: Session, events: Sequence[EventLike]) -> list[HistoryEntry]:
    """The events in words, in the order given; a fixed number of queries for any number."""
    names = EventNames(session, events)
    entries = []
    for event in events:
        details = event.details or {}
        if event.actor_id is None:
            # A directory over SCIM names itself ("SCIM (Entra ID)"); anything else is the system.
            via = details.get("via")
            actor_name, actor_email = (via if isinstance(via, str) else _("Systemet")), ""
        else:
            actor = names.people.get(event.actor_id)
            actor_name = actor.name if actor else _("Borttagen användare")
            actor_email = actor.email if actor else ""
        subject = (
            names.people.get(event.subject_employee_id)
            if event.subject_employee_id is not None
            else None
        )
        changes = [
            Change(
                label=field_label(name),
                before=names.value(name, before),
                after=names.value(name, after),
            )
            for name, (before, after) in change_pairs(details)
        ]
        entries.append(
            HistoryEntry(
                event=event,
                label=action_label(event.action),
                actor_name=actor_name,
                note=_note(event, details, names),
                changes=changes,
                actor_email=actor_email,
                subject_name=subject.name if subject else "",
                subject_email=subject.email if subject else "",
                subject_municipality=(
                    names.municipalities.get(subject.municipality_id, "")
                    if subject and subject.municipality_id is not None
                    else ""
                ),
            )
        )
    return entries
