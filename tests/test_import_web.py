"""Importing an HR export in the web: upload, preview (nothing written), confirm (all in one
transaction), result; scope and bad files."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker.extensions import db
from training_tracker.models import (
    Employee,
    ImportBatch,
    ImportStatus,
    OutboxMessage,
    Role,
    Sector,
    Unit,
)

GOOD_AND_BAD = (
    "Förnamn;Efternamn;E-post;Enhet;Sektor;Anställningsdatum\n"
    "Lisa;Berg;lisa.berg@test.example;IFO Järfälla;Socialtjänst;2026-11-01\n"
    "Omar;Ali;inte-en-adress;IFO Järfälla;Socialtjänst;2026-11-01\n"
    "Karin;Ek;karin.ek@test.example;Nya förskolan;Skola och förskola;2026-10-15\n"
    "Per;Holm;per.holm@test.example;IFO Järfälla;Socialtjänst;2026-13-01\n"
).encode()


@pytest.fixture()
def hr(client):
    factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    person = factories.with_role(factories.employee(), Role.HR, municipality_name="Järfälla")
    client.sign_in(person)
    return person


def upload(client, content: bytes, filename: str = "personal.csv", **fields):
    data = {"file": (io.BytesIO(content), filename), **fields}
    return client.post_form("/employees/import/", data, content_type="multipart/form-data")


def batch_id_of(response) -> int:
    match = re.search(r"/employees/import/(\d+)$", response.location)
    assert match, response.location
    return int(match.group(1))


def test_the_preview_counts_and_explains_every_row_and_writes_nothing(client, hr):
    employees_before = count(Employee)
    response = upload(client, GOOD_AND_BAD)
    assert response.status_code == 302
    page = client.get(response.location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Förhandsgranskning: personal.csv" in html
    # Lisa is new; Karin's unit is unknown (rejected unless HR creates it); two bad rows.
    assert re.search(r"Nya anställda</dt><dd>1<", html)
    assert re.search(r"Avvisas</dt><dd>3<", html)
    assert "är inte en giltig e-postadress" in html
    assert "är inte ett datum (ÅÅÅÅ-MM-DD)" in html
    assert "okänd enhet" in html
    # The unknown unit is listed, and HR is offered to create it, with the file's sector.
    assert re.search(r"<th scope=\"row\" data-label=\"Enhet\">Nya förskolan</th>", html)
    assert re.search(r'<option selected value="skola_forskola">Skola och förskola</option>', html)
    assert "Skapa enheterna, med sektorn du väljer" in html
    assert count(Employee) == employees_before
    assert count(Unit, Unit.name == "Nya förskolan") == 0


def test_choosing_to_create_unknown_units_updates_the_preview(client, hr):
    batch_id = batch_id_of(upload(client, GOOD_AND_BAD))
    response = client.post_form(
        f"/employees/import/{batch_id}", {"unknown_units": "create", "refresh": "x"}
    )
    html = response.get_data(as_text=True)
    assert re.search(r"Nya anställda</dt><dd>2<", html)
    assert re.search(r"Avvisas</dt><dd>2<", html)
    assert count(Unit, Unit.name == "Nya förskolan") == 0


def test_confirming_writes_the_accepted_rows_and_queues_welcome_mails(client, hr):
    factories.rule(factories.synced_catalog()["nck-webbkurs-om-vald"], due_days=30)
    batch_id = batch_id_of(upload(client, GOOD_AND_BAD))
    response = client.post_form(
        f"/employees/import/{batch_id}",
        {"unknown_units": "create", "invite": "y", "submit": "x"},
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/employees/import/{batch_id}/result")
    result = client.get(response.location).get_data(as_text=True)
    assert "Importen är klar." in result
    assert re.search(r"Nya anställda</dt><dd>2<", result)
    lisa = db.session.scalars(
        sa.select(Employee).where(Employee.email == "lisa.berg@test.example")
    ).one()
    assert lisa.unit.name == "IFO Järfälla"
    karin_unit = db.session.scalars(sa.select(Unit).where(Unit.name == "Nya förskolan")).one()
    assert karin_unit.sector == Sector.SCHOOL
    assert count(Employee, Employee.email == "per.holm@test.example") == 0
    assert count(OutboxMessage, OutboxMessage.kind == "invitation") == 2
    assert db.session.get(ImportBatch, batch_id).status == ImportStatus.APPLIED


def test_a_second_confirmation_imports_nothing_more(client, hr):
    batch_id = batch_id_of(upload(client, GOOD_AND_BAD))
    form = {"unknown_units": "reject", "invite": "y", "submit": "x"}
    client.post_form(f"/employees/import/{batch_id}", form)
    employees = count(Employee)
    response = client.post_form(f"/employees/import/{batch_id}", form)
    assert response.status_code == 302
    assert count(Employee) == employees
    assert count(OutboxMessage) == 1


def test_holding_invitations_queues_no_mail(client, hr):
    batch_id = batch_id_of(upload(client, GOOD_AND_BAD))
    client.post_form(f"/employees/import/{batch_id}", {"unknown_units": "reject", "submit": "x"})
    assert count(Employee, Employee.email == "lisa.berg@test.example") == 1
    assert count(OutboxMessage) == 0


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "tom.csv", "Filen är tom."),
        (b"\x00\x01\x02PK binary\x00", "bild.png", "Filen är inte en CSV- eller XLSX-fil."),
        (b"namn;adress\nLisa;Storgatan 1\n", "fel.csv", "Filen saknar kolumner som krävs"),
        (
            b"F\xc3\xb6rnamn;Efternamn;E-post\n\xc5sa;\xd6berg;asa@test.example\n",
            "blandad.csv",
            "blandar teckenkodningar",
        ),
        ("förnamn;efternamn;e-post\n".encode(), "rubriker.csv", "bara en rad med rubriker"),
    ],
)
def test_an_unusable_file_is_refused_with_a_reason_and_not_stored(
    client, hr, content, filename, message
):
    response = upload(client, content, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(ImportBatch) == 0


def test_no_file_chosen_is_named(client, hr):
    response = client.post_form("/employees/import/", {}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Välj en fil." in response.get_data(as_text=True)


def test_a_file_over_the_size_limit_is_refused(app, client, hr, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100)
    response = upload(client, GOOD_AND_BAD)
    assert response.status_code == 422
    assert "Filen är för stor" in response.get_data(as_text=True)
    assert count(ImportBatch) == 0


def test_hr_cannot_import_into_another_municipality(client, hr):
    sigtuna = factories.municipality("Sigtuna")
    response = upload(client, GOOD_AND_BAD, municipality=str(sigtuna.id))
    assert response.status_code == 422
    assert count(ImportBatch) == 0


def test_rows_naming_another_municipality_are_rejected_for_hr(client, hr):
    factories.unit("Sigtuna", Sector.SCHOOL, "Skolan")
    content = (
        "förnamn;efternamn;e-post;kommun;enhet\nLisa;Berg;lisa.berg@test.example;Sigtuna;Skolan\n"
    ).encode()
    html = client.get(upload(client, content).location).get_data(as_text=True)
    assert "du kan inte importera personal till den kommunen" in html


def test_hr_of_another_municipality_cannot_open_the_preview(client, app):
    batch = factories.import_batch("Sigtuna")
    person = factories.with_role(factories.employee(), Role.HR, municipality_name="Järfälla")
    client.sign_in(person)
    assert client.get(f"/employees/import/{batch.id}").status_code == 404
    assert client.post_form(f"/employees/import/{batch.id}", {"submit": "x"}).status_code == 404
    assert client.get(f"/employees/import/{batch.id}/result").status_code == 404
    assert db.session.get(ImportBatch, batch.id).status == ImportStatus.PREVIEWED


def test_discarding_removes_the_file_and_changes_nothing(client, hr):
    batch_id = batch_id_of(upload(client, GOOD_AND_BAD))
    response = client.post_form(f"/employees/import/{batch_id}/discard")
    assert response.status_code == 302
    batch = db.session.get(ImportBatch, batch_id)
    assert batch.status == ImportStatus.DISCARDED
    assert batch.content == b""
    assert count(Employee, Employee.email == "lisa.berg@test.example") == 0
    follow = client.get(f"/employees/import/{batch_id}")
    assert follow.status_code == 302


def test_an_admin_imports_a_file_that_names_the_municipality_of_each_row(client):
    factories.unit("Sigtuna", Sector.SCHOOL, "Skolan")
    admin = factories.with_role(factories.employee(system_account=True), Role.ADMIN)
    client.sign_in(admin)
    content = (
        b"first name,last name,email,municipality,unit\n"
        b"Lisa,Berg,lisa.berg@test.example,Sigtuna,Skolan\n"
    )
    response = upload(client, content, municipality="")
    batch_id = batch_id_of(response)
    client.post_form(f"/employees/import/{batch_id}", {"unknown_units": "reject", "submit": "x"})
    lisa = db.session.scalars(
        sa.select(Employee).where(Employee.email == "lisa.berg@test.example")
    ).one()
    assert lisa.municipality.name == "Sigtuna"


# --- The preview says who is added, how the file was read, and lets HR pick new units' sector


def test_the_preview_lists_everyone_the_import_would_add(client, hr):
    page = client.get(upload(client, GOOD_AND_BAD).location).get_data(as_text=True)
    added = page.split('id="created-heading"')[1].split("</section>")[0]
    assert "Nya anställda (1)" in added
    assert "Lisa Berg" in added and "lisa.berg@test.example" in added
    assert "IFO Järfälla" in added and "1 november 2026" in added
    # Karin's unit is unknown and rejected by default: she is not among those added.
    assert "Karin" not in added


def test_a_person_in_a_unit_to_be_created_is_listed_with_the_new_unit(client, hr):
    batch_id = batch_id_of(upload(client, GOOD_AND_BAD))
    page = client.post_form(
        f"/employees/import/{batch_id}", {"unknown_units": "create", "refresh": "x"}
    ).get_data(as_text=True)
    added = page.split('id="created-heading"')[1].split("</section>")[0]
    assert re.search(r"Karin Ek.*Nya förskolan <span class=\"hint\">\(ny enhet\)", added, re.S)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            "förnamn;efternamn;e-post\nÅsa;Öberg;asa@test.example\n".encode("cp1252"),
            "Filen var sparad från Excel (Windows), med teckenkodningen Windows-1252. "
            "Kolumnerna skiljs åt med semikolon.",
        ),
        (
            "förnamn,efternamn,e-post\nÅsa,Öberg,asa@test.example\n".encode(),
            "Filen är sparad som UTF-8. Kolumnerna skiljs åt med komma.",
        ),
    ],
)
def test_the_preview_says_in_plain_words_how_the_file_was_read(client, hr, content, words):
    page = client.get(upload(client, content).location).get_data(as_text=True)
    assert words in page
    assert "Filen lästes som" not in page  # the codec's name, as it used to say


NO_SECTOR = (
    "förnamn;efternamn;e-post;enhet\n"
    "Lisa;Berg;lisa.berg@test.example;Fritidsgården\n"
    "Omar;Ali;omar.ali@test.example;Fritidsgården\n"
    "Karin;Ek;karin.ek@test.example;IFO Järfälla\n"
).encode()


def sector_field(html: str) -> str:
    match = re.search(r'<select class="sector-select" id="(sector-[0-9a-f-]+)"', html)
    assert match, "no sector choice on the page"
    return match.group(1)


def test_a_new_unit_gets_the_sector_hr_chooses_in_the_preview(client, hr):
    batch_id = batch_id_of(upload(client, NO_SECTOR))
    html = client.get(f"/employees/import/{batch_id}").get_data(as_text=True)
    name = sector_field(html)
    assert '<option selected value="">Välj sektor</option>' in html  # the file has none
    assert "Sektor för Fritidsgården (Järfälla)" in html
    response = client.post_form(
        f"/employees/import/{batch_id}",
        {"unknown_units": "create", name: Sector.LEISURE.value, "submit": "x"},
    )
    assert response.status_code == 302
    unit = db.session.scalars(sa.select(Unit).where(Unit.name == "Fritidsgården")).one()
    assert unit.sector == Sector.LEISURE
    assert count(Employee, Employee.unit_id == unit.id) == 2


def test_creating_a_unit_without_a_sector_is_refused_and_writes_nothing(client, hr):
    batch_id = batch_id_of(upload(client, NO_SECTOR))
    name = sector_field(client.get(f"/employees/import/{batch_id}").get_data(as_text=True))
    response = client.post_form(
        f"/employees/import/{batch_id}", {"unknown_units": "create", name: "", "submit": "x"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Välj en sektor för den nya enheten Fritidsgården." in html
    assert f'href="#{name}"' in html  # the error summary leads to the choice
    assert count(Unit, Unit.name == "Fritidsgården") == 0
    assert count(Employee, Employee.email == "karin.ek@test.example") == 0
    assert db.session.get(ImportBatch, batch_id).status == ImportStatus.PREVIEWED


def test_a_forged_sector_is_refused(client, hr):
    batch_id = batch_id_of(upload(client, NO_SECTOR))
    name = sector_field(client.get(f"/employees/import/{batch_id}").get_data(as_text=True))
    response = client.post_form(
        f"/employees/import/{batch_id}",
        {"unknown_units": "create", name: "<script>", "submit": "x"},
    )
    assert response.status_code == 422
    assert "Välj en av sektorerna i listan." in response.get_data(as_text=True)
    assert count(Unit, Unit.name == "Fritidsgården") == 0


# --- The result page hands the rejected rows back, with the reason per row


def confirm(client, batch_id: int, **fields) -> None:
    form = {"unknown_units": "reject", "submit": "x", **fields}
    response = client.post_form(f"/employees/import/{batch_id}", form)
    assert response.status_code == 302, response.get_data(as_text=True)


WITH_PERSONNUMMER = (
    "Personnummer;Förnamn;Efternamn;E-post;Enhet;Anställningsdatum\n"
    "19800101-1234;Lisa;Berg;lisa.berg@test.example;IFO Järfälla;2026-11-01\n"
    "19850202-2345;Omar;Ali;inte-en-adress;IFO Järfälla;2026-11-01\n"
    "19900303-3456;Per;Holm;per.holm@test.example;IFO Järfälla;2026-13-01\n"
).encode()


def test_the_rejected_rows_download_as_csv_with_the_reason_and_import_again(client, hr):
    batch_id = batch_id_of(upload(client, WITH_PERSONNUMMER))
    confirm(client, batch_id)
    result = client.get(f"/employees/import/{batch_id}/result").get_data(as_text=True)
    assert "2 rader avvisades" in result
    # The reasons on the page too, by line (the values only in the file).
    assert re.search(
        r'<th scope="row" class="num" data-label="Rad">3</th><td data-label="Kolumn">E-post</td>',
        result,
    )
    assert "19850202" not in result
    assert f"/employees/import/{batch_id}/rejected.csv" in result
    assert "rejected.xlsx" not in result  # the upload was a CSV
    response = client.get(f"/employees/import/{batch_id}/rejected.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    lines = response.get_data().decode("utf-8-sig").splitlines()
    # The file's own columns (the personnummer never repeated), then the reason.
    assert lines[0] == (
        "Förnamn;Efternamn;E-post;Enhet;Anställningsdatum;Orsak till att raden avvisades"
    )
    assert lines[1].startswith("Omar;Ali;inte-en-adress;IFO Järfälla;2026-11-01;E-post: ")
    assert "är inte en giltig e-postadress" in lines[1]
    assert lines[2].startswith("Per;Holm;per.holm@test.example;IFO Järfälla;2026-13-01;")
    assert len(lines) == 3
    assert "1980" not in response.get_data(as_text=True)
    # Fixed and uploaded again, the reason column is not read and the rows import.
    fixed = response.get_data().decode("utf-8-sig")
    fixed = fixed.replace("inte-en-adress", "omar.ali@test.example").replace("13-01", "12-01")
    again = batch_id_of(upload(client, fixed.encode("utf-8-sig"), "avvisade.csv"))
    preview = client.get(f"/employees/import/{again}").get_data(as_text=True)
    assert re.search(r"Nya anställda</dt><dd>2<", preview)
    assert re.search(r"Avvisas</dt><dd>0<", preview)


def test_an_xlsx_upload_gets_its_rejected_rows_as_xlsx_too(client, hr):
    from openpyxl import Workbook, load_workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Förnamn", "Efternamn", "E-post", "Enhet"])
    sheet.append(["Lisa", "Berg", "lisa.berg@test.example", "IFO Järfälla"])
    sheet.append(["Omar", "Ali", "inte-en-adress", "IFO Järfälla"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch_id = batch_id_of(upload(client, buffer.getvalue(), "personal.xlsx"))
    confirm(client, batch_id)
    result = client.get(f"/employees/import/{batch_id}/result").get_data(as_text=True)
    assert f"/employees/import/{batch_id}/rejected.xlsx" in result
    response = client.get(f"/employees/import/{batch_id}/rejected.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.get_data())).active.values)
    assert rows[0] == ("Förnamn", "Efternamn", "E-post", "Enhet", "Orsak till att raden avvisades")
    assert rows[1][:4] == ("Omar", "Ali", "inte-en-adress", "IFO Järfälla")
    assert "är inte en giltig e-postadress" in rows[1][4]
    assert len(rows) == 2


def test_no_rejected_rows_means_no_download(client, hr):
    content = "förnamn;efternamn;e-post;enhet\nLisa;Berg;lisa.berg@test.example;IFO Järfälla\n"
    batch_id = batch_id_of(upload(client, content.encode()))
    assert client.get(f"/employees/import/{batch_id}/rejected.csv").status_code == 404  # not yet
    confirm(client, batch_id)
    assert "rejected.csv" not in client.get(f"/employees/import/{batch_id}/result").get_data(
        as_text=True
    )
    assert client.get(f"/employees/import/{batch_id}/rejected.csv").status_code == 404
    assert client.get(f"/employees/import/{batch_id}/rejected.xlsx").status_code == 404


def test_once_retention_has_emptied_the_batch_the_rows_are_gone(client, hr):
    batch_id = batch_id_of(upload(client, GOOD_AND_BAD))
    confirm(client, batch_id)
    batch = db.session.get(ImportBatch, batch_id)
    batch.cells = None
    batch.content = b""
    db.session.commit()
    result = client.get(f"/employees/import/{batch_id}/result").get_data(as_text=True)
    assert "Filen sparas inte längre" in result
    assert client.get(f"/employees/import/{batch_id}/rejected.csv").status_code == 404


def test_the_upload_form_shows_a_progress_bar_while_the_file_is_read(client, hr):
    html = client.get("/employees/import/").get_data(as_text=True)
    busy = html.split('id="upload-busy"')[1].split("</div>")[0]
    assert "hidden" in busy.split(">")[0]  # shown by app.js on submit
    assert '<progress class="busy-progress" aria-label="Filen läses in">' in busy
    assert "data-busy-message=" in html
