"""The SCIM resources the endpoint serves, as scim2-models classes: the core User and the
enterprise extension, each with exactly the attributes the tracker keeps, so that the
``/Schemas`` the directory reads promise nothing more."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import EmailStr, field_validator
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    Email,
    ETag,
    Extension,
    Filter,
    Mutability,
    Patch,
    Required,
    Resource,
    ResourceType,
    Schema,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

from training_tracker.services.people.scim.attributes import ENTERPRISE_URN


class ManagerReference(ComplexAttribute):
    """The manager, by the SCIM id of another user of the same directory."""

    value: Annotated[str | None, CaseExact.true] = None
    display_name: Annotated[str | None, Mutability.read_only] = None


class EnterpriseUser(Extension):
    """Enterprise User: employee number, department (the unit), manager and hire date."""

    __schema__ = URN(ENTERPRISE_URN)

    employee_number: str | None = None
    department: str | None = None
    manager: ManagerReference | None = None
    # Dates as the directory writes them ("2026-08-17T00:00:00Z", or a bare date); read as
    # text, so a value the tracker cannot read as a date is kept as sent, not refused.
    employee_hire_date: str | None = None
    hire_date: str | None = None
    start_date: str | None = None

    @field_validator("manager", mode="before")
    @classmethod
    def _manager_as_id(cls, value: Any) -> Any:
        # Entra ID sends the manager as the bare id in a PATCH value.
        return {"value": value} if isinstance(value, str) else value


class PersonName(ComplexAttribute):
    """The person's name: the tracker needs the given and the family name."""

    formatted: str | None = None
    family_name: Annotated[str | None, Required.true] = None
    given_name: Annotated[str | None, Required.true] = None


class WorkEmail(ComplexAttribute):
    """An e-mail address; the work address is the one the tracker writes to."""

    value: Annotated[EmailStr | None, Required.true] = None
    display: str | None = None
    type: Email.Type | None = None
    primary: bool | None = None


class User(Resource[EnterpriseUser]):
    """User Account: names, work e-mail, language and whether they still work here."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Annotated[PersonName | None, Required.true] = None
    display_name: str | None = None
    preferred_language: str | None = None
    active: bool | None = None
    emails: Annotated[list[WorkEmail] | None, Required.true] = None


# What directories really send: Entra ID's remove operations carry a value, and its replace
# of emails[type eq "work"].value must create the entry when there is none. Attributes the
# tracker does not keep are dropped rather than refused.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def resource_types() -> list[ResourceType]:
    return [ResourceType.from_resource(User)]


def service_provider_config(max_results: int) -> ServiceProviderConfig:
    """What the endpoint supports: PATCH and filters; no bulk, sorting, ETags or passwords."""
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A token per municipality, created by an administrator.",
                primary=True,
            )
        ],
    )


def schemas() -> list[Schema]:
    return [User.to_schema(), EnterpriseUser.to_schema()]
