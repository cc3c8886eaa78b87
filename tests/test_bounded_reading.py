"""Reading an uploaded file is bounded whatever the file (issue #15, point 4): it happens in a
child process that the kernel stops at its CPU time and address space and the web worker kills
at its wall-clock limit; a certificate that hits a limit is stored and shown as "could not be
read", an HR export that does is refused with a reason, and neither ever gives a 500.

The limits are set low here so the tests stay fast; the hostile files are built in the test
(``samples.content_bomb_pdf``, :func:`sheet_bomb_xlsx`), and the child's misbehaviour on order
comes from ``tests/bounded_hooks.py``.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import re
import resource
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import session

from tests import bounded_hooks, factories, samples
from tests.conftest import count
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Completion, Employee, Evidence, ImportBatch, Role, Sector
from training_tracker.services.core import bounded_reading
from training_tracker.services.core.bounded_reading import LimitExceeded, Limits
from training_tracker.services.imports.table import ImportFileError, read_table
from training_tracker.services.training import certificates
from training_tracker.services.training.certificates import (
    ExpectedFacts,
    ReadStatus,
    read_certificate,
)

MB = 1024 * 1024
QUICK = Limits(cpu_seconds=1, wall_seconds=5.0, memory_bytes=512 * MB)
NCK_COURSE = ExpectedFacts(
    employee_name="Anna Lindqvist",
    course_titles=("Webbkurs om våld",),
    provider_names=("NCK",),
    completed_on=clock.today(),
)


@pytest.fixture()
def logs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    # Alembic's fileConfig (the app fixture's migrations) disables existing loggers.
    monkeypatch.setattr(logging.getLogger(certificates.__name__), "disabled", False)
    caplog.set_level(logging.INFO, logger=certificates.__name__)
    return caplog


@pytest.fixture(autouse=True)
def _no_child_left() -> Iterator[None]:
    yield
    assert multiprocessing.active_children() == []


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the child and its limits ----------------------------------------------------------------


def test_the_function_runs_in_another_process_and_its_answer_comes_back():
    assert bounded_reading.run(bounded_hooks.pid, limits=QUICK) != os.getpid()
    assert bounded_reading.run(bounded_hooks.sleep, 0, limits=QUICK) == "woke up"


def test_the_child_runs_under_the_limits_it_was_given():
    limits = Limits(cpu_seconds=3, wall_seconds=5.0, memory_bytes=300 * MB)
    assert bounded_reading.run(bounded_hooks.limits_in_force, limits=limits) == {
        "cpu": (3, 4),  # SIGXCPU at 3 s, SIGKILL at 4 s
        "address_space": (300 * MB, 300 * MB),
        "core": (0, 0),
    }


def test_a_child_that_allocates_beyond_its_memory_limit_is_stopped():
    limits = Limits(cpu_seconds=5, wall_seconds=10.0, memory_bytes=300 * MB)
    assert bounded_reading.run(bounded_hooks.allocate, 50, limits=limits) == 50
    with pytest.raises(LimitExceeded) as stopped:
        bounded_reading.run(bounded_hooks.allocate, 400, limits=limits)
    assert stopped.value.reason == "memory"


def test_what_the_child_allocates_never_grows_the_parent():
    before = max_rss_mb()
    limits = Limits(cpu_seconds=5, wall_seconds=10.0, memory_bytes=1200 * MB)
    assert bounded_reading.run(bounded_hooks.allocate, 800, limits=limits) == 800
    assert max_rss_mb() - before < 100


def test_a_child_that_spins_is_stopped_by_its_cpu_limit():
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as stopped:
        bounded_reading.run(bounded_hooks.spin, limits=Limits(1, 10.0, 512 * MB))
    assert stopped.value.reason == "cpu"
    assert time.monotonic() - started < 5


def test_a_child_that_hangs_is_killed_at_the_wall_clock_limit():
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as stopped:
        bounded_reading.run(bounded_hooks.sleep, 60, limits=Limits(5, 0.5, 512 * MB))
    assert stopped.value.reason == "time"
    assert time.monotonic() - started < 2


def test_an_exception_in_the_child_is_raised_in_the_parent():
    with pytest.raises(ValueError, match="not a table"):
        bounded_reading.run(bounded_hooks.refuse, "not a table", limits=QUICK)


def test_a_child_costs_little_to_start():
    bounded_reading.run(bounded_hooks.pid, limits=QUICK)  # the fork server is running
    started = time.monotonic()
    for _ in range(10):
        bounded_reading.run(bounded_hooks.pid, limits=QUICK)
    assert (time.monotonic() - started) / 10 < 0.25


# --- certificates ----------------------------------------------------------------------------


def test_the_content_bomb_really_is_one(tmp_path):
    """What the limits are for: pypdf's own limits let this 5 kB file run on, on its first
    page, since each part of it stays under them."""
    path = tmp_path / "intyg.pdf"
    path.write_bytes(samples.content_bomb_pdf())
    assert path.stat().st_size < 10_000
    generous = Limits(cpu_seconds=60, wall_seconds=3.0, memory_bytes=1024 * MB)
    with pytest.raises(LimitExceeded) as stopped:
        bounded_reading.run(certificates.extract_pdf_text, path, 3, 20_000, 600.0, limits=generous)
    assert stopped.value.reason == "time"  # still on its first page after 3 s


def test_a_pdf_that_would_run_for_minutes_is_unreadable_at_the_cpu_limit(tmp_path, logs):
    path = tmp_path / "intyg.pdf"
    path.write_bytes(samples.content_bomb_pdf())
    before = max_rss_mb()
    started = time.monotonic()
    reading = read_certificate(
        path, content_type="application/pdf", expected=NCK_COURSE, limits=QUICK
    )
    assert reading.status is ReadStatus.UNREADABLE
    assert time.monotonic() - started < QUICK.wall_seconds
    assert max_rss_mb() - before < 50
    assert "Certificate intyg.pdf not read: stopped (cpu limit)" in logs.messages


def test_a_pdf_still_being_read_at_the_wall_clock_limit_is_unreadable(tmp_path, logs):
    path = tmp_path / "intyg.pdf"
    path.write_bytes(samples.content_bomb_pdf())
    started = time.monotonic()
    reading = read_certificate(
        path,
        content_type="application/pdf",
        expected=NCK_COURSE,
        limits=Limits(cpu_seconds=30, wall_seconds=1.0, memory_bytes=512 * MB),
    )
    assert reading.status is ReadStatus.UNREADABLE
    assert time.monotonic() - started < 2.5
    assert "Certificate intyg.pdf not read: stopped (time limit)" in logs.messages


def test_a_pdf_that_needs_more_memory_than_allowed_is_unreadable(tmp_path, logs):
    path = tmp_path / "intyg.pdf"
    path.write_bytes(samples.content_bomb_pdf())
    tight = Limits(cpu_seconds=5, wall_seconds=5.0, memory_bytes=1 * MB)  # less than Python
    reading = read_certificate(
        path, content_type="application/pdf", expected=NCK_COURSE, limits=tight
    )
    assert reading.status is ReadStatus.UNREADABLE
    assert "Certificate intyg.pdf not read: stopped (memory limit)" in logs.messages


def test_a_normal_certificate_is_read_within_the_default_limits(tmp_path):
    path = tmp_path / "intyg.pdf"
    path.write_bytes(samples.certificate_pdf(["Anna Lindqvist", "Webbkurs om våld"]))
    reading = read_certificate(path, content_type="application/pdf", expected=NCK_COURSE)
    assert reading.status is ReadStatus.READ
    assert reading.name.value == "matched"


@pytest.fixture()
def anna():  # type: ignore[no-untyped-def]
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    return factories.employee(unit=unit, first_name="Anna", last_name="Lindqvist")


def test_reporting_with_a_hostile_certificate_stores_it_marked_unreadable_without_a_500(
    app, client, anna, uploads, monkeypatch
):
    monkeypatch.setitem(app.config, "CERTIFICATE_READ_CPU_SECONDS", 1)
    monkeypatch.setitem(app.config, "CERTIFICATE_READ_WALL_SECONDS", 3.0)
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    client.sign_in(anna)
    started = time.monotonic()
    response = client.post_form(
        "/my/report",
        {
            "course_id": str(nck.id),
            "completed_on": (clock.today() - timedelta(days=3)).isoformat(),
            "certificate": (io.BytesIO(samples.content_bomb_pdf()), "intyg.pdf"),
            "note": "",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert time.monotonic() - started < 3.0 + 2
    evidence = db.session.scalars(sa.select(Evidence)).one()
    assert evidence.reading["status"] == "unreadable"
    assert (uploads / evidence.storage_name).read_bytes() == samples.content_bomb_pdf()

    reviewer = factories.with_role(factories.employee(), Role.HR, municipality_name="Järfälla")
    client.sign_in(reviewer)
    completion = db.session.scalars(sa.select(Completion)).one()
    page = client.get(f"/verify/{completion.id}").get_data(as_text=True)
    assert "Intyget kunde inte läsas automatiskt." in page
    assert "kontrollera själv att namn, kurs och datum stämmer" in page
    queue = client.get("/verify/").get_data(as_text=True)
    assert "Kunde inte läsas automatiskt: granska filen själv" in queue


# --- HR imports ------------------------------------------------------------------------------

STAFF = (
    "Förnamn;Efternamn;E-post;Enhet;Sektor;Anställningsdatum\n"
    "Lisa;Berg;lisa.berg@test.example;IFO Järfälla;Socialtjänst;2026-11-01\n"
).encode()


def sheet_bomb_xlsx(empty_rows: int = 1_000_000) -> bytes:
    """An XLSX of some 30 kB whose sheet unpacks to 15 MB of empty rows: far under the size
    its zip directory may declare, but many seconds of openpyxl's work for no row at all."""
    import openpyxl

    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active.append(["Förnamn", "Efternamn", "E-post"])
    workbook.save(buffer)
    rows = "<row><c/></row>" * empty_rows
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Förnamn'
        '</t></is></c><c r="B1" t="inlineStr"><is><t>Efternamn</t></is></c><c r="C1" '
        't="inlineStr"><is><t>E-post</t></is></c></row>' + rows + "</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet.encode()
            target.writestr(info.filename, data)
    return out.getvalue()


