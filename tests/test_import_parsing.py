"""Reading an HR-system export: which files are accepted, what each row becomes, and what is
said about the rows and files that cannot be used. No database is involved."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime

import openpyxl
import pytest
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from training_tracker.models.enums import Sector
from training_tracker.services.imports.parsing import (
    ImportRow,
    ParsedFile,
    RowProblem,
    parse_employee_file,
)
from training_tracker.services.imports.personnummer import (
    is_personnummer_header,
    looks_like_personnummer,
)
from training_tracker.services.imports.table import ImportFileError

HEADER = "Förnamn;Efternamn;E-post"
FULL_HEADER = (
    "Förnamn;Efternamn;E-post;Kommun;Enhet;Sektor;Anställningsdatum;Anställningsnummer;"
    "Chefens e-post;Slutdatum"
)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def _app_context(app: Flask) -> Iterator[None]:
    """The messages are translated, so the parser runs inside an app context."""
    with app.app_context():
        yield


def csv_file(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def parse(*lines: str, **kwargs: int) -> ParsedFile:
    return parse_employee_file(csv_file(*lines), "anstallda.csv", **kwargs)


def xlsx_file(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_error(data: bytes, **kwargs: int) -> str:
    with pytest.raises(ImportFileError) as raised:
        parse_employee_file(data, **kwargs)
    return str(raised.value)


def only_problem(parsed: ParsedFile) -> RowProblem:
    assert len(parsed.problems) == 1, parsed.problems
    return parsed.problems[0]


# --- What a good file becomes ----------------------------------------------------------------


def test_a_row_with_swedish_headers_gives_every_field():
    parsed = parse(
        FULL_HEADER,
        "Åsa;Öberg; Asa.Oberg@Sigtuna.SE ;Sigtuna;Hemtjänst   Norra;Socialtjänst;2021-03-01;"
        "A-1001;Chef.Chefsson@sigtuna.se;2025-12-31",
    )

    assert parsed.rows == [
        ImportRow(
            line=2,
            first_name="Åsa",
            last_name="Öberg",
            email="asa.oberg@sigtuna.se",
            municipality="Sigtuna",
            unit="Hemtjänst Norra",
            sector=Sector.SOCIAL_SERVICES,
            hire_date=date(2021, 3, 1),
            employee_number="A-1001",
            manager_email="chef.chefsson@sigtuna.se",
            end_date=date(2025, 12, 31),
        )
    ]
    assert parsed.problems == [] and parsed.rejected_lines == set()
    assert parsed.total_rows == 1
    assert parsed.encoding == "utf-8" and parsed.delimiter == ";"
    assert parsed.columns["manager_email"] == "Chefens e-post"
    assert parsed.ignored_columns == []


def test_english_headers_are_read_too():
    parsed = parse(
        "First name,Last name,Email,Municipality,Unit,Sector,Hire date,Employee number,"
        "Manager email,End date",
        "Grace,Hopper,grace@knivsta.se,0330,IT,other,2020-01-02,77,boss@knivsta.se,",
    )

    (row,) = parsed.rows
    assert (row.first_name, row.last_name, row.email) == ("Grace", "Hopper", "grace@knivsta.se")
    assert row.municipality == "0330"  # a kommunkod is kept as written
    assert row.sector == Sector.OTHER
    assert row.employee_number == "77"
    assert row.end_date is None
    assert parsed.delimiter == ","


def test_headers_may_come_in_any_case_and_order_with_a_trailing_colon_or_star():
    parsed = parse(
        " E-POST* ;efternamn:;FÖRNAMN;Anst.nr:;Kommentar",
        "Anna@Sigtuna.se;Berg;Anna;17;glad",
    )
    assert parsed.columns == {
        "email": "E-POST*",
        "last_name": "efternamn:",
        "first_name": "FÖRNAMN",
        "employee_number": "Anst.nr:",
    }
    assert parsed.ignored_columns == ["Kommentar"]
    (row,) = parsed.rows
    assert (row.first_name, row.last_name, row.email) == ("Anna", "Berg", "anna@sigtuna.se")
    assert row.employee_number == "17"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("fornamn", "first_name"),
        ("Given name", "first_name"),
        ("Surname", "last_name"),
        ("Family name", "last_name"),
        ("E-postadress", "email"),
        ("Mejl", "email"),
        ("E-mail", "email"),
        ("Email address", "email"),
        ("Arbetsplats", "unit"),
        ("Department", "unit"),
        ("Verksamhet", "sector"),
        ("Startdatum", "hire_date"),
        ("Employment date", "hire_date"),
        ("Personalnummer", "employee_number"),
        ("Employee ID", "employee_number"),
        ("Chef", "manager_email"),
        ("Manager e-mail", "manager_email"),
        ("Avslutsdatum", "end_date"),
        ("Termination date", "end_date"),
    ],
)
def test_header_synonyms(header: str, field: str):
    required = {"first_name": "Förnamn", "last_name": "Efternamn", "email": "E-post"}
    required[field] = header
    parsed = parse(";".join(required.values()), "Anna;Berg;anna@sigtuna.se")
    assert parsed.columns[field] == header


def test_values_may_be_quoted_and_hold_the_delimiter():
    parsed = parse(
        "Förnamn,Efternamn,E-post,Enhet",
        '"Anna","Berg, von","anna@sigtuna.se","Skola ""Norr"", klass 1"',
    )
    (row,) = parsed.rows
    assert row.last_name == "Berg, von"
    assert row.unit == 'Skola "Norr", klass 1'


def test_the_delimiter_is_the_one_the_header_line_has_more_of():
    assert parse("Förnamn;Efternamn;E-post;Enhet, avdelning", "A;B;a@b.se;x, y").delimiter == ";"
    assert parse("Förnamn,Efternamn,E-post", "Anna,Berg,anna@sigtuna.se").delimiter == ","


def test_missing_optional_cells_at_the_end_of_a_row_are_empty():
    parsed = parse(FULL_HEADER, "Anna;Berg;anna@sigtuna.se")
    (row,) = parsed.rows
    assert row.municipality is None and row.unit is None and row.sector is None
    assert row.hire_date is None and row.employee_number is None and row.manager_email is None


def test_blank_lines_are_skipped_and_not_counted_but_line_numbers_stay_true():
    parsed = parse(HEADER, "", "Anna;Berg;anna@sigtuna.se", ";;", "   ", "Bo;Ek;inte-en-adress")
    assert parsed.total_rows == 2
    assert [row.line for row in parsed.rows] == [3]
    assert parsed.rejected_lines == {6}


def test_windows_line_endings():
    data = csv_file(HEADER, "Anna;Berg;anna@sigtuna.se", "Bo;Ek;bo", newline="\r\n")
    parsed = parse_employee_file(data)
    assert [row.line for row in parsed.rows] == [2]
    assert only_problem(parsed).line == 3


def test_a_quoted_value_over_several_lines_keeps_the_line_numbers_right():
    parsed = parse(
        "Förnamn;Efternamn;E-post;Enhet",
        'Anna;Berg;anna@sigtuna.se;"Hemtjänst',
        "Norra",
        'Östra"',
        "Bo;Ek;inte-en-adress;Skolan",
    )
    (row,) = parsed.rows
    assert row.line == 2 and row.unit == "Hemtjänst Norra Östra"
    assert only_problem(parsed).line == 5


# --- Encodings and formats -------------------------------------------------------------------


def test_utf8_with_a_byte_order_mark_as_excel_saves_it():
    data = codecs.BOM_UTF8 + csv_file(HEADER, "Åsa;Öberg;asa@sigtuna.se")
    parsed = parse_employee_file(data)
    assert parsed.encoding == "utf-8-sig"
    assert parsed.columns["first_name"] == "Förnamn"  # the BOM is not part of the header
    assert parsed.rows[0].first_name == "Åsa"


def test_windows_1252_is_recognised_without_asking():
    data = csv_file(HEADER, "Åsa;Öberg;asa.oberg@sigtuna.se", encoding="cp1252")
    parsed = parse_employee_file(data)
    assert parsed.encoding == "cp1252"
    assert (parsed.rows[0].first_name, parsed.rows[0].last_name) == ("Åsa", "Öberg")


def test_an_xlsx_file_is_read_from_its_first_sheet_with_real_dates_and_numbers():
    data = xlsx_file(
        [
            ["Förnamn", "Efternamn", "E-post", "Anställningsdatum", "Anställningsnummer", "Kommun"],
            ["Åsa", "Öberg", "Asa@Sigtuna.se", date(2021, 3, 1), 1234, "Sigtuna"],
            ["Bo", "Ek", "bo@sigtuna.se", datetime(2022, 1, 2), 5678.0, 191],
            [None, None, None, None, None, None],
            ["Cecilia", "Lund", "cecilia@sigtuna.se", "2023-02-30", "12", None],
        ]
    )

    parsed = parse_employee_file(data, "export.xlsx")

    assert parsed.encoding == "xlsx" and parsed.delimiter is None
    assert [(row.line, row.hire_date, row.employee_number) for row in parsed.rows] == [
        (2, date(2021, 3, 1), "1234"),
        (3, date(2022, 1, 2), "5678"),
    ]
    assert parsed.rows[1].municipality == "191"
    assert only_problem(parsed) == RowProblem(
        line=5,
        column="Anställningsdatum",
        value="2023-02-30",
        message="är inte ett datum (ÅÅÅÅ-MM-DD)",
    )
    assert parsed.total_rows == 3


def test_xlsx_is_recognised_by_its_content_not_its_name():
    data = xlsx_file([["First name", "Last name", "E-mail"], ["Ada", "L", "ada@sigtuna.se"]])
    assert parse_employee_file(data, "anstallda.csv").encoding == "xlsx"


def test_an_old_xls_file_is_refused_with_advice():
    message = file_error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), filename="a.xls")
    assert ".xls" in message and ".xlsx eller CSV" in message


def test_a_password_protected_xlsx_is_refused_with_advice():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le")
    assert "lösenord" in file_error(data)


# --- Files that cannot be used ---------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \r\n\t \n", codecs.BOM_UTF8, b";;;\n;;\n"])
def test_an_empty_file(data: bytes):
    assert file_error(data) == "Filen är tom."


def test_an_empty_xlsx_file():
    assert file_error(xlsx_file([])) == "Filen är tom."


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"F\x00\xf6\x00r\x00n\x00a\x00m\x00n\x00",  # UTF-16
        b"Namn;E-post\x01\x02\x03\n",
        b"PK\x03\x04 not really a zip",
    ],
)
def test_a_file_that_is_not_text_is_not_a_csv_or_xlsx_file(data: bytes):
    assert file_error(data) == "Filen är inte en CSV- eller XLSX-fil."


def test_a_zip_that_is_not_a_workbook_is_not_an_xlsx_file():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert file_error(buffer.getvalue()) == "Filen är inte en CSV- eller XLSX-fil."


def test_missing_columns_are_named_along_with_the_columns_found():
    message = file_error(csv_file("Namn;Mejl;Personnummer", "Anna Berg;anna@sigtuna.se;x"))
    assert "förnamn, efternamn" in message
    assert "”Namn”, ”Mejl”, ”Personnummer”" in message
    assert "e-post," not in message  # "Mejl" is the e-mail column


def test_a_column_given_twice_is_refused():
    message = file_error(csv_file("Förnamn;Efternamn;E-post;Mejl", "A;B;a@sigtuna.se;b@sigtuna.se"))
    assert "e-post" in message and "”E-post”" in message and "”Mejl”" in message


@pytest.mark.parametrize("data", [csv_file(HEADER), csv_file(HEADER, "", ";;")])
def test_a_header_without_employees(data: bytes):
    assert file_error(data) == "Filen har inga anställda, bara en rad med rubriker."


def test_more_rows_than_allowed():
    lines = [HEADER] + [f"A;B;a{n}@sigtuna.se" for n in range(4)]
    assert parse(*lines[:4], max_rows=3).total_rows == 3
    assert file_error(csv_file(*lines), max_rows=3) == (
        "Filen har fler än 3 anställda. Dela upp den i flera filer."
    )


@pytest.mark.parametrize("length", [10_001, 200_000])
def test_a_huge_value_names_its_line(length: int):
    message = file_error(csv_file(HEADER, "A;B;a@sigtuna.se", "A;" + "x" * length + ";c"))
    assert message.startswith("Rad 3 har ett värde som är längre än 10000 tecken.")


def test_an_unclosed_quote_swallowing_the_rest_of_the_file_names_its_line():
    lines = [HEADER, 'Anna;"Berg;anna@sigtuna.se'] + [f"A;B;a{n}@sigtuna.se" for n in range(600)]
    assert file_error(csv_file(*lines)).startswith("Rad 2 har ett värde")


def test_mixed_encodings_are_refused():
    data = csv_file(HEADER, "Åsa;Öberg;asa@sigtuna.se") + "Åke;Öst;ake@sigtuna.se\n".encode(
        "cp1252"
    )
    assert "blandar teckenkodningar" in file_error(data)


def test_a_value_too_long_in_an_xlsx_cell_names_its_row():
    data = xlsx_file([["Förnamn", "Efternamn", "E-post"], ["A", "x" * 10_001, "a@sigtuna.se"]])
    assert file_error(data).startswith("Rad 2 ")


# --- Rows that cannot be used ----------------------------------------------------------------


MISSING = "saknas"
NOT_AN_EMAIL = "är inte en giltig e-postadress"
NOT_A_DATE = "är inte ett datum (ÅÅÅÅ-MM-DD)"


def too_long(limit: int) -> str:
    return f"är för långt (högst {limit} tecken)"


@pytest.mark.parametrize(
    ("cells", "column", "value", "message"),
    [
        (";Berg;anna@sigtuna.se", "Förnamn", "", MISSING),
        ("Anna;  ;anna@sigtuna.se", "Efternamn", "", MISSING),
        ("Anna;Berg;", "E-post", "", MISSING),
        ("A" * 101 + ";Berg;a@b.se", "Förnamn", "A" * 99 + "…", too_long(100)),
        ("Anna;" + "B" * 101 + ";a@b.se", "Efternamn", "B" * 99 + "…", too_long(100)),
        ("Anna;Berg;anna.sigtuna.se", "E-post", "anna.sigtuna.se", NOT_AN_EMAIL),
        ("Anna;Berg;anna@@sigtuna.se", "E-post", "anna@@sigtuna.se", NOT_AN_EMAIL),
        ("Anna;Berg;anna berg@sigtuna.se", "E-post", "anna berg@sigtuna.se", NOT_AN_EMAIL),
        ("Anna;Berg;a@b.se;;;;;;chef@", "Chefens e-post", "chef@", NOT_AN_EMAIL),
        ("Anna;Berg;a@b.se;;;;2024-02-30", "Anställningsdatum", "2024-02-30", NOT_A_DATE),
        ("Anna;Berg;a@b.se;;;;12/03/2024", "Anställningsdatum", "12/03/2024", NOT_A_DATE),
        ("Anna;Berg;a@b.se;;;;;;;20241231", "Slutdatum", "20241231", NOT_A_DATE),
        (
            "Anna;Berg;a@b.se;;;;2024-05-01;;;2024-04-30",
            "Slutdatum",
            "2024-04-30",
            "slutdatum är före anställningsdatum",
        ),
        ("Anna;Berg;a@b.se;;;;;" + "9" * 51, "Anställningsnummer", "9" * 51, too_long(50)),
        ("Anna;Berg;a@b.se;;" + "e" * 201, "Enhet", "e" * 99 + "…", too_long(200)),
        ("Anna;Berg;a@b.se;" + "k" * 101, "Kommun", "k" * 99 + "…", too_long(100)),
        ("Anna;Berg;a@b.se;;;;;;;;extra;;mer", None, "extra; mer", "fler värden än kolumner"),
    ],
)
def test_a_row_problem_names_line_column_value_and_what_is_wrong(
    cells: str, column: str | None, value: str, message: str
):
    parsed = parse(FULL_HEADER, "Bo;Ek;bo@sigtuna.se", cells)
    assert only_problem(parsed) == RowProblem(line=3, column=column, value=value, message=message)
    assert [row.line for row in parsed.rows] == [2]
    assert parsed.rejected_lines == {3} and parsed.total_rows == 2


def test_empty_cells_beyond_the_header_are_fine():
    assert parse(HEADER, "Anna;Berg;anna@sigtuna.se;;;").rows


def test_an_unknown_sector_lists_the_known_ones():
    problem = only_problem(parse("Förnamn;Efternamn;E-post;Sektor", "A;B;a@b.se;Gatukontoret"))
    assert problem.column == "Sektor" and problem.value == "Gatukontoret"
    assert problem.message == (
        "är inte en känd sektor; välj en av: Socialtjänst, Skola och förskola, Fritid, "
        "Hälso- och sjukvård / omsorg, Övrigt"
    )


@pytest.mark.parametrize(
    ("written", "sector"),
    [
        ("Socialtjänst", Sector.SOCIAL_SERVICES),
        ("socialtjanst", Sector.SOCIAL_SERVICES),
        ("Social services", Sector.SOCIAL_SERVICES),
        ("Skola och förskola", Sector.SCHOOL),
        ("skola", Sector.SCHOOL),
        ("FÖRSKOLA", Sector.SCHOOL),
        ("school", Sector.SCHOOL),
        ("skola_forskola", Sector.SCHOOL),
        ("Fritid", Sector.LEISURE),
        ("leisure", Sector.LEISURE),
        ("Hälso- och sjukvård / omsorg", Sector.HEALTH_AND_CARE),
        ("hälso- och sjukvård", Sector.HEALTH_AND_CARE),
        ("omsorg", Sector.HEALTH_AND_CARE),
        ("Vård och omsorg", Sector.HEALTH_AND_CARE),
        ("health care", Sector.HEALTH_AND_CARE),
        ("care", Sector.HEALTH_AND_CARE),
        ("halso_sjukvard_omsorg", Sector.HEALTH_AND_CARE),
        ("Övrigt", Sector.OTHER),
        ("other", Sector.OTHER),
    ],
)
def test_sectors_are_understood_in_swedish_english_and_as_stored(written: str, sector: Sector):
    parsed = parse("Förnamn;Efternamn;E-post;Sektor", f"A;B;a@b.se;{written}")
    assert parsed.rows[0].sector == sector


def test_every_problem_of_a_row_is_reported_not_only_the_first():
    parsed = parse(FULL_HEADER, ";Berg;nej;;;Gatukontoret;1/1/2020;;chef;")
    assert [(p.line, p.column) for p in parsed.problems] == [
        (2, "Förnamn"),
        (2, "E-post"),
        (2, "Sektor"),
        (2, "Anställningsdatum"),
        (2, "Chefens e-post"),
    ]
    assert parsed.rows == [] and parsed.rejected_lines == {2}


# --- The same person twice -------------------------------------------------------------------


def test_the_same_email_twice_rejects_the_later_rows():
    parsed = parse(
        HEADER,
        "Anna;Berg;anna@sigtuna.se",
        "Bo;Ek;bo@sigtuna.se",
        "Anna;Berg;ANNA@Sigtuna.se",
        "Anna;Bergström;anna@sigtuna.se",
    )
    assert [row.line for row in parsed.rows] == [2, 3]
    assert parsed.problems == [
        RowProblem(4, "E-post", "ANNA@Sigtuna.se", "samma e-post som rad 2"),
        RowProblem(5, "E-post", "anna@sigtuna.se", "samma e-post som rad 2"),
    ]


def test_the_same_employee_number_twice_in_a_municipality_rejects_the_later_row():
    parsed = parse(
        "Förnamn;Efternamn;E-post;Kommun;Anställningsnummer",
        "Anna;Berg;anna@sigtuna.se;Sigtuna;1001",
        "Bo;Ek;bo@knivsta.se;Knivsta;1001",
        "Cilla;Al;cilla@sigtuna.se;sigtuna;1001",
    )
    assert [row.line for row in parsed.rows] == [2, 3]
    assert only_problem(parsed) == RowProblem(
        4, "Anställningsnummer", "1001", "samma anställningsnummer som rad 2"
    )


# --- Personnummer ----------------------------------------------------------------------------


def test_a_personnummer_column_is_never_read():
    parsed = parse(
        "Förnamn;Personnummer;Efternamn;E-post;SSN",
        "Anna;19850101-1234;Berg;anna@sigtuna.se;850101-1234",
    )
    assert parsed.ignored_columns == ["Personnummer", "SSN"]
    assert "personnummer" not in str(parsed.columns).casefold()
    assert "1234" not in repr(parsed)


@pytest.mark.parametrize(
    "header",
    ["Personnummer", "personnr", "PNR", "Social security number", "Personal identity number",
     "Personnummer (ÅÅÅÅMMDD-XXXX)", "Samordningsnummer"],
)  # fmt: skip
def test_personnummer_headers(header: str):
    assert is_personnummer_header(header)
    assert header in parse(f"{HEADER};{header}", "A;B;a@b.se;x").ignored_columns


@pytest.mark.parametrize(
    "number", ["850101-1234", "8501011234", "850101+1234", "19850101-1234", "198501011234",
               "850161-1234"],
)  # fmt: skip
def test_an_employee_number_shaped_like_a_personnummer_rejects_the_row(number: str):
    assert looks_like_personnummer(number)
    problem = only_problem(parse("Förnamn;Efternamn;E-post;Anst.nr", f"A;B;a@b.se;{number}"))
    assert problem.column == "Anst.nr"
    assert "personnummer sparas inte" in problem.message
    assert "anställningsnummer" in problem.message
    assert not any(char.isdigit() for char in problem.value)  # not even the problem keeps it


@pytest.mark.parametrize("number", ["1001", "A-1001", "851301-1234", "1234567890", "0000000000"])
def test_employee_numbers_that_are_not_personnummer_are_kept(number: str):
    assert not looks_like_personnummer(number)
    parsed = parse("Förnamn;Efternamn;E-post;Anst.nr", f"A;B;a@b.se;{number}")
    assert parsed.rows[0].employee_number == number


def test_a_personnummer_in_a_problem_value_is_masked():
    parsed = parse(HEADER, "Anna;Berg;anna@sigtuna.se;850101-1234")
    assert only_problem(parsed).value == "xxxxxx-xxxx"


# --- Properties ------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.tuples(
            st.sampled_from(
                [b"PK\x03\x04", codecs.BOM_UTF8, b"\xd0\xcf\x11\xe0", csv_file(HEADER)]
            ),
            st.binary(max_size=600),
        ).map(b"".join),
    )
)
def test_any_bytes_give_a_parsed_file_or_a_file_error(app: Flask, data: bytes):
    try:
        parsed = parse_employee_file(data)
    except ImportFileError as error:
        assert str(error)
    else:
        assert len(parsed.rows) + len(parsed.rejected_lines) == parsed.total_rows


cell_text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from(';,"\n\r\t @.-0123456789'),
    ),
    max_size=30,
)


@PROPERTY_SETTINGS
@given(rows=st.lists(st.lists(cell_text, max_size=12), max_size=20))
def test_any_rows_under_a_good_header_are_each_accepted_or_rejected_with_reasons(
    app: Flask, rows: list[list[str]]
):
    text = "\n".join([FULL_HEADER, *(";".join(cells) for cells in rows)])
    try:
        parsed = parse_employee_file(text.encode())
    except ImportFileError as error:  # no rows at all, or an unclosed quote
        assert str(error)
        return
    assert len(parsed.rows) + len(parsed.rejected_lines) == parsed.total_rows
    assert {problem.line for problem in parsed.problems} == parsed.rejected_lines
    assert all(problem.message for problem in parsed.problems)
    assert not {row.line for row in parsed.rows} & parsed.rejected_lines
    for row in parsed.rows:
        assert row.email == row.email.lower() and row.first_name and row.last_name


ATEXT = "abcXYZ0189_!#$%&'*+-/=?^`{|}~"


@PROPERTY_SETTINGS
@given(
    local=st.text(alphabet=ATEXT + '.@ "<>()[]\\åÉ,;', min_size=1, max_size=120),
    domain=st.sampled_from(
        [
            "sigtuna.se",
            "Sigtuna.SE",
            "xn--rebro-jua.se",
            "örebro.se",
            "kommun.test",
            "a-b.c-d.se",
            "-ab.se",
            "localhost",
            "se",
            ("a" * 60 + ".") * 3 + "se",
            "x" * 64 + ".se",
        ]
    ),
)
def test_emails_are_judged_exactly_as_email_validator_judges_them(
    app: Flask, local: str, domain: str
):
    address = f"{local}@{domain}"
    try:
        expected = validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    primer = f"primer@{domain}"  # an earlier row at the same domain
    assume(expected != primer.lower())
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(
        [["Förnamn", "Efternamn", "E-post"], ["P", "P", primer], ["A", "B", address]]
    )

    parsed = parse_employee_file(buffer.getvalue().encode())

    emails = {row.line: row.email for row in parsed.rows}
    assert emails.get(3) == expected
