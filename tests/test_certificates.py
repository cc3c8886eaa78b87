"""Reading an uploaded certificate (intyg): what the reviewer is told matched and what did not.

The reading is advice shown next to the file, never a gate: files that cannot be read say so
and nothing raises. The PDFs are made by ``tests/samples.py``, so each test shows exactly the
text its certificate holds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests import samples
from training_tracker.models.enums import Sector
from training_tracker.providers import (
    CertificateFields,
    CourseProvider,
    CourseSpec,
    load_providers,
    registry,
)
from training_tracker.providers.toolkit import find_dates
from training_tracker.services.training import certificates
from training_tracker.services.training.certificates import (
    CertificateReading,
    Check,
    ExpectedFacts,
    ReadStatus,
    read_certificate,
)

PDF = "application/pdf"
REPORTED = date(2026, 11, 3)

NCK_COURSE = ExpectedFacts(
    employee_name="Anna Lindqvist",
    course_titles=("Webbkurs om våld", "Web course on violence"),
    provider_names=("Nationellt centrum för kvinnofrid (NCK), Uppsala universitet",),
    completed_on=REPORTED,
)
HEALTH_CARE_COURSE = ExpectedFacts(
    employee_name="Åsa Öberg",
    course_titles=(
        "Hedersrelaterat våld och förtryck – hälso- och sjukvården",
        "Honour-related violence and oppression – health care",
    ),
    provider_names=("Socialstyrelsen",),
    completed_on=REPORTED,
)
SOCIAL_SERVICES_COURSE = ExpectedFacts(
    employee_name="Åsa Öberg",
    course_titles=("Hedersrelaterat våld och förtryck – socialtjänsten",),
    provider_names=("Socialstyrelsen",),
    completed_on=REPORTED,
)


@pytest.fixture(autouse=True)
def _built_in_providers() -> None:
    """The NCK recogniser is found through the registry, as in the running app."""
    load_providers(["training_tracker.providers.nck"], include_entry_points=False)


@pytest.fixture()
def logs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """What this module logs. (Alembic's ``fileConfig``, run by the migrations in the app
    fixture, disables every logger that existed before it, this module's among them.)"""
    monkeypatch.setattr(logging.getLogger(certificates.__name__), "disabled", False)
    caplog.set_level(logging.DEBUG)
    return caplog


def read_pdf(
    tmp_path: Path,
    lines: Sequence[str],
    expected: ExpectedFacts = NCK_COURSE,
    *,
    provider_key: str | None = None,
) -> CertificateReading:
    path = tmp_path / "intyg.pdf"
    path.write_bytes(samples.certificate_pdf(lines))
    return read_certificate(path, content_type=PDF, expected=expected, provider_key=provider_key)


def read_bytes(tmp_path: Path, data: bytes, content_type: str = PDF) -> CertificateReading:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return read_certificate(path, content_type=content_type, expected=NCK_COURSE)


# --- the sample files themselves ---------------------------------------------------------


def test_sample_pdfs_hold_exactly_the_text_written_into_them():
    lines = ["Intyg", "Åsa Öberg-Lindqvist", "(har) genomfört \\ kursen", "é ü – “x” €"]
    reader = PdfReader(
        BytesIO(samples.certificate_pdf(lines, more_pages=[["Sida två"]])), strict=True
    )
    assert [page.extract_text() for page in reader.pages] == [
        "Intyg\nÅsa Öberg-Lindqvist\n(har) genomfört \\ kursen\né ü – “x” €\n",
        "Sida två\n",
    ]


def test_sample_pdf_refuses_characters_helvetica_cannot_show():
    with pytest.raises(UnicodeEncodeError):
        samples.certificate_pdf(["Łukasz"])


def test_sample_images_carry_their_signatures():
    assert samples.png_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert samples.jpeg_bytes().startswith(b"\xff\xd8\xff")
    assert samples.jpeg_bytes().endswith(b"\xff\xd9")


# --- a certificate that says everything ----------------------------------------------------


def test_a_certificate_naming_the_employee_course_and_date_matches_all_three(tmp_path):
    reading = read_pdf(
        tmp_path,
        ["Intyg", "Anna Lindqvist", "har deltagit i", "Webbkurs om våld", "2026-11-03"],
    )
    assert reading == CertificateReading(
        status=ReadStatus.READ,
        name=Check.MATCHED,
        course=Check.MATCHED,
        course_matched_by="title",
        date=Check.MATCHED,
        dates_found=(REPORTED,),
        recogniser="generic",
    )
    assert reading.all_matched


def test_a_pdf_with_text_but_nothing_relevant_is_read_and_matches_nothing(tmp_path):
    reading = read_pdf(tmp_path, ["Mötesanteckningar", "Fika i personalrummet"])
    assert reading == CertificateReading(status=ReadStatus.READ, recogniser="generic")
    assert not reading.all_matched


# --- the employee's name -----------------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        ["Anna Lindqvist"],
        ["Lindqvist, Anna"],
        ["LINDQVIST ANNA"],
        ["Deltagare: Anna Maria Lindqvist"],  # a middle name between
        ["Anna", "Lindqvist"],  # a line break between
        ["  Anna     Lindqvist  "],
        ["Anna Lind-", "qvist"],  # hyphenated at the line end
        ["Anna Lind\u00ad", "qvist"],  # the same with a soft hyphen
    ],
    ids=[
        "as-written",
        "last-first",
        "upper-case",
        "middle-name",
        "line-break",
        "spaces",
        "hyphenated",
        "soft-hyphen",
    ],
)
def test_the_name_is_found_however_it_is_written(tmp_path, lines):
    assert read_pdf(tmp_path, lines).name is Check.MATCHED


