"""Reading an uploaded certificate (intyg): does it name the employee, the course and the date
they reported?

The result is advice for the reviewer, shown next to the file, never a gate: anything that
goes wrong while reading ends as "could not be read" and the report goes ahead. Images are
not read (no OCR), and neither are PDFs without a text layer (scans).

Matching is deliberately forgiving about how text comes out of a PDF: case, Unicode forms
and ligatures (NFKC), line breaks and runs of spaces, words hyphenated at line ends, name
words in either order. Diacritics are compared *removed* on both sides ("Öberg" matches
"Oberg"): PDFs made with poorly embedded fonts lose or split å, ä and ö, and a reviewer who
sees the file anyway is better served by a match than by a false "not found". The price is
that "Åsa" also matches "Asa"; other spellings ("Lindkvist" for "Lindqvist") do not match.

A provider plugin may recognise its own certificate layout
(:meth:`CourseProvider.recognise_certificate`); its fields are then compared, so that it can
tell "another name" from "no name". Fields it leaves out are searched for in the whole text.

The PDF itself is opened only in a child process with hard limits on CPU time, memory and
wall-clock time (:mod:`bounded_reading`): a file that hits one is "could not be read".

This module is pure: no Flask, no database. It does not load plugins; a provider is asked
only once its module has registered it (``load_providers``/``catalog.providers_from_config``
has run in the process).
"""

from __future__ import annotations

import datetime
import logging
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from training_tracker.providers import CertificateFields, registry
from training_tracker.providers.toolkit import find_dates, fold, join_broken_words, prepare_text
from training_tracker.services.core import bounded_reading
from training_tracker.services.core.bounded_reading import Limits

log = logging.getLogger(__name__)

# Bounds on the work: a certificate says what it says on its first page, so reading more
# only costs time (and a hostile PDF can make every page expensive).
MAX_PAGES = 3
MAX_CHARS = 20_000
MAX_SECONDS = 5.0  # checked between pages; the child's limits below bound a single page
MAX_DATES = 5
# The reading's child process (CERTIFICATE_READ_* in config.py). A normal certificate takes
# about 10 ms of CPU and under 1 MB above the child's 90 MB at start.
DEFAULT_LIMITS = Limits(cpu_seconds=5, wall_seconds=10.0, memory_bytes=512 * 1024 * 1024)

# Tighter than pypdf's defaults (75 MB per stream): a certificate's text is a few kilobytes.
_PDF_LIMITS: dict[str, Any] = {
    "maximum_declared_stream_length": 20_000_000,
    "zlib_maximum_output_length": 20_000_000,
    "lzw_maximum_output_length": 20_000_000,
    "run_length_maximum_output_length": 20_000_000,
    "array_based_stream_maximum_output_length": 20_000_000,
    "stream_decoding_work_maximum_length": 60_000_000,
    "stream_parsing_work_maximum_count": 500_000,
    "xform_maximum_invocations_per_extraction": 200,
    "jbig2dec_binary": None,  # never start an external program for an upload
}


class ReadStatus(StrEnum):
    READ = "read"  # text was extracted and compared
    UNREADABLE = "unreadable"  # PDF without text (scanned), damaged, encrypted, too slow...
    IMAGE = "image"  # PNG/JPEG: we do not OCR; the reviewer looks at it


class Check(StrEnum):
    MATCHED = "matched"  # found and equal to what was reported
    DIFFERENT = "different"  # a value was found but differs (e.g. another date)
    NOT_FOUND = "not_found"  # nothing of the kind found


@dataclass(frozen=True)
class ExpectedFacts:
    """What the employee reported, to look for on the certificate."""

    employee_name: str  # "Anna Lindqvist" (first + last)
    course_titles: tuple[str, ...]  # Swedish title, English title if any
    provider_names: tuple[str, ...]  # full name plus short forms like "NCK"
    completed_on: datetime.date  # the date the employee reported


