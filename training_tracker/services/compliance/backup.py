"""A backup of everything the tracker keeps: the database and the uploaded certificates.

``create_backup`` makes a new folder ``training-tracker-backup-<UTC time>`` under the given
path, holding:

- the database: on SQLite ``database.sqlite``, an online copy made with SQLite's backup API
  (consistent even while the app writes: the copy is one snapshot); on PostgreSQL
  ``database.dump``, made by ``pg_dump --format=custom`` (restore with ``pg_restore``). Without
  ``pg_dump`` on PATH a PostgreSQL backup stops before writing anything;
- ``uploads/``: a copy of the upload folder (the certificates);
- ``manifest.json``: when, the schema revision (Alembic), and every file's size and SHA-256;
  ``SHA256SUMS`` holds the same hashes for ``sha256sum -c``. Both are written last: a folder
  without them is an interrupted backup.

The database is copied before the files. Certificates are stored before their row is
committed, so every certificate the copied database names is already in the folder when the
files are copied (unless it was deleted in those few seconds); files added later are merely
extra. An existing backup is never overwritten, and a failed one leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import Engine

from training_tracker import clock

PREFIX = "training-tracker-backup-"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
SQLITE_FILE = "database.sqlite"
POSTGRESQL_FILE = "database.dump"
UPLOADS = "uploads"
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path  # the new backup folder
    manifest: dict[str, Any]


def backup_name(now: datetime) -> str:
    return PREFIX + now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def create_backup(
    engine: Engine,
    *,
    upload_folder: Path,
    destination: Path,
    now: datetime | None = None,
    pg_dump: str | None = None,
) -> BackupResult:
    """Back up the database behind ``engine`` and ``upload_folder`` into a new folder under
    ``destination`` (created if missing). ``pg_dump``: the program to use on PostgreSQL; by
    default the one on PATH. Raises :class:`BackupError`."""
    now = now or clock.utcnow().replace(tzinfo=UTC)
    kind = engine.dialect.name
    program = pg_dump or shutil.which("pg_dump")
    source = engine.url.database
    if kind == "postgresql" and program is None:
        raise BackupError(
            "pg_dump was not found on PATH, so the PostgreSQL database cannot be backed up "
            "by this command. Install the PostgreSQL client tools (the same major version "
            "as the server) or back up with pg_dump or pg_basebackup yourself, and copy "
            f"the upload folder ({upload_folder}) alongside."
        )
    if kind == "sqlite" and (
        not source or source == ":memory:" or engine.url.query.get("mode") == "memory"
    ):
        raise BackupError("An in-memory SQLite database has no file to back up.")
    if kind not in {"sqlite", "postgresql"}:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {kind}.")

    target = _new_folder(destination, backup_name(now))
    try:
        if kind == "sqlite" and source:
            database_file = SQLITE_FILE
            revision = _copy_sqlite(Path(source), target / database_file)
        elif program:
            database_file = POSTGRESQL_FILE
            revision = _schema_revision(engine)
            _dump_postgresql(engine, program, target / database_file)
        files = {database_file: _describe(target / database_file)}
        files |= _copy_uploads(upload_folder, target / UPLOADS)
        manifest = {
            "format": 1,
            "application": "training-tracker",
            "created_at": now.astimezone(UTC).isoformat(timespec="seconds"),
            "database": {"engine": kind, "file": database_file, "schema_revision": revision},
            "uploads": {
                "folder": UPLOADS,
                "files": sum(1 for name in files if name.startswith(UPLOADS + "/")),
            },
            "file_count": len(files),
            "files": files,
        }
        _write_private(
            target / CHECKSUMS,
            "".join(f"{entry['sha256']}  {name}\n" for name, entry in files.items()),
        )
        _write_private(target / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # no half backup that looks like a whole one
        raise
    return BackupResult(path=target, manifest=manifest)


def _new_folder(destination: Path, name: str) -> Path:
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"Cannot create {destination}: {error.strerror or error}.") from None
    if not destination.is_dir() or not os.access(destination, os.W_OK | os.X_OK):
        raise BackupError(f"Cannot write to {destination}: choose a folder you may write to.")
    target = destination / name
    try:
        target.mkdir(mode=0o700)  # personal data: the app's user only
    except FileExistsError:
        raise BackupError(
            f"{target} exists already; a backup is never overwritten. Wait a second and "
            "run again, or move the old one away."
        ) from None
    except OSError as error:
        raise BackupError(f"Cannot write to {destination}: {error.strerror or error}.") from None
    return target


def _copy_sqlite(source: Path, copy: Path) -> str | None:
    """Copy with SQLite's backup API in one step: a single read snapshot, so a writer
    committing meanwhile is either wholly in the copy or not at all (WAL lets it go on)."""
    if not source.is_file():
        raise BackupError(f"The database file {source} does not exist.")
    reader = sqlite3.connect(source, timeout=30)  # waits out a writer's checkpoint
    try:
        writer = sqlite3.connect(copy)
        try:
            reader.backup(writer)
            # One self-contained file: no -wal beside it.
            writer.execute("PRAGMA journal_mode=DELETE")
            check = writer.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"The copied database failed its integrity check: {check}")
            revision = _sqlite_revision(writer)
        finally:
            writer.close()
    finally:
        reader.close()
    copy.chmod(0o600)
    return revision


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # never migrated
        return None
    return row[0] if row else None


def _schema_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _conninfo(url: sa.URL) -> str:
    """libpq's keyword form of ``url``: a URL's query would reach libpq with '+' for a space
    (options=-c x=y), which it does not decode."""
    params = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    params |= {key: value for key, value in url.query.items() if isinstance(value, str)}
    return make_conninfo("", **{key: str(value) for key, value in params.items() if value})


def _dump_postgresql(engine: Engine, pg_dump: str, dump: Path) -> None:
    url = engine.url.set(drivername="postgresql")
    environment = dict(os.environ)
    if url.password is not None:
        # In the environment, not on the command line, where `ps` would show it.
        environment["PGPASSWORD"] = str(url.password)
        url = url.set(password=None)
    command = [
        pg_dump,
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--file={dump}",
        f"--dbname={_conninfo(url)}",
    ]
    try:
        finished = subprocess.run(  # a fixed program and its arguments; no shell
            command, env=environment, capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise BackupError(f"Cannot run {pg_dump}: {error.strerror or error}.") from None
    if finished.returncode != 0:
        raise BackupError(f"pg_dump failed ({finished.returncode}): {finished.stderr.strip()}")
    dump.chmod(0o600)


def _copy_uploads(folder: Path, copy: Path) -> dict[str, dict[str, Any]]:
    """Copy every stored file (not the hidden ``.…part`` of an upload in progress), hashing
    the bytes as they are written."""
    copy.mkdir(mode=0o700)
    described: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return described
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        out = copy / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            described[f"{UPLOADS}/{relative.as_posix()}"] = _copy_file(path, out)
        except FileNotFoundError:  # removed since it was listed (a replaced certificate)
            out.unlink(missing_ok=True)
    return described


def _copy_file(source: Path, out: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with (
        source.open("rb") as reader,
        open(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as writer,
    ):
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def _describe(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def _write_private(path: Path, text: str) -> None:
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