@pytest.mark.parametrize(
    "lines",
    [
        ["Anna Lindgren"],
        ["Anna Svensson och Per Lindqvist"],  # both names, but of two people
        ["Anna Lindkvist"],  # another spelling is another name
        ["Annalindqvist"],
    ],
)
def test_another_name_or_scattered_name_words_are_not_the_employee(tmp_path, lines):
    assert read_pdf(tmp_path, lines).name is Check.NOT_FOUND


def test_swedish_letters_are_matched_with_and_without_their_diacritics(tmp_path):
    """Decided: diacritics are ignored, because PDFs with poorly embedded fonts lose them."""
    assert read_pdf(tmp_path, ["Åsa Öberg"], HEALTH_CARE_COURSE).name is Check.MATCHED
    assert read_pdf(tmp_path, ["ÅSA ÖBERG"], HEALTH_CARE_COURSE).name is Check.MATCHED
    assert read_pdf(tmp_path, ["Asa Oberg"], HEALTH_CARE_COURSE).name is Check.MATCHED
    assert read_pdf(tmp_path, ["Åsa Åberg"], HEALTH_CARE_COURSE).name is Check.NOT_FOUND


# --- the course --------------------------------------------------------------------------


def test_a_title_broken_over_lines_and_hyphenated_is_found(tmp_path):
    reading = read_pdf(
        tmp_path,
        ["har genomfört Hedersrelaterat våld och för-", "tryck - hälso- och sjuk-", "vården"],
        HEALTH_CARE_COURSE,
    )
    assert (reading.course, reading.course_matched_by) == (Check.MATCHED, "title")


def test_a_title_with_a_ligature_is_found(tmp_path):
    expected = ExpectedFacts("Anna Lindqvist", ("Konflikthantering i skolan",), (), REPORTED)
    reading = read_pdf(tmp_path, ["Kursen Konﬂikthantering i skolan"], expected)
    assert (reading.course, reading.course_matched_by) == (Check.MATCHED, "title")


def test_the_english_title_counts_as_the_title(tmp_path):
    reading = read_pdf(tmp_path, ["has completed the WEB COURSE ON VIOLENCE"])
    assert (reading.course, reading.course_matched_by) == (Check.MATCHED, "title")


def test_a_clear_majority_of_the_title_words_is_enough(tmp_path):
    reading = read_pdf(
        tmp_path,
        ["Utbildning i hedersrelaterat våld och förtryck inom hälso- och sjukvården"],
        HEALTH_CARE_COURSE,
    )
    assert (reading.course, reading.course_matched_by) == (Check.MATCHED, "title")


