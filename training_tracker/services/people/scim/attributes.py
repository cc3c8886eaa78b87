"""The names of SCIM attributes that the rest of the app needs, and how a directory's date
reads, without scim2-models: importing that library costs about a second of CPU (pydantic
reads the source of each of its models), which only the SCIM endpoint's requests need, not
every web process, ``flask`` command and HR import that starts."""

from __future__ import annotations

from datetime import date

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# The enterprise extension's attributes a directory may carry the hire date in; the admin
# chooses one per token (Entra ID maps employeeHireDate by default).
HIRE_DATE_ATTRIBUTES = ("employeeHireDate", "hireDate", "startDate")


def read_date(value: str | None) -> date | None:
    """A date the directory wrote, as a date or the start of a dateTime; None if unreadable."""
    text = (value or "").strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None