@dataclass(frozen=True)
class CertificateReading:
    """What reading one certificate found; stored as JSON with the evidence.

    (Annotated with ``datetime.date``: the field named ``date`` hides the type in here.)
    """

    status: ReadStatus
    name: Check = Check.NOT_FOUND
    course: Check = Check.NOT_FOUND
    course_matched_by: str | None = None  # "title" or "provider"
    date: Check = Check.NOT_FOUND
    dates_found: tuple[datetime.date, ...] = ()  # dates seen on the certificate, at most MAX_DATES
    recogniser: str | None = None  # "generic" or the key of the provider that read it

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "status": self.status.value,
            "name": self.name.value,
            "course": self.course.value,
            "course_matched_by": self.course_matched_by,
            "date": self.date.value,
            "dates_found": [found.isoformat() for found in self.dates_found],
            "recogniser": self.recogniser,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CertificateReading | None:
        """The reading stored by :meth:`to_json`, tolerant of what an older or newer version
        stored: unknown keys are ignored, missing or unknown values fall back to their
        defaults. None when there is nothing usable (no data, or no known status)."""
        if not isinstance(data, Mapping):
            return None
        try:
            status = ReadStatus(str(data.get("status")))
        except ValueError:
            return None
        dates: list[date] = []
        raw_dates = data.get("dates_found")
        for raw in raw_dates if isinstance(raw_dates, list) else []:
            try:
                dates.append(date.fromisoformat(raw))
            except (TypeError, ValueError):
                continue
        matched_by = data.get("course_matched_by")
        recogniser = data.get("recogniser")
        return cls(
            status=status,
            name=_check(data.get("name")),
            course=_check(data.get("course")),
            course_matched_by=matched_by if matched_by in ("title", "provider") else None,
            date=_check(data.get("date")),
            dates_found=tuple(dates[:MAX_DATES]),
            recogniser=recogniser if isinstance(recogniser, str) else None,
        )

    @property
    def all_matched(self) -> bool:
        return self.status is ReadStatus.READ and all(
            check is Check.MATCHED for check in (self.name, self.course, self.date)
        )


def _check(value: Any) -> Check:
    try:
        return Check(value)
    except ValueError:
        return Check.NOT_FOUND


