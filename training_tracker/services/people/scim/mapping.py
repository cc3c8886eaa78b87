"""How a SCIM user and an employee map onto each other.

``userName`` or the work e-mail → e-mail; ``name`` → first and last name; ``externalId`` → the
link (kept when the e-mail changes); the enterprise extension's ``employeeNumber`` → employee
number, ``department`` → unit (by name within the municipality), ``manager.value`` → manager,
the attribute the token names → hire date; ``preferredLanguage`` → language; ``active`` false
→ end date today (the leaver flow).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from scim2_models import Context, Email, InvalidValueException, Meta
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, ScimLink, Unit
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.scope import provisioning_scope
from training_tracker.services.people.employees import EmployeeData
from training_tracker.services.people.scim.attributes import read_date
from training_tracker.services.people.scim.resources import (
    ENTERPRISE_URN,
    POLICY,
    EnterpriseUser,
    ManagerReference,
    PersonName,
    User,
    WorkEmail,
)
from training_tracker.services.people.scim.tokens import DirectoryToken

# The enterprise extension's hire-date attributes, by their field on the model.
_HIRE_DATE_FIELDS = {
    "employeeHireDate": "employee_hire_date",
    "hireDate": "hire_date",
    "startDate": "start_date",
}


@dataclass
class Mapped:
    """A SCIM user read for the tracker: the employee's fields and the link's."""

    data: EmployeeData
    user_name: str
    external_id: str | None
    document: dict[str, Any]
    # The department's unit, held for the request: the session keeps what it loaded only
    # weakly, and the checks and the answer read it again.
    unit: Unit | None = None


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def has_left(employee: Employee, today: date) -> bool:
    return not employee.active or (employee.end_date is not None and employee.end_date <= today)


def _work_email(user: User) -> str | None:
    emails = [e for e in user.emails or [] if e.value]
    for chosen in (
        next((e for e in emails if str(e.type or "") == "work" and e.primary), None),
        next((e for e in emails if str(e.type or "") == "work"), None),
        next((e for e in emails if e.primary), None),
    ):
        if chosen is not None:
            return str(chosen.value)
    if user.user_name and "@" in user.user_name:
        return user.user_name
    return str(emails[0].value) if emails else None


def _language(value: str | None, current: str) -> str:
    tag = (value or "").strip().lower().replace("_", "-")
    if tag.split("-")[0] in ("sv", "en"):
        return tag.split("-")[0]
    return current


def _names(user: User, email: str) -> tuple[str, str]:
    name = user.name or PersonName()
    first, last = (name.given_name or "").strip(), (name.family_name or "").strip()
    if not (first and last) and user.display_name:
        words = user.display_name.split()
        if len(words) > 1:
            first, last = first or " ".join(words[:-1]), last or words[-1]
    if not (first and last):
        local = email.split("@")[0].replace("_", ".").split(".")
        if len(local) > 1 and all(local):
            first, last = first or local[0].title(), last or " ".join(local[1:]).title()
    if not (first and last):
        raise InvalidValueException(
            detail="name.givenName and name.familyName are required (or a displayName of "
            "two words)."
        )
    return first, last


@functools.cache
def _unit_named() -> sa.Select[tuple[Unit]]:
    """The active unit of ``:municipality_id`` named ``:name`` (lower-cased): built once, as
    every create and replace asks it."""
    return sa.select(Unit).where(
        Unit.municipality_id == sa.bindparam("municipality_id", type_=sa.Integer()),
        sa.func.lower(Unit.name) == sa.bindparam("name", type_=sa.String()),
        Unit.active,
    )


def _unit(session: Session, municipality_id: int, department: str | None) -> Unit | None:
    if not department or not department.strip():
        return None
    name = " ".join(department.split()).lower()
    return session.scalar(_unit_named(), {"municipality_id": municipality_id, "name": name})


def _manager_id(
    session: Session, municipality_id: int, manager: ManagerReference | None, own_id: int | None
) -> int | None:
    value = (manager.value or "").strip() if manager else ""
    if not value.isdigit() or int(value) == own_id:
        return None
    # A manager the directory has not created yet (or cannot see) is left out, not refused:
    # Entra ID may send the report before the manager.
    return session.scalar(
        sa.select(Employee.id).where(Employee.id == int(value), provisioning_scope(municipality_id))
    )


def _hire_date(token: DirectoryToken, extension: EnterpriseUser | None) -> date | None:
    field = _HIRE_DATE_FIELDS.get(token.hire_date_attribute or "")
    return read_date(getattr(extension, field)) if extension is not None and field else None


def to_employee(
    session: Session, token: DirectoryToken, user: User, current: Employee | None
) -> Mapped:
    """The employee a SCIM user describes. What the directory leaves out keeps its value
    where HR may have set it (the unit when the department is unknown, the hire date)."""
    today = clock.today()
    if not user.user_name or not user.user_name.strip():
        raise InvalidValueException(detail="userName is required.")
    email = _work_email(user)
    if not email or "@" not in email:
        raise InvalidValueException(
            detail='A work e-mail address is required: emails[type eq "work"] or a userName '
            "that is an e-mail address."
        )
    first, last = _names(user, email)
    extension = user[EnterpriseUser]
    unit = _unit(session, token.municipality_id, extension.department if extension else None)
    unit_id = unit.id if unit is not None else None
    if unit_id is None and current is not None:
        unit_id = current.unit_id  # an unknown department leaves the unit HR chose
    hire_date = _hire_date(token, extension) or (current.hire_date if current else None)
    end_date = current.end_date if current is not None else None
    if user.active is False:
        if end_date is None or end_date > today:
            end_date = today
        if hire_date is not None and hire_date > end_date:
            hire_date = end_date
    elif user.active is True and current is not None and has_left(current, today):
        end_date = None  # active again: a returner, the same record
    data = EmployeeData(
        first_name=first,
        last_name=last,
        email=email,
        municipality_id=token.municipality_id,
        unit_id=unit_id,
        hire_date=hire_date,
        employee_number=extension.employee_number if extension else None,
        manager_id=_manager_id(
            session,
            token.municipality_id,
            extension.manager if extension else None,
            current.id if current else None,
        ),
        end_date=end_date,
        preferred_language=_language(
            user.preferred_language, current.preferred_language if current else "sv"
        ),
    )
    document = user.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    for transient in ("id", "meta"):
        document.pop(transient, None)
    return Mapped(
        data=data,
        user_name=user.user_name.strip(),
        external_id=(user.external_id or "").strip() or None,
        document=document,
        unit=unit,
    )


def to_user(
    employee: Employee, link: ScimLink | None, token: DirectoryToken, location: str
) -> User:
    """The employee as the directory reads them: what it wrote, with what the tracker keeps
    (names, e-mail, unit, manager, hire date, whether they work here) as it is now."""
    with POLICY:
        user = User.model_validate(link.document if link else {}, scim_ctx=Context.DEFAULT)
    user.id = str(employee.id)
    user.user_name = link.user_name if link else employee.email
    user.external_id = link.external_id if link else None
    name = user.name or PersonName()
    if name.given_name != employee.first_name or name.family_name != employee.last_name:
        name.formatted = employee.full_name
    name.given_name, name.family_name = employee.first_name, employee.last_name
    user.name = name
    emails = list(user.emails or [])
    if _work_email(user) is None or normalise_email(_work_email(user) or "") != employee.email:
        emails = [e for e in emails if str(e.type or "") != "work"]
        for email in emails:
            email.primary = False
        emails.insert(0, WorkEmail(value=employee.email, type=Email.Type.work, primary=True))
    user.emails = emails
    # Whether they work here, as the tracker knows it (a leaver is inactive whatever the
    # directory last said); left out only while the directory itself has not set it.
    left = has_left(employee, clock.today())
    user.active = False if left else (True if link is None or user.active is not None else None)
    sent_language = _language(user.preferred_language, "")
    if sent_language and sent_language != employee.preferred_language:
        user.preferred_language = employee.preferred_language  # HR changed it
    extension = user[EnterpriseUser] or EnterpriseUser()
    extension.employee_number = employee.employee_number
    if employee.unit is not None:
        extension.department = employee.unit.name
    if employee.manager_id is not None:
        extension.manager = ManagerReference(value=str(employee.manager_id))
    elif extension.manager is not None and (extension.manager.value or "").isdigit():
        extension.manager = None  # a manager the tracker had, removed by HR or gone
    field = _HIRE_DATE_FIELDS.get(token.hire_date_attribute or "")
    if field is not None:
        # What the directory sent stays as written while it still says the hire date the
        # tracker holds (or is no date at all); a hire date HR set shows as a dateTime.
        sent = read_date(getattr(extension, field))
        if employee.hire_date is not None and sent != employee.hire_date:
            moment = datetime.combine(employee.hire_date, time(), tzinfo=UTC)
            setattr(extension, field, moment.isoformat().replace("+00:00", "Z"))
    user[EnterpriseUser] = extension
    modified = max(employee.updated_at, link.updated_at) if link else employee.updated_at
    user.meta = Meta(
        resource_type="User",
        created=_aware(employee.created_at),
        last_modified=_aware(modified),
        location=location,
    )
    return user


CORE_URN = "urn:ietf:params:scim:schemas:core:2.0:User"


def _moment(moment: datetime) -> str:
    """A stored (naive UTC) moment as the SCIM models write it: ISO 8601 with a ``Z``."""
    return moment.isoformat() + "Z"


def _work_address(emails: list[dict[str, Any]], user_name: str) -> str | None:
    """:func:`_work_email` of a user as JSON."""
    emails = [e for e in emails if e.get("value")]
    for chosen in (
        next((e for e in emails if e.get("type") == "work" and e.get("primary")), None),
        next((e for e in emails if e.get("type") == "work"), None),
        next((e for e in emails if e.get("primary")), None),
    ):
        if chosen is not None:
            return str(chosen["value"])
    if user_name and "@" in user_name:
        return user_name
    return str(emails[0]["value"]) if emails else None


def user_body(
    employee: Employee, link: ScimLink | None, token: DirectoryToken, location: str
) -> dict[str, Any]:
    """:func:`to_user` as the answer's JSON (what its ``model_dump`` in a response gives),
    built as a plain dict: validating the stored user into the models and serialising it
    again cost more than the rest of a create. ``tests/test_scim_answers.py`` holds the two
    to the same answer."""
    sent: dict[str, Any] = copy.deepcopy(link.document) if link else {}
    body: dict[str, Any] = {"schemas": [CORE_URN], "id": str(employee.id)}
    if link is not None and link.external_id is not None:
        body["externalId"] = link.external_id
    modified = max(employee.updated_at, link.updated_at) if link else employee.updated_at
    body["meta"] = {
        "resourceType": "User",
        "created": _moment(employee.created_at),
        "lastModified": _moment(modified),
        "location": location,
    }
    extension: dict[str, Any] = sent.get(ENTERPRISE_URN) or {}
    extension.pop("employeeNumber", None)
    if employee.employee_number is not None:
        extension["employeeNumber"] = employee.employee_number
    if employee.unit is not None:
        extension["department"] = employee.unit.name
    if employee.manager_id is not None:
        extension["manager"] = {"value": str(employee.manager_id)}
    elif str((extension.get("manager") or {}).get("value") or "").isdigit():
        del extension["manager"]  # a manager the tracker had, removed by HR or gone
    attribute = token.hire_date_attribute or ""
    if (
        attribute in _HIRE_DATE_FIELDS
        and employee.hire_date is not None
        and read_date(extension.get(attribute)) != employee.hire_date
    ):
        extension[attribute] = _moment(datetime.combine(employee.hire_date, time()))
    if extension:
        body["schemas"].append(ENTERPRISE_URN)
        body[ENTERPRISE_URN] = extension
    user_name = link.user_name if link else employee.email
    body["userName"] = user_name
    name = sent.get("name") or {}
    if name.get("givenName") != employee.first_name or name.get("familyName") != (
        employee.last_name
    ):
        name["formatted"] = employee.full_name
    name["familyName"], name["givenName"] = employee.last_name, employee.first_name
    body["name"] = name
    if "displayName" in sent:
        body["displayName"] = sent["displayName"]
    language = sent.get("preferredLanguage")
    sent_language = _language(language, "")
    if sent_language and sent_language != employee.preferred_language:
        language = employee.preferred_language  # HR changed it
    if language is not None:
        body["preferredLanguage"] = language
    if has_left(employee, clock.today()):
        body["active"] = False
    elif link is None or sent.get("active") is not None:
        body["active"] = True
    emails: list[dict[str, Any]] = sent.get("emails") or []
    work = _work_address(emails, user_name)
    if work is None or normalise_email(work) != employee.email:
        emails = [e for e in emails if e.get("type") != "work"]
        for email in emails:
            email["primary"] = False
        emails.insert(0, {"value": employee.email, "type": "work", "primary": True})
    if emails:  # the models leave out an empty list
        body["emails"] = emails
    return body
