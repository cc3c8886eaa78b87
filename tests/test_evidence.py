"""Certificate files: accepted by what they are, not what they are called; stored under a
random name outside every served folder; a refused file leaves nothing behind."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from training_tracker.services.training.evidence import (
    EvidenceError,
    clean_filename,
    content_type_of,
    download_name,
    path_of,
    remove_file,
    store_file,
)

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
LIMIT = 1024


def store(content: bytes, folder: Path, name: str = "intyg.pdf", limit: int = LIMIT):  # type: ignore[no-untyped-def]
    return store_file(io.BytesIO(content), filename=name, folder=folder, max_bytes=limit)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("content", "content_type", "extension"),
    [(PDF, "application/pdf", ".pdf"), (PNG, "image/png", ".png"), (JPEG, "image/jpeg", ".jpg")],
)
def test_a_pdf_png_or_jpeg_is_stored_by_its_content_whatever_its_name(
    tmp_path, content, content_type, extension
):
    stored = store(content, tmp_path, name="scan.TXT")
    assert stored.content_type == content_type
    assert stored.storage_name.endswith(extension)
    assert stored.size_bytes == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert (tmp_path / stored.storage_name).read_bytes() == content
    assert stored.original_filename == "scan.TXT"  # kept for display only


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"Hej, jag har gjort kursen!", "intyg.pdf"),
        (b"MZ\x90\x00\x03\x00\x00\x00 an executable", "intyg.pdf"),
        (b"<html><script>alert(1)</script></html>", "intyg.png"),
        (b"GIF89a\x01\x00\x01\x00", "intyg.jpg"),
        (b"PK\x03\x04 a word document", "intyg.docx"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_and_nothing_is_stored(
    tmp_path, content, name
):
    with pytest.raises(EvidenceError, match="inte en PDF, PNG eller JPEG"):
        store(content, tmp_path, name=name)
    assert files_in(tmp_path) == []


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(EvidenceError, match="Filen är tom"):
        store(b"", tmp_path)
    assert files_in(tmp_path) == []


def test_a_file_over_the_limit_is_refused_and_its_partial_copy_removed(tmp_path):
    with pytest.raises(EvidenceError, match="för stor"):
        store(PDF + b"x" * LIMIT, tmp_path)
    assert files_in(tmp_path) == []


def test_a_file_exactly_at_the_limit_is_accepted(tmp_path):
    content = PDF + b"x" * (LIMIT - len(PDF))
    assert store(content, tmp_path).size_bytes == LIMIT


def test_stored_names_are_random_and_readable_by_the_app_alone(tmp_path):
    first, second = store(PDF, tmp_path), store(PDF, tmp_path)
    assert first.storage_name != second.storage_name
    assert first.sha256 == second.sha256
    mode = stat.S_IMODE((tmp_path / first.storage_name).stat().st_mode)
    assert mode == 0o600


def test_the_upload_folder_is_outside_every_served_folder(app):
    upload = Path(app.config["UPLOAD_FOLDER"]).resolve()
    assert app.static_folder is not None
    assert not upload.is_relative_to(Path(app.static_folder).resolve())
    assert not upload.is_relative_to(Path(app.root_path).resolve())


@pytest.mark.parametrize(
    "name", ["../config.py", "/etc/passwd", "..%2f..%2fsecret", "abc.pdf", "0" * 32 + ".exe", ""]
)
def test_only_names_this_module_made_can_be_opened(tmp_path, name):
    with pytest.raises(EvidenceError):
        path_of(tmp_path, name)


def test_removing_a_stored_file_deletes_it_and_a_missing_one_is_fine(tmp_path):
    stored = store(PNG, tmp_path)
    remove_file(tmp_path, stored.storage_name)
    remove_file(tmp_path, stored.storage_name)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("C:\\Users\\anna\\Intyg våld.pdf", "Intyg våld.pdf"),
        ("../../etc/passwd", "passwd"),
        ("intyg\x00\n.pdf", "intyg.pdf"),
        ("", "intyg"),
        ("a" * 300 + ".pdf", "a" * 255),
    ],
)
def test_the_original_name_is_cleaned_for_display(given, shown):
    assert clean_filename(given) == shown


@pytest.mark.parametrize(
    ("uploaded_as", "content_type", "downloaded_as"),
    [
        ("intyg.pdf", "application/pdf", "intyg.pdf"),
        ("intyg.html", "image/png", "intyg.png"),
        ("Intyg våld.PDF.exe", "image/jpeg", "Intyg våld.PDF.jpg"),
        ("bild.jpeg", "image/jpeg", "bild.jpg"),
        ("intyg", "application/pdf", "intyg.pdf"),
        (".htaccess", "image/png", "intyg.png"),
        ('a<b>:"c"|d?*.pdf', "application/pdf", "a_b___c__d__.pdf"),
        ("C:\\Users\\anna\\scan.svg", "image/png", "scan.png"),
        ("intyg\x00\n.svg", "image/png", "intyg.png"),
        ("a" * 300 + ".pdf", "application/pdf", "a" * 100 + ".pdf"),
    ],
)
def test_a_download_gets_the_extension_of_the_proven_type_never_the_uploaders(
    uploaded_as, content_type, downloaded_as
):
    assert download_name(uploaded_as, content_type) == downloaded_as


def test_content_types_are_recognised_from_the_first_bytes():
    assert content_type_of(PDF[:8]) == "application/pdf"
    assert content_type_of(PNG[:8]) == "image/png"
    assert content_type_of(JPEG[:8]) == "image/jpeg"
    assert content_type_of(b"%PD") is None


def test_the_file_and_then_its_folder_are_synced_before_the_report_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the commit must not lose a file the database names (local disks)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    stored = store(PDF, tmp_path)
    assert len(synced) == 2
    assert synced[0].endswith(".part")  # the content, under its temporary name
    assert synced[1] == str(tmp_path)  # then the folder holding the renamed entry
    assert stored.path.parent == tmp_path
