"""``flask backup PATH`` (issue #7, point 9): a new folder holding a consistent copy of the
database (SQLite's backup API, or pg_dump on PostgreSQL), the uploaded certificates and a
manifest of every file's hash; taken while the app writes, restorable, never overwriting."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from config import TestingConfig
from tests import factories
from training_tracker import create_app
from training_tracker.extensions import db
from training_tracker.models import CompletionStatus, Employee, Evidence, Sector
from training_tracker.services.compliance.backup import BackupError, create_backup
from training_tracker.services.training.evidence import path_of

MOMENT = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)
NAME = "training-tracker-backup-20261124T023000Z"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def app_on(database: Path, uploads: Path) -> Flask:
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{database}"
    config.UPLOAD_FOLDER = str(uploads)
    config.MAIL_PORT = 1
    return create_app(config)


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the real migrations applied, made once and copied by each test."""
    template = tmp_path_factory.mktemp("backup") / "template.sqlite"
    migrated = app_on(template, template.parent / "uploads")
    with migrated.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()  # the last connection checkpoints the WAL: one whole file
    return template


@pytest.fixture()
def sqlite_app(migrated_sqlite: Path, tmp_path: Path) -> Iterator[Flask]:
    """The app on an SQLite file of its own, whichever database the suite runs on: the
    online-copy path is SQLite's and is tested on both legs."""
    database = tmp_path / "live" / "training_tracker.sqlite"
    database.parent.mkdir()
    shutil.copyfile(migrated_sqlite, database)
    live = app_on(database, tmp_path / "live" / "uploads")
    with live.app_context():
        yield live
        db.session.remove()
        db.engine.dispose()


def backup_of(app: Flask, destination: Path, **options: object):  # type: ignore[no-untyped-def]
    return create_backup(
        db.engine,
        upload_folder=Path(app.config["UPLOAD_FOLDER"]),
        destination=destination,
        **options,  # type: ignore[arg-type]
    )


def staff_with_certificates(count: int) -> list[Employee]:
    home = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    course = factories.dated_course("webbkurs")
    people = []
    for n in range(count):
        person = factories.employee(unit=home, first_name=f"Säkerhetskopia{n}")
        completion = factories.completion(person, course, status=CompletionStatus.REPORTED)
        factories.evidence(completion, content=b"%PDF-1.7\n" + f"intyg {n}".encode() + b"\n%%EOF\n")
        people.append(person)
    return people


# --- SQLite: the online copy -----------------------------------------------------------------


def test_a_backup_taken_while_the_app_writes_is_whole_and_holds_everything_committed_before(
    sqlite_app, tmp_path
):
    home = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    unit_id, municipality_id = home.id, home.municipality_id
    committed: list[int] = []  # ids, appended only after their commit
    errors: list[BaseException] = []
    stop = threading.Event()
    writing = threading.Event()

    def write() -> None:
        with sqlite_app.app_context():
            try:
                n = 0
                while not stop.is_set():
                    n += 1
                    person = Employee(
                        first_name="Skrivare",
                        last_name=f"Nummer{n}",
                        email=f"skrivare{n}@test.example",
                        unit_id=unit_id,
                        municipality_id=municipality_id,
                        hire_date=date(2026, 1, 1),
                    )
                    db.session.add(person)
                    db.session.commit()
                    committed.append(person.id)
                    if n == 50:
                        writing.set()
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
                writing.set()
            finally:
                db.session.remove()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writing.wait(timeout=30)
        before = list(committed)
        result = backup_of(sqlite_app, tmp_path / "backups")
        during = len(committed)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert errors == []
    assert len(committed) > during >= len(before) >= 50  # the writer never stopped

    copy = result.path / "database.sqlite"
    assert sorted(path.name for path in result.path.iterdir()) == [
        "SHA256SUMS",
        "database.sqlite",
        "manifest.json",
        "uploads",
    ]  # one self-contained file: no -wal or -shm beside it
    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        in_copy = {
            row[0]
            for row in connection.execute("SELECT id FROM employees WHERE first_name = 'Skrivare'")
        }
    assert set(before) <= in_copy <= set(committed)
    assert oct(copy.stat().st_mode & 0o777) == oct(0o600)  # personal data


