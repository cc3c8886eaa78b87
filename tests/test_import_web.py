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
    # The unknown unit is listed, and HR is offered to create it.
    assert re.search(r"<th scope=\"row\">Nya förskolan</th>\s*<td>Skola och förskola</td>", html)
    assert "Skapa enheterna, med sektorn från filen" in html
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
