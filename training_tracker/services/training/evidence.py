"""Certificate files (intyg): checked by their content, never by their name, and stored
outside every served folder under a random name.

The web layer hands over a stream; nothing here trusts the browser's file name or content
type. A file is written to a temporary name and renamed into place only once it is complete
and within the size limit, so a refused or interrupted upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask_babel import gettext as _

# What the first bytes of each accepted kind of file look like, and the extension it gets.
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
]
_STORAGE_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|png|jpg)$")
_CHUNK = 64 * 1024


class EvidenceError(ValueError):
    """The file cannot be accepted; the message says why, for the person uploading it."""


@dataclass(frozen=True)
class StoredFile:
    path: Path  # where it is now, for reading it before the transaction commits
    storage_name: str
    original_filename: str
    content_type: str
    size_bytes: int
    sha256: str


def content_type_of(head: bytes) -> str | None:
    """The content type the file's first bytes prove, or None for anything else."""
    for signature, content_type, _extension in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def clean_filename(name: str) -> str:
    """The uploaded file's own name, for display only: no folders, no control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    return name.strip()[:255] or "intyg"


# Characters no file name may hold on one of the systems people download to (Windows).
_NOT_IN_A_FILE_NAME = re.compile(r'[<>:"/\\|?*]')


def download_name(original_filename: str, content_type: str) -> str:
    """The name a downloaded certificate gets: the uploader's name without its extension, and
    the extension of the type its content proved, so ``intyg.html`` holding a PDF downloads as
    ``intyg.pdf`` and nothing opens it as anything else."""
    extension = next((ext for _sig, ct, ext in _SIGNATURES if ct == content_type), ".bin")
    name = clean_filename(original_filename)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _NOT_IN_A_FILE_NAME.sub("_", stem).strip(" .")[:100].strip(" .")
    return (stem or "intyg") + extension


def path_of(folder: Path, storage_name: str) -> Path:
    """Where a stored file is; refuses any name this module did not make (no ``../``)."""
    if not _STORAGE_NAME.match(storage_name):
        raise EvidenceError(_("Filen finns inte."))
    return folder / storage_name


def _sync_folder(folder: Path) -> None:
    """Make the rename durable before the report naming the file commits: on a local disk a
    crash could otherwise lose the folder entry. Shares (NFS, CephFS) do this themselves;
    some (SMB) refuse to open a folder, which is harmless."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def store_file(stream: BinaryIO, *, filename: str, folder: Path, max_bytes: int) -> StoredFile:
    """Check and store one uploaded file; raises :class:`EvidenceError` (nothing stored)."""
    head = stream.read(16)
    if not head:
        raise EvidenceError(_("Filen är tom."))
    matched = next(((ct, ext) for sig, ct, ext in _SIGNATURES if head.startswith(sig)), None)
    if matched is None:
        raise EvidenceError(
            _(
                "Filen är inte en PDF, PNG eller JPEG. Spara intyget som PDF eller ta en bild "
                "av det."
            )
        )
    content_type, extension = matched
    folder.mkdir(parents=True, exist_ok=True)
    storage_name = secrets.token_hex(16) + extension
    final = folder / storage_name
    partial = folder / f".{storage_name}.part"
    digest = hashlib.sha256()
    size = 0
    # Readable by the app's user only; O_EXCL so that nothing is ever overwritten.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > max_bytes:
                    raise EvidenceError(
                        _(
                            "Filen är för stor: högst %(mb)d MB.",
                            mb=max(1, max_bytes // (1024 * 1024)),
                        )
                    )
                digest.update(chunk)
                out.write(chunk)
                chunk = stream.read(_CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _sync_folder(folder)
    return StoredFile(
        path=final,
        storage_name=storage_name,
        original_filename=clean_filename(filename),
        content_type=content_type,
        size_bytes=size,
        sha256=digest.hexdigest(),
    )


def remove_file(folder: Path, storage_name: str) -> None:
    """Delete a stored file (a replaced or withdrawn certificate); a missing one is fine."""
    path_of(folder, storage_name).unlink(missing_ok=True)