def test_the_certificates_are_copied_byte_for_byte_and_the_manifest_lists_every_file(
    sqlite_app, tmp_path
):
    staff_with_certificates(3)
    uploads = Path(sqlite_app.config["UPLOAD_FOLDER"])
    (uploads / ".0123abcd.pdf.part").write_bytes(b"%PDF- half an upload")  # in progress
    originals = {path.name: sha256(path) for path in uploads.iterdir() if path.suffix == ".pdf"}
    assert len(originals) == 3

    result = backup_of(sqlite_app, tmp_path / "backups", now=MOMENT)

    assert result.path == tmp_path / "backups" / NAME
    copied = {path.name: sha256(path) for path in (result.path / "uploads").iterdir()}
    assert copied == originals  # the upload in progress is not part of the backup
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest == result.manifest
    live_revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert manifest["created_at"] == "2026-11-24T02:30:00+00:00"
    assert manifest["database"] == {
        "engine": "sqlite",
        "file": "database.sqlite",
        "schema_revision": live_revision,
    }
    assert manifest["uploads"] == {"folder": "uploads", "files": 3}
    assert manifest["file_count"] == 4
    assert manifest["files"] == {
        "database.sqlite": {
            "size": (result.path / "database.sqlite").stat().st_size,
            "sha256": sha256(result.path / "database.sqlite"),
        }
    } | {
        f"uploads/{name}": {"size": (uploads / name).stat().st_size, "sha256": digest}
        for name, digest in originals.items()
    }
    # The same hashes for `sha256sum -c SHA256SUMS` in the backup folder.
    checked = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],
        cwd=result.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == 4


def test_the_backup_restores_the_app_with_its_data_and_its_certificates(sqlite_app, tmp_path):
    people = {person.email for person in staff_with_certificates(2)}
    result = backup_of(sqlite_app, tmp_path / "backups")

    # Restoring is copying back: the database file, and the uploads as the upload folder.
    restored_database = tmp_path / "restored" / "training_tracker.sqlite"
    restored_database.parent.mkdir()
    shutil.copyfile(result.path / "database.sqlite", restored_database)
    shutil.copytree(result.path / "uploads", tmp_path / "restored" / "uploads")
    restored = app_on(restored_database, tmp_path / "restored" / "uploads")
    with restored.app_context():
        try:
            emails = set(db.session.scalars(sa.select(Employee.email)))
            assert people <= emails
            evidence = db.session.scalars(sa.select(Evidence)).all()
            assert len(evidence) == 2
            folder = Path(restored.config["UPLOAD_FOLDER"])
            for item in evidence:
                assert sha256(path_of(folder, item.storage_name)) == item.sha256
        finally:
            db.session.remove()
            db.engine.dispose()


def test_an_existing_backup_is_never_overwritten(sqlite_app, tmp_path):
    first = backup_of(sqlite_app, tmp_path / "backups", now=MOMENT)
    manifest = (first.path / "manifest.json").read_bytes()
    factories.employee()  # something changed since

    with pytest.raises(BackupError, match="exists already; a backup is never overwritten"):
        backup_of(sqlite_app, tmp_path / "backups", now=MOMENT)

    assert (first.path / "manifest.json").read_bytes() == manifest
    assert [path.name for path in (tmp_path / "backups").iterdir()] == [NAME]


def test_an_in_memory_database_is_refused():
    with pytest.raises(BackupError, match="in-memory SQLite database has no file"):
        create_backup(
            sa.create_engine("sqlite://"), upload_folder=Path("/nowhere"), destination=Path("/x")
        )


# --- PostgreSQL without pg_dump, the command, the suite's own database -----------------------


