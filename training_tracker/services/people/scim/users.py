"""The SCIM ``/Users`` operations for one directory token: read, list with a filter and a page,
create, replace, patch and delete (which ends the employment, never the record).

People are created and changed through :mod:`training_tracker.services.people.employees`, so
the rules HR's changes follow apply: assignments from the rules, the welcome mail, the audit
trail (the actor is "SCIM (label)"), the leaver flow. A token reaches only the staff of its
municipality who hold no role of HR or wider (:func:`provisioning_scope`), and the same person
found by e-mail, employee number or external id is claimed, never duplicated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidValueException,
    NotFoundException,
    PatchOp,
    SCIMException,
    UniquenessException,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import Employee, ScimLink
from training_tracker.services.core import audit_trail
from training_tracker.services.core.scope import provisioning_scope
from training_tracker.services.people.employees import (
    EmployeeData,
    EmployeeError,
    create_employee,
    update_employee,
)
from training_tracker.services.people.scim.mapping import (
    Mapped,
    has_left,
    to_employee,
    to_user,
    user_body,
)
from training_tracker.services.people.scim.queries import (
    MunicipalityId,
    filter_clause,
    user_name_equals,
    user_name_is,
)
from training_tracker.services.people.scim.resources import POLICY, User
from training_tracker.services.people.scim.tokens import DirectoryToken

MAX_PAGE_SIZE = 200
UserPatch = PatchOp[User]  # parameterised once: pydantic builds a class each time
LocationOf = Callable[[str], str]
# A user as the directory reads them: the JSON of a User in an answer (see user_body).
UserBody = dict[str, Any]


@dataclass
class Page:
    total: int
    start_index: int
    users: list[UserBody]


def sends_welcome_mail(token: DirectoryToken) -> bool:
    """Whether a person the directory creates gets the welcome mail with the set-password
    link (a leaver never does).

    The one place that decides it for SCIM: a municipality that requires single sign-on sends
    none, since its staff sign in through their identity provider and have no password to set.
    """
    return not token.sso_required


def _visible(municipality_id: MunicipalityId) -> ColumnElement[bool]:
    # NOT EXISTS on the person's own link, not NOT IN: PostgreSQL computed the NOT IN's whole
    # list (a scan of the links) for every query; the same answer, as a link's id is never null.
    released = sa.exists().where(
        ScimLink.employee_id == Employee.id,
        ScimLink.municipality_id == municipality_id,
        ScimLink.released_at.is_not(None),
    )
    return sa.and_(
        provisioning_scope(municipality_id),
        Employee.anonymised_at.is_(None),
        ~released,
    )


@functools.cache
def _found_by_user_name() -> sa.Select[tuple[Employee]]:
    """The users ``userName eq :key`` finds for ``:municipality_id``: built once (building
    and hashing the scope's statement cost more than running it), since a directory sends
    this filter before each create. Two at most: userName and e-mail are each unique."""
    municipality_id = sa.bindparam("municipality_id", type_=sa.Integer())
    key = sa.bindparam("key", type_=sa.String())
    # The two people the key may name, by their indexes: without this (redundant) condition
    # PostgreSQL read all the municipality's staff to test each (5 ms at 18,000 employees).
    candidates = sa.union_all(
        sa.select(ScimLink.employee_id).where(
            ScimLink.municipality_id == municipality_id,
            ScimLink.user_name_key == key,
            ScimLink.released_at.is_(None),
        ),
        sa.select(Employee.id).where(Employee.email == key),
    )
    return (
        sa.select(Employee)
        .options(selectinload(Employee.unit))
        .where(
            Employee.id.in_(candidates),
            _visible(municipality_id),
            user_name_is(municipality_id, key),
        )
        .order_by(Employee.id)
    )


def _find(session: Session, token: DirectoryToken, user_id: str) -> Employee:
    employee = None
    if user_id.isdigit() and len(user_id) < 12:
        employee = session.scalars(
            sa.select(Employee).where(Employee.id == int(user_id), _visible(token.municipality_id))
        ).one_or_none()
    if employee is None:
        raise NotFoundException(detail=f"No user {user_id!r}.")
    return employee


def _link(session: Session, token: DirectoryToken, employee: Employee) -> ScimLink | None:
    link = session.get(ScimLink, employee.id)
    return link if link is not None and link.municipality_id == token.municipality_id else None


def _parse(payload: Any, context: Context) -> User:
    try:
        with POLICY:
            return User.model_validate(payload, scim_ctx=context)
    except ValidationError as error:
        raise SCIMException.from_error(Error.from_validation_errors(error)[0]) from error


def get_user(
    session: Session, token: DirectoryToken, user_id: str, location_of: LocationOf
) -> UserBody:
    employee = _find(session, token, user_id)
    return user_body(employee, _link(session, token, employee), token, location_of(user_id))


def list_users(
    session: Session,
    token: DirectoryToken,
    *,
    filter_expression: str | None,
    start_index: int,
    count: int | None,
    location_of: LocationOf,
) -> Page:
    """One page of the directory's users, oldest first; ``start_index`` counts from 1."""
    start_index = max(1, start_index)
    size = MAX_PAGE_SIZE if count is None else max(0, min(count, MAX_PAGE_SIZE))
    key = user_name_equals(filter_expression) if filter_expression else None
    if key is not None and start_index == 1 and size > 2:
        # The "does this user exist" before each create: two at most, so all on this page.
        parameters = {"municipality_id": token.municipality_id, "key": key}
        people = list(session.scalars(_found_by_user_name(), parameters))
        return Page(len(people), 1, _as_users(session, token, people, location_of))
    condition = _visible(token.municipality_id)
    if filter_expression:
        condition = sa.and_(condition, filter_clause(token.municipality_id, filter_expression))
    people = []
    if size:
        people = list(
            session.scalars(
                sa.select(Employee)
                .options(selectinload(Employee.unit))
                .where(condition)
                .order_by(Employee.id)
                .offset(start_index - 1)
                .limit(size)
            )
        )
    if start_index == 1 and len(people) < size:
        total: int | None = len(people)  # the whole result is on this page: nothing to count
    else:
        total = session.scalar(sa.select(sa.func.count()).select_from(Employee).where(condition))
    return Page(total or 0, start_index, _as_users(session, token, people, location_of))


def _as_users(
    session: Session, token: DirectoryToken, people: list[Employee], location_of: LocationOf
) -> list[UserBody]:
    if not people:
        return []
    links = {
        link.employee_id: link
        for link in session.scalars(
            sa.select(ScimLink).where(
                ScimLink.employee_id.in_([p.id for p in people]),
                ScimLink.municipality_id == token.municipality_id,
            )
        )
    }
    return [user_body(p, links.get(p.id), token, location_of(str(p.id))) for p in people]


def _taken(
    session: Session, token: DirectoryToken, mapped: Mapped, employee_id: int | None
) -> None:
    """Refuse a userName or externalId another user of this directory holds."""
    conditions = [ScimLink.user_name_key == mapped.user_name.lower()]
    if mapped.external_id:
        conditions.append(ScimLink.external_id == mapped.external_id)
    clash = sa.select(ScimLink.employee_id).where(
        ScimLink.municipality_id == token.municipality_id,
        ScimLink.released_at.is_(None),
        sa.or_(*conditions),
    )
    if employee_id is not None:
        clash = clash.where(ScimLink.employee_id != employee_id)
    if session.scalar(clash.limit(1)) is not None:
        raise UniquenessException(detail="Another user has this userName or externalId.")


@functools.cache
def _same_or_taken() -> sa.Select[tuple[Employee, ScimLink]]:
    """Everyone a create may meet, with their link if any, in one query built once: who holds
    the e-mail address, or the employee number in the municipality, and whom the directory
    links by this externalId (released or not) or by this userName (live). Each is an indexed
    lookup of its own, joined by their ids (an OR across them would scan the employees)."""
    municipality_id = sa.bindparam("municipality_id", type_=sa.Integer())
    ids = sa.union_all(
        sa.select(Employee.id).where(Employee.email == sa.bindparam("email", type_=sa.String())),
        sa.select(Employee.id).where(
            Employee.municipality_id == municipality_id,
            Employee.employee_number == sa.bindparam("employee_number", type_=sa.String()),
        ),
        sa.select(ScimLink.employee_id).where(
            ScimLink.municipality_id == municipality_id,
            ScimLink.external_id == sa.bindparam("external_id", type_=sa.String()),
        ),
        sa.select(ScimLink.employee_id).where(
            ScimLink.municipality_id == municipality_id,
            ScimLink.user_name_key == sa.bindparam("user_name_key", type_=sa.String()),
            ScimLink.released_at.is_(None),
        ),
    )
    return (
        sa.select(Employee, ScimLink)
        .outerjoin(ScimLink, ScimLink.employee_id == Employee.id)
        .where(Employee.id.in_(ids))
        .order_by(Employee.id)
    )


def _same_person(session: Session, token: DirectoryToken, mapped: Mapped) -> Employee | None:
    """The person a create describes, if the tracker knows them already (HR enrolled them,
    an import did, or the directory deleted them earlier): by e-mail, employee number or
    external id. Someone the token may not reach, or two different people, is a conflict; so
    is a userName or externalId another user of this directory holds (:func:`_taken`,
    answered by the same query)."""
    data = mapped.data
    email = data.email.strip().lower()
    number = (data.employee_number or "").strip() or None
    municipality_id = token.municipality_id
    parameters = {
        "municipality_id": municipality_id,
        "email": email,
        "employee_number": number,
        "external_id": mapped.external_id,
        "user_name_key": mapped.user_name.lower(),
    }
    rows = session.execute(_same_or_taken(), parameters).tuples().all()
    same_link = {
        person.id
        for person, link in rows
        if link is not None
        and link.municipality_id == municipality_id
        and mapped.external_id is not None
        and link.external_id == mapped.external_id
    }
    found = [
        person
        for person, _link in rows
        if person.email == email
        or (
            number is not None
            and (person.municipality_id, person.employee_number) == (municipality_id, number)
        )
        or person.id in same_link
    ]
    existing = _reachable(session, token, found) if found else None
    holders = {
        person.id
        for person, link in rows
        if link is not None
        and link.municipality_id == municipality_id
        and link.released_at is None
        and (
            link.user_name_key == mapped.user_name.lower()
            or (mapped.external_id is not None and link.external_id == mapped.external_id)
        )
    }
    if holders - {existing.id if existing is not None else None}:
        raise UniquenessException(detail="Another user has this userName or externalId.")
    return existing


def _reachable(session: Session, token: DirectoryToken, found: list[Employee]) -> Employee:
    """The one person of ``found`` the token reaches and the directory holds no live link to."""
    reachable = session.scalars(
        sa.select(Employee).where(
            Employee.id.in_([p.id for p in found]), provisioning_scope(token.municipality_id)
        )
    ).all()
    if len(found) > 1 or len(reachable) != 1:
        raise UniquenessException(
            detail="The e-mail address or employee number belongs to someone else."
        )
    link = _link(session, token, reachable[0])
    if link is not None and link.released_at is None:
        raise UniquenessException(detail="This user exists already.")
    return reachable[0]


def _save(
    session: Session,
    token: DirectoryToken,
    mapped: Mapped,
    employee: Employee | None,
    location_of: LocationOf,
    *,
    checked: bool = False,
) -> UserBody:
    """Create or change the employee through HR's services, and keep the link. ``checked``:
    :func:`_same_person` found the userName, externalId, e-mail address and employee number
    free (or held by ``employee`` alone), so they are not looked up again."""
    if not checked:
        _taken(session, token, mapped, employee.id if employee else None)
    created = None
    with audit_trail.acting_as(token.actor_label):
        try:
            if employee is None:
                employee = created = create_employee(
                    session,
                    mapped.data,
                    actor=None,
                    invite=sends_welcome_mail(token),
                    unit_optional=True,
                    # As an import's: an initial sync enrolls thousands in a row.
                    mail_written_when_sent=True,
                    holders_checked=checked,
                )
            else:
                update_employee(session, employee, mapped.data, actor=None, unit_optional=True)
        except EmployeeError as error:
            if error.field in ("email", "employee_number"):
                # HR's message names the other person; the directory learns only the clash.
                raise UniquenessException(
                    detail=f"The {error.field.replace('_', ' ')} belongs to someone else."
                ) from error
            raise InvalidValueException(detail=str(error)) from error
    # Someone just created has no link yet (a person claimed may have one from before).
    link = session.get(ScimLink, employee.id) if created is None else None
    link = link or ScimLink(employee_id=employee.id)
    link.municipality_id = token.municipality_id
    link.token_id = token.id
    link.user_name = mapped.user_name
    link.user_name_key = mapped.user_name.lower()
    link.external_id = mapped.external_id
    link.document = mapped.document
    link.released_at = None
    link.updated_at = clock.utcnow()
    session.add(link)
    session.flush()
    return user_body(employee, link, token, location_of(str(employee.id)))


def create_user(
    session: Session, token: DirectoryToken, payload: Any, location_of: LocationOf
) -> UserBody:
    user = _parse(payload, Context.RESOURCE_CREATION_REQUEST)
    mapped = to_employee(session, token, user, None)
    existing = _same_person(session, token, mapped)
    if existing is not None:
        mapped = to_employee(session, token, user, existing)
    return _save(session, token, mapped, existing, location_of, checked=True)


def replace_user(
    session: Session, token: DirectoryToken, user_id: str, payload: Any, location_of: LocationOf
) -> UserBody:
    employee = _find(session, token, user_id)
    user = _parse(payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    mapped = to_employee(session, token, user, employee)
    return _save(session, token, mapped, employee, location_of)


def _entra_patch(payload: Any) -> Any:
    """Entra ID removes a manager with the manager in ``value``: the path alone says it."""
    if isinstance(payload, dict) and isinstance(payload.get("Operations"), list):
        for operation in payload["Operations"]:
            if (
                isinstance(operation, dict)
                and str(operation.get("op", "")).lower() == "remove"
                and str(operation.get("path", "")).lower().endswith("manager")
            ):
                operation.pop("value", None)
    return payload


def patch_user(
    session: Session, token: DirectoryToken, user_id: str, payload: Any, location_of: LocationOf
) -> UserBody:
    employee = _find(session, token, user_id)
    user = to_user(employee, _link(session, token, employee), token, location_of(user_id))
    try:
        with POLICY:
            patch = UserPatch.model_validate(
                _entra_patch(payload), scim_ctx=Context.RESOURCE_PATCH_REQUEST
            )
            patch.patch(user)
    except ValidationError as error:
        raise SCIMException.from_error(Error.from_validation_errors(error)[0]) from error
    mapped = to_employee(session, token, user, employee)
    return _save(session, token, mapped, employee, location_of)


def delete_user(session: Session, token: DirectoryToken, user_id: str) -> None:
    """The directory deleted the user: they leave today (sessions end, reminders stop,
    coverage stops counting them) and the directory no longer sees them; nothing is lost."""
    employee = _find(session, token, user_id)
    today = clock.today()
    if not has_left(employee, today):
        data = EmployeeData(
            **{
                name: getattr(employee, name)
                for name in (
                    "first_name",
                    "last_name",
                    "email",
                    "municipality_id",
                    "unit_id",
                    "hire_date",
                    "employee_number",
                    "manager_id",
                    "preferred_language",
                )
            },
            end_date=today,
        )
        if data.hire_date is not None and data.hire_date > today:
            data.hire_date = today
        with audit_trail.acting_as(token.actor_label):
            update_employee(session, employee, data, actor=None, unit_optional=True)
    link = session.get(ScimLink, employee.id)
    if link is None:
        link = ScimLink(
            employee_id=employee.id,
            user_name=employee.email,
            user_name_key=employee.email,
            document={},
        )
    link.municipality_id = token.municipality_id
    link.token_id = token.id
    link.released_at = clock.utcnow()
    session.add(link)
    session.flush()
