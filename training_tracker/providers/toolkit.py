"""The toolkit for course-provider plugin authors: everything a plugin may use, in one public
module, so that a plugin (built-in or third-party) imports nothing from the app's internals.

What it offers, and what stays stable for plugins:

- the plugin API: :class:`CourseProvider` (subclass it), :class:`CourseSpec` (one per
  course), :class:`CertificateFields` (what a recogniser read), :func:`register` (the class
  decorator) and :class:`Sector` (a course's audience);
- reading a certificate's text the way the app does: :func:`find_dates` (every date written in
  the formats certificates use), :func:`fold` (compare text regardless of case, diacritics and
  spacing), :func:`join_broken_words` (a word hyphenated over two lines) and
  :func:`prepare_text` (the form in which ``recognise_certificate`` receives the text: feed a
  plugin's tests through it).

``services/training/certificates.py`` builds its generic recogniser on the same functions, so
a plugin and the app read the same text the same way.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from training_tracker.models.enums import Sector
from training_tracker.providers import CertificateFields, CourseProvider, CourseSpec, register

__all__ = [
    "CertificateFields",
    "CourseProvider",
    "CourseSpec",
    "Sector",
    "find_dates",
    "fold",
    "join_broken_words",
    "prepare_text",
    "register",
]

# --- the text ------------------------------------------------------------------------------

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
# A word broken over two lines: "utbild-⏎ning". Joined, or kept as one hyphenated word.
_LINE_END_HYPHEN = re.compile(r"(?<=\w)-[ \t]*\r?\n\s*(?=\w)")
_SOFT_HYPHEN = re.compile(r"\u00ad\s*")


def prepare_text(text: str) -> str:
    """NFKC (ligatures such as "ﬁ", compatibility spaces), soft hyphens removed with the line
    break after them (they only ever split a word), dashes made "-"; other line breaks are
    kept, as provider recognisers read lines."""
    text = _SOFT_HYPHEN.sub("", unicodedata.normalize("NFKC", text))
    return text.translate(_DASHES)


def fold(text: str) -> str:
    """The form all comparisons use: casefolded, diacritics removed, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.split())


def join_broken_words(text: str, *, keep_hyphen: bool = False) -> str:
    """Words hyphenated at a line's end joined again: "utbild-⏎ning" becomes "utbildning",
    or "utbild-ning" with ``keep_hyphen`` (a compound such as "2026-⏎11-03" or "hälso-⏎och")."""
    return _LINE_END_HYPHEN.sub("-" if keep_hyphen else "", text)


# --- dates ---------------------------------------------------------------------------------

_MONTHS = {
    **dict.fromkeys(("januari", "january", "jan"), 1),
    **dict.fromkeys(("februari", "february", "feb"), 2),
    **dict.fromkeys(("mars", "march", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("maj", "may"), 5),
    **dict.fromkeys(("juni", "june", "jun"), 6),
    **dict.fromkeys(("juli", "july", "jul"), 7),
    **dict.fromkeys(("augusti", "august", "aug"), 8),
    **dict.fromkeys(("september", "sept", "sep"), 9),
    **dict.fromkeys(("oktober", "october", "okt", "oct"), 10),
    **dict.fromkeys(("november", "nov"), 11),
    **dict.fromkeys(("december", "dec"), 12),
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
# Patterns run on folded text; a group named "year", "month"/"mon", "day" each.
_DATE_PATTERNS = (
    # 2026-11-03, 2026/11/03, 2026.11.03
    re.compile(
        r"(?<!\d)(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?!\d)"
    ),
    # 3.11.2026, 03-11-2026, 3/11/2026: day first, as Swedes (and most of Europe) write
    re.compile(
        r"(?<!\d)(?P<day>\d{1,2})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<year>\d{4})(?!\d)"
    ),
    # 3 november 2026, 3 nov. 2026, den 3:e november 2026, 3 November 2026, 3rd Nov 2026
    re.compile(
        rf"(?<![\w])(?P<day>\d{{1,2}})(?::e|:a|st|nd|rd|th)?\.?\s*(?P<mon>{_MONTH})\b\.?,?"
        r"\s*(?P<year>\d{4})(?!\d)"
    ),
    # November 3, 2026; Nov. 3rd 2026
    re.compile(
        rf"\b(?P<mon>{_MONTH})\b\.?\s*(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,\s*|\s+)"
        r"(?P<year>\d{4})(?!\d)"
    ),
)


def find_dates(text: str) -> list[date]:
    """Every valid date written in ``text`` in one of the formats certificates use, in order
    of appearance, without repeats. Impossible dates (30 February, month 13) are skipped."""
    return _dates_in_folded(fold(join_broken_words(prepare_text(text), keep_hyphen=True)))


def _dates_in_folded(folded: str) -> list[date]:
    found: list[tuple[int, date]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            parts = match.groupdict()
            month = _MONTHS[parts["mon"]] if parts.get("mon") else int(parts["month"])
            try:
                value = date(int(parts["year"]), month, int(parts["day"]))
            except ValueError:
                continue
            if 1900 <= value.year <= 2100:
                found.append((match.start(), value))
    ordered: list[date] = []
    for _position, value in sorted(found, key=lambda item: item[0]):
        if value not in ordered:
            ordered.append(value)
    return ordered