@pytest.fixture()
def hr(client):  # type: ignore[no-untyped-def]
    factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    person = factories.with_role(factories.employee(), Role.HR, municipality_name="Järfälla")
    client.sign_in(person)
    return person


def upload(client, content: bytes, filename: str = "personal.csv"):  # type: ignore[no-untyped-def]
    data = {"file": (io.BytesIO(content), filename)}
    return client.post_form("/employees/import/", data, content_type="multipart/form-data")


def test_an_export_that_unpacks_to_too_much_work_is_refused_with_a_reason(
    app, client, hr, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_READ_CPU_SECONDS", 1)
    monkeypatch.setitem(app.config, "IMPORT_READ_WALL_SECONDS", 3.0)
    bomb = sheet_bomb_xlsx()
    assert len(bomb) < 100_000
    started = time.monotonic()
    response = upload(client, bomb, "personal.xlsx")
    assert response.status_code == 422
    assert time.monotonic() - started < 3.0 + 2
    assert "Filen kunde inte läsas: den tog för lång tid eller för mycket minne" in (
        response.get_data(as_text=True)
    )
    assert count(ImportBatch) == 0


def test_the_file_is_read_once_and_the_preview_and_confirmation_use_what_was_read(client, hr):
    response = upload(client, STAFF)
    batch = db.session.get(ImportBatch, int(response.location.rsplit("/", 1)[1]))
    # The stored file no longer says anything: were it read again, nothing would be found.
    batch.content = b"not a table at all"
    db.session.commit()

    preview = client.get(response.location)
    assert preview.status_code == 200
    assert re.search(r"Nya anställda</dt><dd>1<", preview.get_data(as_text=True))
    refreshed = client.post_form(response.location, {"unknown_units": "reject", "refresh": "x"})
    assert re.search(r"Nya anställda</dt><dd>1<", refreshed.get_data(as_text=True))
    confirmed = client.post_form(response.location, {"unknown_units": "reject", "submit": "x"})
    assert confirmed.status_code == 302
    assert confirmed.location.endswith("/result")
    assert count(Employee, Employee.email == "lisa.berg@test.example") == 1


def test_a_batch_without_the_cells_read_at_upload_asks_for_the_file_again(client, hr):
    response = upload(client, STAFF)
    batch = db.session.get(ImportBatch, int(response.location.rsplit("/", 1)[1]))
    batch.cells = None  # uploaded before they were kept, or emptied by the retention job
    db.session.commit()
    page = client.get(response.location, follow_redirects=True).get_data(as_text=True)
    assert "Filen finns inte längre sparad. Ladda upp den igen." in page


def test_a_refusal_from_the_child_is_told_in_the_readers_language(app):
    """The child has no request, so its messages travel untranslated and are put into the
    reader's language where they are shown."""
    with app.test_request_context():
        session["language"] = "en"
        with pytest.raises(ImportFileError) as refused:
            bounded_reading.run(read_table, b"\xd0\xcf\x11\xe0 old excel", limits=QUICK)
        assert str(refused.value).startswith("The file is in the old Excel format (.xls).")
