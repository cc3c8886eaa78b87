"""Recognising a personnummer, so that an import never reads or repeats one.

A column whose header names personnummer (or samordningsnummer) is skipped unread, an employee
number shaped like one rejects its row, and a value shown back in a problem has any masked.
"""

from __future__ import annotations

import re

from training_tracker.services.imports.vocabulary import fold

_PERSONNUMMER_HEADERS = frozenset(
    {
        "pnr",
        "persnr",
        "ssn",
        "socialsecuritynumber",
        "personalidentitynumber",
        "personalidentificationnumber",
        "nationalidentitynumber",
    }
)
_PERSONNUMMER_HEADER_PARTS = ("personnummer", "personnr", "samordningsnummer")


def is_personnummer_header(header: str) -> bool:
    """A column for personnummer (or samordningsnummer), which is never read."""
    folded = fold(header)
    return folded in _PERSONNUMMER_HEADERS or any(
        part in folded for part in _PERSONNUMMER_HEADER_PARTS
    )


_PERSONNUMMER = re.compile(
    r"(?<![0-9])(18|19|20)?[0-9]{2}([0-9]{2})([0-9]{2})[-+ ]?[0-9]{4}(?![0-9])"
)


def _plausible_personnummer(match: re.Match[str]) -> bool:
    month, day = int(match[2]), int(match[3])
    # A samordningsnummer adds 60 to the day.
    return 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)


def looks_like_personnummer(value: str) -> bool:
    """YYMMDD-XXXX or YYYYMMDDXXXX, with or without "-" or "+", with a plausible date."""
    match = _PERSONNUMMER.fullmatch(value.strip())
    return match is not None and _plausible_personnummer(match)


def mask_personnummer(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        if not _plausible_personnummer(match):
            return match[0]
        return re.sub("[0-9]", "x", match[0])

    return _PERSONNUMMER.sub(mask, text)