def test_a_sibling_course_is_not_taken_for_the_reported_one(tmp_path):
    lines = ["Hedersrelaterat våld och förtryck – hälso- och sjukvården"]
    assert read_pdf(tmp_path, lines, HEALTH_CARE_COURSE).course is Check.MATCHED
    assert read_pdf(tmp_path, lines, SOCIAL_SERVICES_COURSE).course is Check.NOT_FOUND


def test_half_of_the_title_words_is_not_enough(tmp_path):
    expected = ExpectedFacts(
        "Anna Lindqvist", ("Webbkurs om hedersrelaterat våld och förtryck",), (), REPORTED
    )
    assert read_pdf(tmp_path, ["Webbkurs om våld"], expected).course is Check.NOT_FOUND


@pytest.mark.parametrize(
    "line",
    ["Nationellt centrum för kvinnofrid", "Utfärdat av NCK", "NATIONELLT CENTRUM FÖR KVINNOFRID"],
)
def test_the_provider_counts_when_the_title_is_not_on_the_certificate(tmp_path, line):
    reading = read_pdf(tmp_path, ["Anna Lindqvist", line])
    assert (reading.course, reading.course_matched_by) == (Check.MATCHED, "provider")


def test_the_title_wins_over_the_provider(tmp_path):
    reading = read_pdf(tmp_path, ["NCK", "Webbkurs om våld"])
    assert reading.course_matched_by == "title"


def test_a_short_form_must_be_a_word_of_its_own(tmp_path):
    reading = read_pdf(tmp_path, ["Anna Lindqvist", "Snackbaren"])  # contains "nck"
    assert (reading.course, reading.course_matched_by) == (Check.NOT_FOUND, None)


# --- the date ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "2026-11-03",
        "2026/11/03",
        "2026.11.03",
        "3.11.2026",
        "03-11-2026",
        "3/11/2026",
        "3 november 2026",
        "den 3:e november 2026",
        "3 nov. 2026",
        "3 NOV 2026",
        "November 3, 2026",
        "Nov. 3rd 2026",
        "3 November 2026",
        "Datum:2026-11-03 kl. 14:05",
    ],
)
def test_every_date_format_certificates_use_is_read(tmp_path, written):
    reading = read_pdf(tmp_path, ["Anna Lindqvist", written])
    assert (reading.date, reading.dates_found) == (Check.MATCHED, (REPORTED,))


def test_a_date_written_day_first_is_read_day_first():
    assert find_dates("4/11/2026") == [date(2026, 11, 4)]


def test_a_date_broken_over_a_line_is_read(tmp_path):
    assert read_pdf(tmp_path, ["3 november", "2026"]).dates_found == (REPORTED,)
    assert read_pdf(tmp_path, ["2026-", "11-03"]).dates_found == (REPORTED,)


def test_another_date_is_different(tmp_path):
    reading = read_pdf(tmp_path, ["Anna Lindqvist", "Genomförd 2026-10-28"])
    assert (reading.date, reading.dates_found) == (Check.DIFFERENT, (date(2026, 10, 28),))
    assert not reading.all_matched


def test_the_reported_date_among_others_matches_and_all_are_shown_in_order(tmp_path):
    reading = read_pdf(tmp_path, ["Utfärdat 5 november 2026", "Genomförd 2026-11-03"])
    assert (reading.date, reading.dates_found) == (
        Check.MATCHED,
        (date(2026, 11, 5), REPORTED),
    )


def test_at_most_five_dates_are_kept_and_the_matching_one_is_among_them(tmp_path):
    lines = [f"2026-01-{day:02d}" for day in range(1, 8)] + ["2026-11-03"]
    reading = read_pdf(tmp_path, lines)
    assert reading.date is Check.MATCHED
    assert reading.dates_found == (
        date(2026, 1, 1),
        date(2026, 1, 2),
        date(2026, 1, 3),
        date(2026, 1, 4),
        REPORTED,
    )


@pytest.mark.parametrize(
    "written", ["2026-02-30", "31.04.2026", "2026-13-01", "32 november 2026", "0/11/2026"]
)
def test_impossible_dates_are_ignored(tmp_path, written):
    reading = read_pdf(tmp_path, ["Anna Lindqvist", written])
    assert (reading.date, reading.dates_found) == (Check.NOT_FOUND, ())


def test_numbers_that_merely_look_like_dates_are_not_read():
    assert find_dates("Kursnummer 12026-11-035, version 1.2.3, tel 08-123 45 67") == []


