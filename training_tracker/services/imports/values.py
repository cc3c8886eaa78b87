"""Checking one cell of a row: what each field accepts, and the words for what it does not.

Each check takes the cell as read (:data:`.table.Cell`) and returns the value the row gets, or
raises :class:`Invalid` with a message for the user; the message is what rejects the row.
Runs inside an app context, since the messages go through Flask-Babel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from training_tracker import clock
from training_tracker.models.enums import Sector
from training_tracker.services.imports.personnummer import (
    looks_like_personnummer,
    mask_personnummer,
)
from training_tracker.services.imports.table import Cell
from training_tracker.services.imports.vocabulary import sector_named

PREVIEW_CHARS = 100  # of an offending value in a RowProblem
MAX_CHARS = {
    "first_name": 100,
    "last_name": 100,
    "municipality": 100,
    "unit": 200,
    "employee_number": 50,
}


class Invalid(Exception):
    """A value that rejects its row; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def cell_text(raw: Cell) -> str:
    return raw.isoformat() if isinstance(raw, date) else raw


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _limited(text: str, field: str) -> str:
    if len(text) > MAX_CHARS[field]:
        raise Invalid(_("är för långt (högst %(max)d tecken)", max=MAX_CHARS[field]))
    return text


def _name(raw: Cell, field: str) -> str:
    text = _collapse(cell_text(raw))
    if not text:
        raise Invalid(_("saknas"))
    return _limited(text, field)


def _optional(raw: Cell, field: str, *, collapse: bool = False) -> str | None:
    text = _collapse(cell_text(raw)) if collapse else cell_text(raw)
    return _limited(text, field) if text else None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(raw: Cell) -> date | None:
    day: date | None = None
    if isinstance(raw, date):
        day = raw
    elif not raw:
        return None
    elif _ISO_DATE.fullmatch(raw):
        with suppress(ValueError):  # 2026-02-30: not a date, said below
            day = date.fromisoformat(raw)
    if day is None:
        raise Invalid(_("är inte ett datum (ÅÅÅÅ-MM-DD)"))
    # A year 9999 parses, but a due date counted from it cannot be stored.
    if not clock.is_plausible(day):
        raise Invalid(
            _(
                "är inte ett rimligt datum (skriv ett mellan %(first)s och %(last)s)",
                first=clock.EARLIEST_DATE.isoformat(),
                last=clock.LATEST_DATE.isoformat(),
            )
        )
    return day


def _sector(raw: Cell) -> Sector | None:
    text = cell_text(raw)
    if not text:
        return None
    sector = sector_named(text)
    if sector is None:
        names = ", ".join(member.label for member in Sector)
        raise Invalid(_("är inte en känd sektor; välj en av: %(sectors)s", sectors=names))
    return sector


def _employee_number(raw: Cell) -> str | None:
    number = _optional(raw, "employee_number")
    if number and looks_like_personnummer(number):
        raise Invalid(
            _(
                "ser ut som ett personnummer; personnummer sparas inte och får inte "
                "användas som anställningsnummer"
            )
        )
    return number


# Exactly email_validator's rule for a plain ASCII part before the @ (RFC 5322 dot-atom).
_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
_DOT_ATOM = re.compile(f"[{_ATEXT}]+(?:\\.[{_ATEXT}]+)*")
_MAX_EMAIL_LENGTH = 254


class Emails:
    """email_validator, with the check of a domain it has already accepted skipped.

    Every employee of a municipality shares a handful of domains, and checking the domain is
    most of email_validator's work; for a plain ASCII address at a known domain the answer is
    the same, only quicker. Anything else goes through email_validator itself.
    """

    def __init__(self) -> None:
        self._domains: dict[str, str] = {}  # as written -> as email_validator normalises it

    def normalise(self, address: str) -> str:
        local, _at, domain = address.rpartition("@")
        known = self._domains.get(domain)
        plain = _DOT_ATOM.fullmatch(local) is not None
        length = len(local) + 1 + max(len(domain), len(known or ""))
        if known is not None and plain and length <= _MAX_EMAIL_LENGTH:
            return f"{local}@{known}".lower()
        try:
            result = validate_email(address, check_deliverability=False)
        except EmailNotValidError as error:
            raise Invalid(_("är inte en giltig e-postadress")) from error
        if plain and domain.isascii() and result.domain == result.ascii_domain:
            self._domains[domain] = result.domain
        return result.normalized.lower()

    def required(self, raw: Cell) -> str:
        text = cell_text(raw)
        if not text:
            raise Invalid(_("saknas"))
        return self.normalise(text)

    def optional(self, raw: Cell) -> str | None:
        text = cell_text(raw)
        return self.normalise(text) if text else None


def preview(raw: Cell | str) -> str:
    text = mask_personnummer(cell_text(raw))
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def field_checks(emails: Emails) -> dict[str, Callable[[Cell], Any]]:
    """The check of each field's cell; the e-mail fields share ``emails``' known domains."""
    return {
        "first_name": lambda raw: _name(raw, "first_name"),
        "last_name": lambda raw: _name(raw, "last_name"),
        "email": emails.required,
        "municipality": lambda raw: _optional(raw, "municipality"),
        "unit": lambda raw: _optional(raw, "unit", collapse=True),
        "sector": _sector,
        "hire_date": _date,
        "employee_number": _employee_number,
        "manager_email": emails.optional,
        "end_date": _date,
    }