def test_on_postgresql_without_pg_dump_the_backup_stops_and_says_what_to_use(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no pg_dump anywhere
    never_connected = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    with pytest.raises(BackupError) as refused:
        create_backup(
            never_connected, upload_folder=tmp_path / "uploads", destination=tmp_path / "backups"
        )
    assert "pg_dump was not found on PATH" in str(refused.value)
    assert "pg_dump or pg_basebackup" in str(refused.value)
    assert not (tmp_path / "backups").exists()  # nothing written


def test_the_command_explains_both_databases_in_its_help(runner):
    result = runner.invoke(args=["backup", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "SQLite's backup API" in text
    assert "pg_dump --format=custom" in text and "pg_dump or pg_basebackup" in text
    assert "never overwrites" in text


def test_an_unwritable_path_is_a_clear_error_and_writes_nothing(runner, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = runner.invoke(args=["backup", str(blocker / "backups")])
    assert result.exit_code == 1
    if db.engine.dialect.name == "postgresql" and shutil.which("pg_dump") is None:
        expected = "pg_dump was not found on PATH"  # checked first, on such a machine
    else:
        expected = f"Error: Cannot create {blocker / 'backups'}: Not a directory."
    assert expected in result.output
    assert blocker.read_text() == "not a folder"


@pytest.fixture()
def scratch_postgresql() -> Iterator[str]:
    """An empty PostgreSQL database next to the suite's, for restoring into."""
    url = sa.make_url(db.engine.url)
    name = f"tt_restore_{uuid.uuid4().hex[:8]}"
    server = f"host={url.host} port={url.port or 5432} user={url.username} dbname=postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_flask_backup_backs_up_the_suites_database_and_it_restores(
    app, runner, uploads, tmp_path, request
):
    """On SQLite the online copy; on PostgreSQL a pg_dump that pg_restore reads and restores
    (or, on a machine without pg_dump, the message naming what to use)."""
    people = {person.email for person in staff_with_certificates(2)}
    engine = db.engine.dialect.name
    db.session.commit()

    result = runner.invoke(args=["backup", str(tmp_path / "backups")])

    if engine == "postgresql" and shutil.which("pg_dump") is None:
        assert result.exit_code == 1
        assert "pg_dump or pg_basebackup" in result.output
        return
    assert result.exit_code == 0, result.output
    [folder] = (tmp_path / "backups").iterdir()
    assert result.output.startswith(f"{folder}: {engine} database (revision ")
    assert result.output.endswith("2 uploaded files, 3 files in all\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"]["engine"] == engine
    assert sorted(path.name for path in (folder / "uploads").iterdir()) == sorted(
        path.name for path in uploads.iterdir()
    )
    if engine == "sqlite":
        restored_url = f"sqlite:///{folder / 'database.sqlite'}"
    else:
        dump = folder / "database.dump"
        assert manifest["files"]["database.dump"]["sha256"] == sha256(dump)
        listed = subprocess.run(
            ["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=False
        )
        assert listed.returncode == 0, listed.stderr
        assert "TABLE DATA public employees" in listed.stdout
        restored_url = request.getfixturevalue("scratch_postgresql")
        target = sa.make_url(restored_url)
        loaded = subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                f"--dbname={target.set(drivername='postgresql').render_as_string(False)}",
                str(dump),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert loaded.returncode == 0, loaded.stderr
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = restored_url
    config.UPLOAD_FOLDER = str(folder / "uploads")
    restored = create_app(config)
    with restored.app_context():
        try:
            assert people <= set(db.session.scalars(sa.select(Employee.email)))
            revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
            assert revision == manifest["database"]["schema_revision"]
        finally:
            db.session.remove()
            db.engine.dispose()


def test_pg_dump_gets_the_url_in_libpqs_keyword_form_spaces_and_all() -> None:
    """A URL's query reaches libpq with '+' for a space, which libpq does not decode."""
    from training_tracker.services.compliance.backup import _conninfo

    url = sa.make_url("postgresql://tracker@db.example:5433/tracker?options=-c%20work_mem%3D64MB")
    assert _conninfo(url) == (
        "host=db.example port=5433 user=tracker dbname=tracker options='-c work_mem=64MB'"
    )