# --- files that cannot be read -----------------------------------------------------------


def test_a_scanned_pdf_without_text_is_unreadable(tmp_path):
    reading = read_bytes(tmp_path, samples.scanned_pdf())
    assert reading == CertificateReading(status=ReadStatus.UNREADABLE)
    assert not reading.all_matched


@pytest.mark.parametrize(
    "data",
    [
        samples.damaged_pdf(),
        samples.certificate_pdf(["Anna Lindqvist", "2026-11-03"])[:300],  # cut short
        b"",
    ],
    ids=["damaged", "truncated", "empty"],
)
def test_a_damaged_pdf_is_unreadable_and_nothing_raises(tmp_path, data):
    assert read_bytes(tmp_path, data) == CertificateReading(status=ReadStatus.UNREADABLE)


def test_a_missing_file_is_unreadable(tmp_path):
    reading = read_certificate(tmp_path / "gone.pdf", content_type=PDF, expected=NCK_COURSE)
    assert reading.status is ReadStatus.UNREADABLE


def test_a_pdf_locked_with_a_password_is_unreadable(tmp_path):
    data = samples.encrypted_pdf(["Anna Lindqvist"], user_password="hemligt", owner_password="x")
    assert read_bytes(tmp_path, data) == CertificateReading(status=ReadStatus.UNREADABLE)


def test_a_pdf_that_only_forbids_editing_is_read(tmp_path):
    data = samples.encrypted_pdf(
        ["Anna Lindqvist", "Webbkurs om våld", "2026-11-03"], user_password="", owner_password="x"
    )
    assert read_bytes(tmp_path, data).all_matched


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(samples.png_bytes(), "image/png"), (samples.jpeg_bytes(), "image/jpeg")],
)
def test_images_are_not_read_but_left_to_the_reviewer(tmp_path, data, content_type):
    reading = read_bytes(tmp_path, data, content_type)
    assert reading == CertificateReading(status=ReadStatus.IMAGE)
    assert not reading.all_matched


def test_another_kind_of_file_is_unreadable(tmp_path):
    reading = read_bytes(tmp_path, b"Anna Lindqvist 2026-11-03", "text/plain")
    assert reading.status is ReadStatus.UNREADABLE


def test_why_a_file_was_not_read_is_logged_without_its_content(tmp_path, logs):
    read_pdf(tmp_path, ["Anna Lindqvist", "2026-11-03"])
    read_bytes(tmp_path, samples.damaged_pdf())
    read_bytes(tmp_path, samples.scanned_pdf())
    messages = [
        record.getMessage() for record in logs.records if record.name == certificates.__name__
    ]
    assert messages == [
        "Certificate upload not read: PdfStreamError",
        "Certificate upload not read: no text layer (scanned?)",
    ]


# --- bounded work ------------------------------------------------------------------------


def test_a_long_pdf_is_read_quickly_because_only_its_first_pages_are_read(tmp_path):
    filler = ["Bilaga: kursens innehåll, avsnitt för avsnitt."] * 40
    later = ["Lindqvist, Anna: genomförd 2020-01-01", *filler]
    path = tmp_path / "lang.pdf"
    path.write_bytes(
        samples.certificate_pdf(
            ["Anna Lindqvist", "2026-11-03"], more_pages=[filler, filler, *[later] * 197]
        )
    )
    started = time.monotonic()
    reading = read_certificate(path, content_type=PDF, expected=NCK_COURSE)
    assert time.monotonic() - started < 2.0
    # Page 4 onwards has another date; it was never read.
    assert (reading.date, reading.dates_found) == (Check.MATCHED, (REPORTED,))


