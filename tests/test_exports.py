"""Writing reports as CSV and XLSX: what Swedish Excel needs, and no formula gets through.
No database and no Flask are involved."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from training_tracker.services.core.spreadsheets import (
    CREATOR,
    Sheet,
    export_filename,
    neutralise,
    sheet_titles,
    to_csv,
    to_xlsx,
)

DANGEROUS = ["=1+1", "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)", "\t=1", "\r=1", "\n=1"]
GENERATED = datetime(2026, 11, 24, 8, 30)


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def _workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def _coverage() -> Sheet:
    return Sheet(
        title="Täckning per enhet",
        header=["Enhet", "Anställda", "Andel klara (%)", "Senast klar"],
        rows=[
            ["Äldreomsorg Östra", 12, 75.5, date(2026, 10, 1)],
            ['Skola; Ö-vik "Centrum"\nhus 2', 3, 100.0, None],
        ],
        notes=["Andel klara: andelen anställda som klarat alla krav."],
    )


# --- neutralise --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*DANGEROUS, "\0=1", "-", "=", "@"])
def test_neutralise_prefixes_formula_triggers(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", [" =1+1", "\u00a0+1", "\u200b@x", " \t -1"])
def test_neutralise_looks_through_leading_blanks(value: str) -> None:
    # A cleanup step that trims the blank would leave a live formula.
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["", "Anna", "1+1", "Ann-Britt", "'=1", "12,5", " Anna", "#"])
def test_neutralise_leaves_harmless_text(value: str) -> None:
    assert neutralise(value) == value


@given(st.text())
def test_neutralised_text_never_starts_a_formula(value: str) -> None:
    result = neutralise(value)
    assert result[:1] not in set("=+-@\t\r\n\0")
    assert result in {value, "'" + value}
    assert neutralise(result) == result


# --- CSV ---------------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_semicolons_and_crlf() -> None:
    data = to_csv(_coverage())

    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\xef\xbb\xbf") == 1
    text = data.decode("utf-8-sig")
    assert text.startswith("Enhet;Anställda;Andel klara (%);Senast klar\r\n")
    assert "Äldreomsorg Östra;12;75,5;2026-10-01\r\n" in text
    assert text.endswith("\r\n")


def test_csv_round_trips_semicolons_quotes_and_newlines() -> None:
    rows = _csv_rows(to_csv(_coverage()))

    assert rows == [
        ["Enhet", "Anställda", "Andel klara (%)", "Senast klar"],
        ["Äldreomsorg Östra", "12", "75,5", "2026-10-01"],
        ['Skola; Ö-vik "Centrum"\nhus 2', "3", "100,0", ""],
    ]


def test_csv_leaves_out_title_and_notes() -> None:
    text = to_csv(_coverage()).decode("utf-8-sig")

    assert "Täckning per enhet" not in text
    assert "Andel klara:" not in text


@pytest.mark.parametrize("value", [*DANGEROUS, " =1+1"])
def test_csv_neutralises_dangerous_text(value: str) -> None:
    sheet = Sheet("Lista", [value], [[value]])

    rows = _csv_rows(to_csv(sheet))

    assert rows == [["'" + value], ["'" + value]]


def test_csv_numbers_stay_numbers_even_when_negative() -> None:
    sheet = Sheet(
        "Tal", ["Heltal", "Decimal", "Decimal", "Text"], [[-3, -12.5, Decimal("-0.50"), "-3"]]
    )

    assert _csv_rows(to_csv(sheet))[1] == ["-3", "-12,5", "-0,50", "'-3"]


def test_csv_writes_datetimes_to_the_minute() -> None:
    sheet = Sheet("Tider", ["Skickad"], [[datetime(2026, 11, 24, 14, 5, 59)]])

    assert _csv_rows(to_csv(sheet))[1] == ["2026-11-24 14:05"]


def test_csv_drops_control_characters_xlsx_cannot_hold() -> None:
    sheet = Sheet("Lista", ["Namn"], [["An\x01na"], ["\x01=1+1"]])

    assert _csv_rows(to_csv(sheet))[1:] == [["Anna"], ["'=1+1"]]


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs", "Cc"])
        | st.sampled_from([";", '"', "\r", "\n", "\t", "=", " "])
    )
)
def test_csv_round_trips_any_text(value: str) -> None:
    rows = _csv_rows(to_csv(Sheet("Lista", ["Namn"], [[value]])))

    assert rows[1] == [neutralise(value)]


# --- XLSX --------------------------------------------------------------------------------


def test_xlsx_has_a_sheet_per_view_and_the_definitions_last() -> None:
    other = Sheet("Kurser", ["Kurs"], [["Våld i nära relationer"]])

    workbook = _workbook(
        to_xlsx([_coverage(), other], definitions=["Klar: godkänt intyg.", "Krav: regel."])
    )

    assert workbook.sheetnames == ["Täckning per enhet", "Kurser", "Definitioner"]
    definitions = workbook["Definitioner"]
    assert [row[0] for row in definitions.iter_rows(values_only=True)] == [
        "Klar: godkänt intyg.",
        "Krav: regel.",
    ]


def test_xlsx_without_definitions_has_no_definitions_sheet() -> None:
    assert _workbook(to_xlsx([_coverage()])).sheetnames == ["Täckning per enhet"]


def test_xlsx_definitions_title_can_be_translated() -> None:
    data = to_xlsx([_coverage()], definitions=["x"], definitions_title="Definitions")

    assert _workbook(data).sheetnames[-1] == "Definitions"


def test_xlsx_keeps_values_typed_and_swedish_text_intact() -> None:
    sheet = _workbook(to_xlsx([_coverage()]))["Täckning per enhet"]

    assert [cell.value for cell in sheet[1]] == [
        "Enhet",
        "Anställda",
        "Andel klara (%)",
        "Senast klar",
    ]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    name, employees, share, finished = sheet[2]
    assert (name.value, name.data_type) == ("Äldreomsorg Östra", "s")
    assert (employees.value, employees.data_type) == (12, "n")
    assert (share.value, share.data_type) == (75.5, "n")
    assert finished.is_date
    assert finished.value == datetime(2026, 10, 1)
    assert finished.number_format == "yyyy-mm-dd"
    assert sheet["A3"].value == 'Skola; Ö-vik "Centrum"\nhus 2'
    assert sheet["D3"].value is None


def test_xlsx_writes_notes_below_the_table() -> None:
    sheet = _workbook(to_xlsx([_coverage()]))["Täckning per enhet"]

    assert sheet["A4"].value is None
    assert sheet["A5"].value == "Andel klara: andelen anställda som klarat alla krav."


def test_xlsx_decimal_and_negative_numbers_stay_numbers() -> None:
    data = to_xlsx([Sheet("Tal", ["a", "b", "c"], [[-3, -12.5, Decimal("0.25")]])])

    cells = _workbook(data)["Tal"][2]
    assert [(cell.value, cell.data_type) for cell in cells] == [
        (-3, "n"),
        (-12.5, "n"),
        (0.25, "n"),
    ]


def test_xlsx_datetimes_are_dates_with_time() -> None:
    data = to_xlsx([Sheet("Tider", ["Skickad"], [[datetime(2026, 11, 24, 14, 5)]])])

    cell = _workbook(data)["Tider"]["A2"]
    assert cell.is_date
    assert cell.value == datetime(2026, 11, 24, 14, 5)


def test_xlsx_text_is_never_a_formula_or_error() -> None:
    texts = [*DANGEROUS, " =1+1", "\0=1", "\x01=1", "#N/A", "#DIV/0!"]
    sheet = Sheet("Farligt", ['=HYPERLINK("http://x")', *texts[1:]], [texts])

    workbook = _workbook(to_xlsx([sheet], definitions=["=1+1", "-ingen"], title="Farligt"))

    for worksheet in workbook.worksheets:
        for row in worksheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    assert cell.data_type == "s", cell.coordinate
    values = [cell.value for cell in workbook["Farligt"][2]]
    # XLSX breaks lines in a cell with LF only.
    expected = ["'" + text.replace("\r", "\n") for text in [*DANGEROUS, " =1+1"]]
    assert values[: len(DANGEROUS) + 1] == expected
    assert values[len(DANGEROUS) + 1 :] == ["'=1", "'=1", "#N/A", "#DIV/0!"]
    assert workbook["Farligt"]["A1"].value == '\'=HYPERLINK("http://x")'
    assert [row[0] for row in workbook["Definitioner"].iter_rows(values_only=True)] == [
        "'=1+1",
        "'-ingen",
    ]


def test_xlsx_line_breaks_in_a_cell_are_lf() -> None:
    data = to_xlsx([Sheet("Rader", ["Adress"], [["Storgatan 1\r\n123 45 Umeå"]])])

    assert _workbook(data)["Rader"]["A2"].value == "Storgatan 1\n123 45 Umeå"


def test_xlsx_package_holds_no_formula_at_all() -> None:
    data = to_xlsx([Sheet("Farligt", ["x"], [[text] for text in DANGEROUS])])

    with zipfile.ZipFile(io.BytesIO(data)) as package:
        sheet_xml = package.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml


def test_xlsx_sheet_titles_are_sanitised_and_unique() -> None:
    sheets = [
        Sheet("Täckning [per] enhet: 2026/11*?", ["a"], []),
        Sheet("Täckning [per] enhet: 2026/11*?", ["a"], []),
        Sheet("Definitioner", ["a"], []),
        Sheet("", ["a"], []),
        Sheet("En mycket lång titel som inte får plats i Excel", ["a"], []),
        Sheet("en mycket lång titel som inte får plats i excel, igen", ["a"], []),
        Sheet("'History'", ["a"], []),
    ]

    names = _workbook(to_xlsx(sheets, definitions=["x"])).sheetnames

    assert names == [
        "Täckning -per- enhet- 2026-11--",
        "Täckning -per- enhet- 2026- (2)",
        "Definitioner",
        "Blad",
        "En mycket lång titel som inte f",
        "en mycket lång titel som in (2)",
        "History (2)",
        "Definitioner (2)",
    ]
    assert all(len(name) <= 31 for name in names)
    assert len({name.casefold() for name in names}) == len(names)


def test_sheet_titles_never_start_or_end_with_an_apostrophe() -> None:
    assert sheet_titles(["'Citat'", "x" * 30 + "'", "''"]) == ["Citat", "x" * 30, "Blad"]


def test_xlsx_column_widths_follow_content_within_bounds() -> None:
    sheet = Sheet("Bredd", ["Id", "Namn", "Kommentar"], [[1, "Anna Andersson", "x" * 500]])

    columns = _workbook(to_xlsx([sheet]))["Bredd"].column_dimensions

    assert columns["A"].width == 8
    assert columns["B"].width == len("Anna Andersson") + 2
    assert columns["C"].width == 60


def test_xlsx_document_properties() -> None:
    workbook = _workbook(to_xlsx([_coverage()], generated=GENERATED))

    assert workbook.properties.title == "Täckning per enhet"
    assert workbook.properties.creator == CREATOR
    assert workbook.properties.created == GENERATED
    assert workbook.properties.modified == GENERATED


def test_xlsx_is_deterministic_for_the_same_input() -> None:
    first = to_xlsx([_coverage()], definitions=["Klar: godkänt."], generated=GENERATED)
    second = to_xlsx([_coverage()], definitions=["Klar: godkänt."], generated=GENERATED)

    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as package:
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_xlsx_needs_something_to_write() -> None:
    with pytest.raises(ValueError):
        to_xlsx([])


# --- Values the exporter refuses -----------------------------------------------------------


def test_rows_must_match_the_header() -> None:
    with pytest.raises(ValueError, match="row 2 has 1 cells"):
        Sheet("Lista", ["a", "b"], [["x", "y"], ["x"]])


@pytest.mark.parametrize(
    "value", [True, float("nan"), float("inf"), datetime(2026, 1, 1).astimezone(), object()]
)
def test_unexportable_values_are_refused(value: object) -> None:
    sheet = Sheet("Lista", ["a"], [[value]])

    with pytest.raises((TypeError, ValueError)):
        to_csv(sheet)
    with pytest.raises((TypeError, ValueError)):
        to_xlsx([sheet])


# --- File names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "extension", "expected"),
    [
        ("täckning", "csv", "tackning-2026-11-24.csv"),
        ("Täckning per enhet", ".XLSX", "tackning-per-enhet-2026-11-24.xlsx"),
        ("Åsa Öberg / Ängelholm", "csv", "asa-oberg-angelholm-2026-11-24.csv"),
        ("Crème brûlée", "csv", "creme-brulee-2026-11-24.csv"),
        ("../../etc/passwd", "csv", "etc-passwd-2026-11-24.csv"),
        ("   ", "csv", "export-2026-11-24.csv"),
    ],
)
def test_export_filename(stem: str, extension: str, expected: str) -> None:
    name = export_filename(stem, date(2026, 11, 24), extension)

    assert name == expected
    assert name.isascii()


@pytest.mark.parametrize("extension", ["", "c/v", "xlsx\r\n", "çsv"])
def test_export_filename_refuses_odd_extensions(extension: str) -> None:
    with pytest.raises(ValueError):
        export_filename("tackning", date(2026, 11, 24), extension)