def read_certificate(
    path: Path,
    *,
    content_type: str,
    expected: ExpectedFacts,
    provider_key: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> CertificateReading:
    """Read the certificate at ``path`` and compare it with what was reported. Never raises:
    a certificate that cannot be read must not stop the report it comes with.

    ``content_type`` is the type the file's bytes proved (``evidence.content_type_of``), not
    the browser's claim. ``provider_key`` is the key of the course's provider, whose
    recogniser (if it has one and recognises the layout) reads the text first. The PDF is
    opened only in a child process held to ``limits`` (see :mod:`bounded_reading`); the
    comparison runs here, on at most ``MAX_CHARS`` of its text.
    """
    try:
        if content_type.startswith("image/"):
            return CertificateReading(status=ReadStatus.IMAGE)
        if content_type != "application/pdf":
            log.info("Certificate %s not read: content type %s", path.name, content_type)
            return CertificateReading(status=ReadStatus.UNREADABLE)
        text = _pdf_text(path, limits)
        if text is None:
            return CertificateReading(status=ReadStatus.UNREADABLE)
        return _compare(text, expected, provider_key)
    except Exception:  # a bug here must not block a report; the log tells
        log.warning("Reading certificate %s failed unexpectedly", path.name, exc_info=True)
        return CertificateReading(status=ReadStatus.UNREADABLE)


def _pdf_text(path: Path, limits: Limits) -> str | None:
    """The text of the PDF's first pages, or None when there is none to be had. Logs why
    (never the text: it is personal data)."""
    try:
        text, why_not = bounded_reading.run(
            extract_pdf_text, path, MAX_PAGES, MAX_CHARS, MAX_SECONDS, limits=limits
        )
    except bounded_reading.LimitExceeded as stopped:
        log.info("Certificate %s not read: stopped (%s limit)", path.name, stopped.reason)
        return None
    if why_not is not None:
        log.info("Certificate %s not read: %s", path.name, why_not)
    return text


def extract_pdf_text(
    path: Path, max_pages: int, max_chars: int, max_seconds: float
) -> tuple[str | None, str | None]:
    """In the bounded child: the text of the PDF's first pages and None, or None and why not.
    The bounds come as arguments so that the parent's values (and tests' changes) hold."""
    # Late: pypdf costs about 0.1 s of CPU to import, which only the reading of a PDF needs;
    # the reading child has it preloaded (bounded_reading's forkserver).
    import pypdf
    from pypdf import PasswordType, PdfReader

    started = time.monotonic()
    parts: list[str] = []
    length = 0
    try:
        with pypdf.apply_configuration(**_PDF_LIMITS):
            reader = PdfReader(path)
            # pypdf tries the empty user password itself; certificates that merely forbid
            # editing open that way. Any other password we do not have.
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                return None, "protected by a password"
            for index in range(min(max_pages, len(reader.pages))):
                if time.monotonic() - started > max_seconds:
                    if index == 0:
                        return None, "too slow"
                    break
                chunk = reader.pages[index].extract_text() or ""
                parts.append(chunk)
                length += len(chunk)
                if length >= max_chars:
                    break
    except MemoryError:
        raise  # the parent says "memory limit"
    except Exception as error:  # noqa: BLE001 - damaged PDFs raise anything from anywhere
        return None, type(error).__name__
    text = "\n".join(parts)[:max_chars]
    if not any(char.isalnum() for char in text):
        return None, "no text layer (scanned?)"
    return text, None


# --- normalising text --------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
# Words that carry no weight in a course title; compared folded ("för" is "for").
_MINOR_WORDS = frozenset(
    {"och", "om", "i", "for", "mot", "med", "pa", "av", "till", "en", "ett", "den", "det"}
    | {"the", "of", "on", "and", "in", "a", "an", "to", "with", "against"}
)


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _squashed(text: str) -> str:
    """Only letters and digits: immune to line breaks, hyphenation and punctuation."""
    return "".join(_words(text))


@dataclass(frozen=True)
class _Searchable:
    """A certificate's text in the forms matching needs."""

    readings: tuple[tuple[str, ...], ...]  # word sequences: line-end hyphens joined / kept
    vocabulary: frozenset[str]
    squashed: str

    @classmethod
    def of(cls, text: str) -> _Searchable:
        joined = join_broken_words(text)
        kept = join_broken_words(text, keep_hyphen=True)
        readings = (tuple(_words(joined)), tuple(_words(kept)))
        return cls(
            readings=readings,
            vocabulary=frozenset(readings[0]) | frozenset(readings[1]),
            squashed=_squashed(joined),
        )


# --- names -------------------------------------------------------------------------------


def _name_in(name: str, text: _Searchable) -> bool:
    """All the name's words close together, in any order ("Lindqvist, Anna"), with room for
    one more word between them (a middle name or initial)."""
    wanted = Counter(_words(name))
    if not wanted:
        return False
    window = sum(wanted.values()) + 1
    for words in text.readings:
        for start, word in enumerate(words):
            if word in wanted and Counter(words[start : start + window]) >= wanted:
                return True
    return False


def _same_name(found: str, expected: str) -> Check:
    found_words = Counter(_words(found))
    wanted = Counter(_words(expected))
    if not found_words:
        return Check.NOT_FOUND
    if wanted and found_words >= wanted and found_words.total() <= wanted.total() + 1:
        return Check.MATCHED
    return Check.DIFFERENT


# --- courses -----------------------------------------------------------------------------


def _title_in(title: str, vocabulary: frozenset[str], squashed: str) -> bool:
    """The whole title, or more than three quarters of its significant words: enough to
    survive a garbled word in a long title, not enough to take "… – socialtjänsten" for
    its sibling "… – hälso- och sjukvården"."""
    whole = _squashed(title)
    if len(whole) >= 4 and whole in squashed:
        return True
    significant = {word for word in _words(title) if len(word) > 1} - _MINOR_WORDS
    if not significant:
        return False
    found = sum(word in vocabulary for word in significant)
    return found * 4 > len(significant) * 3


def _provider_forms(names: tuple[str, ...]) -> list[str]:
    """Each name, and also its short form in parentheses and its part before a comma (where
    the parent organisation follows): "Nationellt centrum för kvinnofrid (NCK), Uppsala
    universitet" also gives "NCK" and "Nationellt centrum för kvinnofrid"."""
    forms: list[str] = []
    for name in names:
        forms.append(name)
        forms.extend(re.findall(r"\(([^()]*)\)", name))
        forms.append(re.sub(r"\([^()]*\)", " ", name).split(",")[0])
    return [form for form in forms if _words(form)]


def _provider_in(name: str, text: _Searchable) -> bool:
    words = _words(name)
    if len(words) == 1:  # a short form such as "NCK": a word of its own, not a fragment
        return words[0] in text.vocabulary
    return "".join(words) in text.squashed


def _course_in(expected: ExpectedFacts, text: _Searchable) -> tuple[Check, str | None]:
    if any(_title_in(title, text.vocabulary, text.squashed) for title in expected.course_titles):
        return Check.MATCHED, "title"
    if any(_provider_in(form, text) for form in _provider_forms(expected.provider_names)):
        return Check.MATCHED, "provider"
    return Check.NOT_FOUND, None


def _same_course(found: str, expected: ExpectedFacts) -> tuple[Check, str | None]:
    found_text = _Searchable.of(found)
    if not found_text.squashed:
        return Check.NOT_FOUND, None
    for title in expected.course_titles:
        if _title_in(title, found_text.vocabulary, found_text.squashed):
            return Check.MATCHED, "title"
    return Check.DIFFERENT, None


# --- dates -------------------------------------------------------------------------------


def _date_check(dates: list[date], reported: date) -> tuple[Check, tuple[date, ...]]:
    if not dates:
        return Check.NOT_FOUND, ()
    shown = dates[:MAX_DATES]
    if reported not in dates:
        return Check.DIFFERENT, tuple(shown)
    if reported not in shown:  # the matching date is always among those shown
        shown = [*shown[: MAX_DATES - 1], reported]
    return Check.MATCHED, tuple(shown)


# --- putting it together -----------------------------------------------------------------


def _provider_fields(provider_key: str | None, text: str) -> CertificateFields | None:
    provider_cls = registry.providers.get(provider_key) if provider_key else None
    if provider_cls is None:
        return None
    try:
        fields = provider_cls().recognise_certificate(text)
    except Exception:  # a plugin's bug must not block a report
        log.warning("Certificate recogniser of provider %s failed", provider_key, exc_info=True)
        return None
    return fields if isinstance(fields, CertificateFields) else None


def _compare(
    raw_text: str, expected: ExpectedFacts, provider_key: str | None
) -> CertificateReading:
    text = prepare_text(raw_text)
    searchable = _Searchable.of(text)
    fields = _provider_fields(provider_key, text)
    if fields is None:
        fields = CertificateFields()
        recogniser = "generic"
    else:
        recogniser = provider_key or "generic"  # fields were found, so a provider was named

    if fields.name is not None:
        name = _same_name(fields.name, expected.employee_name)
    else:
        name = Check.MATCHED if _name_in(expected.employee_name, searchable) else Check.NOT_FOUND

    if fields.course_title is not None:
        course, matched_by = _same_course(fields.course_title, expected)
    else:
        course, matched_by = _course_in(expected, searchable)

    dates = [fields.completed_on] if fields.completed_on is not None else find_dates(text)
    date_check, dates_found = _date_check(dates, expected.completed_on)

    return CertificateReading(
        status=ReadStatus.READ,
        name=name,
        course=course,
        course_matched_by=matched_by,
        date=date_check,
        dates_found=dates_found,
        recogniser=recogniser,
    )
