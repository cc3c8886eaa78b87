"""The employee's report pages: report a course with its certificate, see the report, replace
the certificate, withdraw. Whatever is refused leaves no row and no file behind."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Completion, CompletionStatus, Evidence, Sector

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MB = 1024 * 1024


@pytest.fixture()
def nck():
    return factories.synced_catalog()["nck-webbkurs-om-vald"]


@pytest.fixture()
def anna():
    return factories.employee(unit=factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO"))


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def form(course, *, on=None, content=PDF, name="intyg.pdf", key=None, note=""):  # type: ignore[no-untyped-def]
    data = {
        "course_id": str(course.id),
        "completed_on": (on or clock.today() - timedelta(days=3)).isoformat(),
        "certificate": (io.BytesIO(content), name),
        "note": note,
    }
    if key:
        data["submission_key"] = key
    return data


def post_report(client, data):  # type: ignore[no-untyped-def]
    return client.post_form("/my/report", data, content_type="multipart/form-data")


def test_the_form_preselects_the_course_and_leaves_the_date_to_the_person(
    client, uploads, anna, nck
):
    client.sign_in(anna)
    page = client.get(f"/my/report?course={nck.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{nck.id}">|<option value="{nck.id}" selected', page)
    today = clock.today().isoformat()
    [date_input] = re.findall(r'<input[^>]*name="completed_on"[^>]*>', page)
    assert f'max="{today}"' in date_input and 'value=""' in date_input
    assert 'accept="application/pdf,image/png,image/jpeg' in page
    assert re.search(r'name="submission_key" type="hidden" value="[A-Za-z0-9_-]{16,}"', page)
    assert '<label for="certificate">' in page


def test_a_report_with_a_pdf_is_stored_awaiting_verification(client, uploads, anna, nck):
    client.sign_in(anna)
    response = post_report(client, form(nck, note="Gick den med kollegor"))
    assert response.status_code == 302, response.get_data(as_text=True)
    completion = db.session.scalars(sa.select(Completion)).one()
    assert response.location == f"/my/completions/{completion.id}"
    assert completion.employee_id == anna.id
    assert completion.status == CompletionStatus.REPORTED
    assert completion.note == "Gick den med kollegor"
    evidence = db.session.scalars(sa.select(Evidence)).one()
    assert evidence.completion_id == completion.id
    assert evidence.original_filename == "intyg.pdf"
    assert evidence.content_type == "application/pdf"
    assert files_in(uploads) == [uploads / evidence.storage_name]
    assert (uploads / evidence.storage_name).read_bytes() == PDF

    page = client.get(response.location).get_data(as_text=True)
    assert "Tack! Din rapport väntar på att godkännas." in page
    assert nck.title in page and "intyg.pdf" in page
    assert "Rapporterad, väntar på godkännande" in page
    assert "Byt intyg" in page and "Återkalla rapporten" in page


def test_a_text_file_named_pdf_is_refused(client, uploads, anna, nck):
    client.sign_in(anna)
    response = post_report(client, form(nck, content=b"just some text", name="intyg.pdf"))
    assert response.status_code == 422
    assert "Filen är inte en PDF, PNG eller JPEG" in response.get_data(as_text=True)
    assert count(Completion) == 0 and count(Evidence) == 0
    assert files_in(uploads) == []


def test_an_oversize_file_is_refused(client, app, uploads, anna, nck, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 20)
    client.sign_in(anna)
    response = post_report(client, form(nck, content=PDF + b"x" * 100))
    assert response.status_code == 422
    assert "Filen är för stor" in response.get_data(as_text=True)
    assert count(Completion) == 0 and count(Evidence) == 0
    assert files_in(uploads) == []


def test_a_date_in_the_future_is_refused_and_the_file_removed(client, uploads, anna, nck):
    client.sign_in(anna)
    response = post_report(client, form(nck, on=clock.today() + timedelta(days=1)))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Datumet kan inte vara senare än i dag." in page
    assert 'id="completed_on-error"' in page
    assert count(Completion) == 0 and count(Evidence) == 0
    assert files_in(uploads) == []


@pytest.mark.parametrize("course_id", ["999999", "abc", ""])
def test_a_course_that_does_not_exist_is_refused(client, uploads, anna, nck, course_id):
    client.sign_in(anna)
    data = form(nck)
    data["course_id"] = course_id
    response = post_report(client, data)
    assert response.status_code == 422
    assert "Välj en kurs i listan." in response.get_data(as_text=True)
    assert count(Completion) == 0
    assert files_in(uploads) == []


def test_a_missing_file_is_refused(client, uploads, anna, nck):
    client.sign_in(anna)
    data = form(nck)
    del data["certificate"]
    response = post_report(client, data)
    assert response.status_code == 422
    assert "Välj filen med ditt intyg." in response.get_data(as_text=True)
    assert count(Completion) == 0


def test_the_same_form_sent_twice_makes_one_report(client, uploads, anna, nck):
    client.sign_in(anna)
    key = "k" * 32
    first = post_report(client, form(nck, key=key))
    second = post_report(client, form(nck, key=key))
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert count(Completion) == 1 and count(Evidence) == 1
    assert len(files_in(uploads)) == 1


def test_someone_elses_report_is_not_found(client, uploads, anna, nck):
    colleague = factories.employee(unit=anna.unit)
    theirs = factories.completion(colleague, nck, status=CompletionStatus.REPORTED)
    client.sign_in(anna)
    assert client.get(f"/my/completions/{theirs.id}").status_code == 404
    replaced = client.post_form(
        f"/my/completions/{theirs.id}/certificate",
        {"certificate": (io.BytesIO(PDF), "intyg.pdf")},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 404
    assert client.post_form(f"/my/completions/{theirs.id}/withdraw").status_code == 404
    db.session.refresh(theirs)
    assert theirs.status == CompletionStatus.REPORTED
    assert count(Evidence) == 0 and files_in(uploads) == []


def test_replacing_the_certificate_removes_the_old_file(client, uploads, anna, nck):
    client.sign_in(anna)
    location = post_report(client, form(nck)).location
    old = db.session.scalars(sa.select(Evidence)).one().storage_name
    response = client.post_form(
        f"{location}/certificate",
        {"certificate": (io.BytesIO(PNG), "foto.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and response.location == location
    new = db.session.scalars(sa.select(Evidence)).one()
    assert new.storage_name != old
    assert new.original_filename == "foto.png" and new.content_type == "image/png"
    assert files_in(uploads) == [uploads / new.storage_name]
    assert "foto.png" in client.get(location).get_data(as_text=True)


def test_a_bad_replacement_changes_nothing(client, uploads, anna, nck):
    client.sign_in(anna)
    location = post_report(client, form(nck)).location
    old = db.session.scalars(sa.select(Evidence)).one().storage_name
    response = client.post_form(
        f"{location}/certificate",
        {"certificate": (io.BytesIO(b"not a pdf"), "intyg.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Filen är inte en PDF, PNG eller JPEG" in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(Evidence)).one().storage_name == old
    assert files_in(uploads) == [uploads / old]


def test_withdrawing_a_report(client, uploads, anna, nck):
    client.sign_in(anna)
    location = post_report(client, form(nck)).location
    response = client.post_form(f"{location}/withdraw")
    assert response.status_code == 302 and response.location == location
    assert db.session.scalars(sa.select(Completion)).one().status == CompletionStatus.WITHDRAWN
    page = client.get(location).get_data(as_text=True)
    assert "Rapporten är återkallad." in page and "Återkallad" in page
    assert "Byt intyg" not in page  # nothing to change any more


def test_a_verified_report_cannot_be_replaced_or_withdrawn(client, uploads, anna, nck):
    done = factories.completion(anna, nck, status=CompletionStatus.VERIFIED)
    client.sign_in(anna)
    response = client.post_form(
        f"/my/completions/{done.id}/certificate",
        {"certificate": (io.BytesIO(PDF), "intyg.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert count(Evidence) == 0 and files_in(uploads) == []
    client.post_form(f"/my/completions/{done.id}/withdraw")
    db.session.refresh(done)
    assert done.status == CompletionStatus.VERIFIED


def test_the_home_page_links_each_open_course_to_the_report_form(client, uploads, anna, nck):
    factories.assignment(anna, nck)
    client.sign_in(anna)
    page = client.get("/").get_data(as_text=True)
    assert f'href="/my/report?course={nck.id}"' in page
    assert "Rapportera att du är klar" in page
    assert "Öppna kursen" in page


def test_the_date_cannot_be_before_the_course_existed(client, uploads, anna, nck):
    nck.available_from = datetime(2022, 3, 1)
    db.session.commit()
    client.sign_in(anna)
    page = client.get(f"/my/report?course={nck.id}").get_data(as_text=True)
    date_input = re.search(r'<input[^>]*id="completed_on"[^>]*>', page).group(0)
    assert 'min="2022-03-01"' in date_input and f'max="{clock.today().isoformat()}"' in date_input
    # app.js moves the limit when another course is chosen; each option says where it starts
    assert re.search(rf'data-available-from="2022-03-01"[^>]*value="{nck.id}"', page)
    assert "data-course-select" in page

    unchosen = client.get("/my/report").get_data(as_text=True)
    assert "min=" not in re.search(r'<input[^>]*id="completed_on"[^>]*>', unchosen).group(0)

    response = post_report(client, form(nck, on=date(2022, 2, 28)))
    assert response.status_code == 422
    refused = response.get_data(as_text=True)
    assert "Kursen fanns inte före 1 mars 2022" in refused
    assert 'min="2022-03-01"' in refused  # the course chosen in the form, not only ?course=
    assert count(Completion) == 0 and files_in(uploads) == []


@pytest.fixture()
def no_certificate():
    """A course that issues no certificate (an introduction day, say)."""
    course = factories.synced_catalog()["skolverket-arbeta-mot-hrv"]
    course.issues_certificate = False
    db.session.commit()
    return course


def test_a_course_without_certificate_is_reported_without_a_file(
    client, uploads, anna, no_certificate
):
    client.sign_in(anna)
    page = client.get(f"/my/report?course={no_certificate.id}").get_data(as_text=True)
    assert "Den här kursen ger inget intyg, så du kan skicka rapporten utan fil." in page
    assert re.search(rf'data-certificate="none"[^>]*value="{no_certificate.id}"', page)
    data = form(no_certificate)
    del data["certificate"]
    response = post_report(client, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    completion = db.session.scalars(sa.select(Completion)).one()
    assert completion.course_id == no_certificate.id
    assert completion.status == CompletionStatus.REPORTED
    assert count(Evidence) == 0 and files_in(uploads) == []
    shown = client.get(response.location).get_data(as_text=True)
    assert "Inget intyg (kursen ger inget intyg)" in shown
    assert "Ladda upp ett intyg" in shown  # one can still be added while it awaits review


def test_a_course_without_certificate_still_takes_one_if_given(
    client, uploads, anna, no_certificate
):
    client.sign_in(anna)
    response = post_report(client, form(no_certificate))
    assert response.status_code == 302
    evidence = db.session.scalars(sa.select(Evidence)).one()
    assert files_in(uploads) == [uploads / evidence.storage_name]


def test_a_course_with_a_certificate_needs_the_file(client, uploads, anna, nck):
    client.sign_in(anna)
    page = client.get(f"/my/report?course={nck.id}").get_data(as_text=True)
    assert "Intyget behövs när kursen ger ett intyg." in page
    data = form(nck)
    del data["certificate"]
    data["completed_on"] = ""
    response = post_report(client, data)
    assert response.status_code == 422
    refused = response.get_data(as_text=True)
    # both mistakes at once, each on its field
    assert re.search(r'id="certificate-error".*Välj filen med ditt intyg\.', refused)
    assert 'id="completed_on-error"' in refused
    assert count(Completion) == 0 and files_in(uploads) == []


def test_a_file_over_the_certificate_limit_is_refused_on_its_field(client, app, uploads, anna, nck):
    assert app.config["EVIDENCE_MAX_BYTES"] < 11 * MB < app.config["MAX_CONTENT_LENGTH"]
    client.sign_in(anna)
    response = post_report(client, form(nck, content=PDF + b"0" * (11 * MB)))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="certificate-error".*Filen är för stor: högst 10 MB\.', page)
    assert count(Completion) == 0 and count(Evidence) == 0
    assert files_in(uploads) == []


def test_a_request_over_the_upload_limit_gets_a_friendly_page(client, app, uploads, anna, nck):
    assert app.config["MAX_CONTENT_LENGTH"] < 26 * MB
    client.sign_in(anna)
    response = client.post_form(
        f"/my/report?course={nck.id}",
        form(nck, content=PDF + b"0" * (26 * MB)),
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Filen är för stor" in page
    assert "Ett intyg får vara högst 10 MB." in page
    assert "Inget har sparats." in page
    assert "ta en bild av intyget med mobilen" in page
    assert f'href="/my/report?course={nck.id}">Tillbaka till formuläret</a>' in page
    assert '<html lang="sv">' in page
    assert count(Completion) == 0 and count(Evidence) == 0
    assert files_in(uploads) == []


def test_a_replacement_over_the_upload_limit_links_back_to_the_report(client, uploads, anna, nck):
    client.sign_in(anna)
    location = post_report(client, form(nck)).location
    old = db.session.scalars(sa.select(Evidence)).one().storage_name
    response = client.post_form(
        f"{location}/certificate",
        {"certificate": (io.BytesIO(PDF + b"0" * (26 * MB)), "intyg.pdf")},
        content_type="multipart/form-data",
        headers={"Referer": f"http://localhost{location}"},
    )
    assert response.status_code == 413
    assert f'href="{location}">Tillbaka till formuläret</a>' in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(Evidence)).one().storage_name == old
    assert files_in(uploads) == [uploads / old]
