"""The words of an HR export: the fields a row has, what their columns may be called, and the
names of the sectors.

Headers and sector names are compared folded (:func:`fold`): case, accents, spaces and
punctuation do not matter, so "E-post:", "epost" and "E post *" are one header. The format is
described in DESIGN.md ("Employee import format").
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l

from training_tracker.models.enums import Sector

FIELDS = (
    "first_name",
    "last_name",
    "email",
    "municipality",
    "unit",
    "sector",
    "hire_date",
    "employee_number",
    "manager_email",
    "end_date",
)
REQUIRED_FIELDS = ("first_name", "last_name", "email")

FIELD_NAMES = {  # what a field is called when its column is missing or in a file-level message
    "first_name": _l("förnamn"),
    "last_name": _l("efternamn"),
    "email": _l("e-post"),
    "municipality": _l("kommun"),
    "unit": _l("enhet"),
    "sector": _l("sektor"),
    "hire_date": _l("anställningsdatum"),
    "employee_number": _l("anställningsnummer"),
    "manager_email": _l("chefens e-post"),
    "end_date": _l("slutdatum"),
}

# Compared folded (see fold): case, accents, spaces and punctuation do not matter, so
# "E-post:", "epost" and "E post *" are one header.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "first_name": ("förnamn", "tilltalsnamn", "first name", "given name"),
    "last_name": ("efternamn", "last name", "surname", "family name"),
    "email": (
        "e-post",
        "e-postadress",
        "mejl",
        "mejladress",
        "mail",
        "mailadress",
        "email",
        "email address",
        "mail address",
    ),
    "municipality": ("kommun", "kommunnamn", "kommunkod", "municipality", "municipality code"),
    "unit": ("enhet", "enhetsnamn", "arbetsplats", "avdelning", "unit", "department"),
    "sector": ("sektor", "verksamhet", "verksamhetsområde", "sector"),
    "hire_date": (
        "anställningsdatum",
        "startdatum",
        "anställd från",
        "hire date",
        "start date",
        "employment date",
    ),
    "employee_number": (
        "anställningsnummer",
        "anst.nr",
        "anställnings-id",
        "personalnummer",
        "employee number",
        "employee no",
        "employee id",
    ),
    "manager_email": (
        "chefens e-post",
        "chef e-post",
        "chefens mejl",
        "chef",
        "närmaste chef",
        "manager email",
        "manager",
    ),
    "end_date": ("slutdatum", "avslutsdatum", "anställd till", "end date", "termination date"),
}

SECTOR_NAMES: dict[Sector, tuple[str, ...]] = {
    Sector.SOCIAL_SERVICES: ("Socialtjänst", "socialtjänsten", "social services"),
    Sector.SCHOOL: (
        "Skola och förskola",
        "skola/förskola",
        "skola",
        "förskola",
        "school",
        "preschool",
        "school and preschool",
    ),
    Sector.LEISURE: ("Fritid", "kultur och fritid", "leisure", "culture and leisure"),
    Sector.HEALTH_AND_CARE: (
        "Hälso- och sjukvård / omsorg",
        "hälso- och sjukvård",
        "omsorg",
        "vård och omsorg",
        "äldreomsorg",
        "health care",
        "care",
        "health and care",
        "health and social care",
    ),
    Sector.OTHER: ("Övrigt", "annat", "other"),
}


def fold(text: str) -> str:
    """Lower case, without accents, spaces or punctuation: "Anst.nr:" -> "anstnr"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())


def _lookup(names: dict[Any, tuple[str, ...]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for target, spellings in names.items():
        for spelling in spellings:
            if table.setdefault(fold(spelling), target) != target:
                raise ValueError(f"{spelling!r} names two things")
    return table


_HEADER_LOOKUP: dict[str, str] = _lookup(HEADER_NAMES)
_SECTOR_LOOKUP: dict[str, Sector] = _lookup(
    {sector: (*names, sector.value) for sector, names in SECTOR_NAMES.items()}
)


def field_for_header(header: str) -> str | None:
    """The field a column with this header holds; None for a header not known."""
    return _HEADER_LOOKUP.get(fold(header))


@lru_cache(maxsize=256)
def sector_named(text: str) -> Sector | None:
    return _SECTOR_LOOKUP.get(fold(text))