def test_text_beyond_the_cap_is_not_read(tmp_path):
    long_page = ["Anna Lindqvist"] + ["x" * 99] * (certificates.MAX_CHARS // 100) + ["2026-11-03"]
    reading = read_pdf(tmp_path, long_page)
    assert (reading.name, reading.date) == (Check.MATCHED, Check.NOT_FOUND)


def test_a_pdf_that_takes_too_long_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setattr(certificates, "MAX_SECONDS", -1.0)
    assert read_pdf(tmp_path, ["Anna Lindqvist"]).status is ReadStatus.UNREADABLE


# --- provider recognisers ----------------------------------------------------------------

NCK_CERTIFICATE = [
    "Intyg",
    "Anna Lindqvist",
    "har genomfört",
    "Webbkurs om våld",
    "Datum: 3 november 2026",
    "Nationellt centrum för kvinnofrid, Uppsala universitet",
]


def test_the_nck_recogniser_reads_its_own_certificate(tmp_path):
    reading = read_pdf(tmp_path, NCK_CERTIFICATE, provider_key="nck")
    assert reading == CertificateReading(
        status=ReadStatus.READ,
        name=Check.MATCHED,
        course=Check.MATCHED,
        course_matched_by="title",
        date=Check.MATCHED,
        dates_found=(REPORTED,),
        recogniser="nck",
    )


def test_the_nck_recogniser_tells_another_name_course_and_date_from_none(tmp_path):
    """Only a recogniser knows where the name stands, so only it can say "different"."""
    lines = [
        "Intyg",
        "Anna Lindgren har genomfört webbkursen Hedersrelaterat våld",
        "2026-10-28",
        "Utbildning från NCK, 2026-11-03",
    ]
    with_recogniser = read_pdf(tmp_path, lines, provider_key="nck")
    assert with_recogniser == CertificateReading(
        status=ReadStatus.READ,
        name=Check.DIFFERENT,
        course=Check.DIFFERENT,
        course_matched_by=None,
        date=Check.DIFFERENT,
        dates_found=(date(2026, 10, 28),),
        recogniser="nck",
    )
    generic = read_pdf(tmp_path, lines)
    assert (generic.name, generic.course, generic.course_matched_by, generic.date) == (
        Check.NOT_FOUND,
        Check.MATCHED,
        "provider",
        Check.MATCHED,
    )
    assert generic.recogniser == "generic"


def test_the_nck_recogniser_reads_a_wrapped_title_and_the_name_on_the_phrase_line():
    fields = registry.providers["nck"]().recognise_certificate(
        "KURSINTYG\nLindqvist, Anna har genomfört\nWebb-\nkurs om våld\nden 3:e november 2026\nNCK"
    )
    assert fields == CertificateFields(
        name="Lindqvist, Anna", course_title="Webb-kurs om våld", completed_on=REPORTED
    )


def test_fields_the_recogniser_could_not_read_are_searched_for_in_the_whole_text(tmp_path):
    lines = ["Intyg", "har genomfört", "Webbkurs om våld", "NCK", "Anna Lindqvist 2026-11-03"]
    fields = registry.providers["nck"]().recognise_certificate("\n".join(lines))
    assert fields == CertificateFields(
        name=None, course_title="Webbkurs om våld", completed_on=REPORTED
    )
    reading = read_pdf(tmp_path, lines, provider_key="nck")
    assert reading.all_matched
    assert reading.recogniser == "nck"


def test_the_nck_recogniser_declines_other_layouts(tmp_path):
    assert registry.providers["nck"]().recognise_certificate("Anna Lindqvist\n2026-11-03") is None
    reading = read_pdf(
        tmp_path, ["Anna Lindqvist", "Webbkurs om våld", "2026-11-03"], provider_key="nck"
    )
    assert reading.recogniser == "generic"


def test_a_provider_recogniser_is_used_only_for_its_own_courses(tmp_path):
    lines = ["Intyg", "Anna Lindgren", "har genomfört", "Webbkurs om våld", "2026-11-03", "NCK"]
    assert read_pdf(tmp_path, lines, provider_key="nck").recogniser == "nck"
    assert read_pdf(tmp_path, lines, provider_key="skolverket").recogniser == "generic"
    assert read_pdf(tmp_path, lines, provider_key="no-such-provider").recogniser == "generic"
    assert read_pdf(tmp_path, lines, provider_key=None).recogniser == "generic"


class _IntroductionDay(CourseProvider):
    """A municipality's own plugin whose certificate is a form: "Deltagare: …" and so on."""

    key = "test-introduktionsdag"
    name = "Kommunens introduktionsdag"
    website = "https://intranat.example/"

    def courses(self) -> list[CourseSpec]:
        return [
            CourseSpec(
                key="test-introduktionsdag",
                title="Introduktionsdag för nyanställda",
                url="https://intranat.example/intro",
                audience=(Sector.OTHER,),
            )
        ]

    def recognise_certificate(self, text: str) -> CertificateFields | None:
        values = dict(
            line.split(":", 1) for line in text.splitlines() if ":" in line and "Kommunen" in text
        )
        if "Deltagare" not in values:
            return None
        dates = find_dates(values.get("Datum", ""))
        return CertificateFields(
            name=values["Deltagare"].strip(),
            course_title=values.get("Kurs", "").strip() or None,
            completed_on=dates[0] if dates else None,
        )


class _BrokenRecogniser(_IntroductionDay):
    key = "test-trasig"

    def recognise_certificate(self, text: str) -> CertificateFields | None:
        raise RuntimeError("a bug in a plugin")


@pytest.fixture()
def plugin_providers() -> Iterator[None]:
    registry.register(_IntroductionDay)
    registry.register(_BrokenRecogniser)
    yield
    registry.providers.pop(_IntroductionDay.key, None)
    registry.providers.pop(_BrokenRecogniser.key, None)


INTRODUCTION = ExpectedFacts(
    employee_name="Anna Lindqvist",
    course_titles=("Introduktionsdag för nyanställda",),
    provider_names=("Kommunens introduktionsdag",),
    completed_on=REPORTED,
)


def test_a_plugin_provider_brings_its_own_recogniser(tmp_path, plugin_providers):
    lines = [
        "Kommunen hälsar välkommen",
        "Deltagare: Lindqvist Anna",
        "Kurs: Introduktionsdag för nyanställda",
        "Datum: 2026-11-03",
        "Intygat av Per Persson 2026-11-10",
    ]
    reading = read_pdf(tmp_path, lines, INTRODUCTION, provider_key=_IntroductionDay.key)
    assert reading == CertificateReading(
        status=ReadStatus.READ,
        name=Check.MATCHED,
        course=Check.MATCHED,
        course_matched_by="title",
        date=Check.MATCHED,
        dates_found=(REPORTED,),  # not the signature's date: the recogniser knows the field
        recogniser=_IntroductionDay.key,
    )


def test_a_failing_plugin_recogniser_falls_back_to_the_generic_one(
    tmp_path, plugin_providers, logs
):
    lines = ["Anna Lindqvist", "Introduktionsdag för nyanställda", "2026-11-03"]
    reading = read_pdf(tmp_path, lines, INTRODUCTION, provider_key=_BrokenRecogniser.key)
    assert reading.all_matched
    assert reading.recogniser == "generic"
    assert "Certificate recogniser of provider test-trasig failed" in logs.text


def test_the_plugin_is_gone_after_its_test():
    assert _IntroductionDay.key not in registry.providers


# --- stored as JSON ----------------------------------------------------------------------


def test_a_reading_survives_a_json_round_trip():
    reading = CertificateReading(
        status=ReadStatus.READ,
        name=Check.MATCHED,
        course=Check.MATCHED,
        course_matched_by="provider",
        date=Check.DIFFERENT,
        dates_found=(date(2026, 10, 28), date(2026, 11, 5)),
        recogniser="nck",
    )
    stored = reading.to_json()
    assert stored == {
        "version": 1,
        "status": "read",
        "name": "matched",
        "course": "matched",
        "course_matched_by": "provider",
        "date": "different",
        "dates_found": ["2026-10-28", "2026-11-05"],
        "recogniser": "nck",
    }
    assert CertificateReading.from_json(json.loads(json.dumps(stored))) == reading


def test_reading_stored_json_tolerates_missing_unknown_and_bad_values():
    assert CertificateReading.from_json(None) is None
    assert CertificateReading.from_json({}) is None
    assert CertificateReading.from_json({"status": "ocr"}) is None
    assert CertificateReading.from_json({"status": "image"}) == CertificateReading(
        status=ReadStatus.IMAGE
    )
    assert CertificateReading.from_json(
        {
            "status": "read",
            "name": "matched",
            "course": "maybe",
            "course_matched_by": "guess",
            "date": None,
            "dates_found": ["2026-11-03", "3 nov", 17, None],
            "recogniser": 5,
            "confidence": 0.9,
        }
    ) == CertificateReading(status=ReadStatus.READ, name=Check.MATCHED, dates_found=(REPORTED,))
