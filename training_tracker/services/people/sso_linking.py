"""Which enrolled person a provider's verified sign-in is: through the stable link made at the
first sign-in, or, the first time, by verified e-mail or employee number, and only within the
provider's own municipality. Nobody is created by signing in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, IdentityProvider, SsoLink
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.scope import identity_provider_scope
from training_tracker.services.people.sso_providers import normalise_domain

# Where a provider may put the employee number (Entra ID's optional claim is "employeeid").
EMPLOYEE_NUMBER_CLAIMS = ("employee_number", "employeeid", "employeeNumber")


def verified_email(provider: IdentityProvider, claims: Mapping[str, Any]) -> str | None:
    """The address, if it can be trusted: the provider says it verified it, or it is silent
    and the address is in one of its own domains (it is authoritative there). An address the
    provider says it has not verified is never trusted."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None
    email = normalise_email(email)
    stated = claims.get("email_verified")
    if stated is True or stated == "true":
        return email
    if stated is None:
        own = {domain.domain for domain in provider.domains}
        if normalise_domain(email.rpartition("@")[2]) in own:
            return email
    return None


def _employee_number(claims: Mapping[str, Any]) -> str | None:
    for name in EMPLOYEE_NUMBER_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return None


def find_person(
    session: Session,
    provider: IdentityProvider,
    *,
    issuer: str,
    subject: str,
    claims: Mapping[str, Any],
) -> Employee | None:
    """The enrolled, active person this sign-in is, linking them on first sign-in; None when
    there is nobody (the caller says so, and nothing is created)."""
    allowed = identity_provider_scope(provider.municipality_id)
    link = session.scalars(
        sa.select(SsoLink).where(SsoLink.provider_id == provider.id, SsoLink.subject == subject)
    ).one_or_none()
    if link is not None:
        person = session.scalars(
            sa.select(Employee).where(Employee.id == link.employee_id, allowed)
        ).one_or_none()
        if person is not None:
            link.last_used_at = clock.utcnow()
        return person
    candidates: list[sa.ColumnElement[bool]] = []
    email = verified_email(provider, claims)
    if email:
        candidates.append(Employee.email == email)
    number = _employee_number(claims)
    if number:
        candidates.append(Employee.employee_number == number)
    if not candidates:
        return None
    matches = session.scalars(sa.select(Employee).where(allowed, sa.or_(*candidates))).all()
    if len(matches) != 1:
        return None  # nobody, or two people (one by e-mail, another by number): never guess
    person = matches[0]
    already = session.scalar(
        sa.select(SsoLink.id).where(
            SsoLink.provider_id == provider.id, SsoLink.employee_id == person.id
        )
    )
    if already is not None:
        # The person is linked to another subject of this provider: a second account at the
        # provider with the same address must not take the first one's place.
        return None
    session.add(
        SsoLink(
            provider_id=provider.id,
            employee_id=person.id,
            issuer=issuer,
            subject=subject,
            last_used_at=clock.utcnow(),
        )
    )
    audit_trail.record(
        session,
        "auth.sso_linked",
        actor=person,
        subject=person,
        object_type="identity_provider",
        object_id=provider.id,
        matched_by="email" if email and person.email == email else "employee_number",
    )
    return person
