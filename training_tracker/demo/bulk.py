"""How the demo's rows reach the database: in bulk, never as ORM objects one by one.

COPY on PostgreSQL (psycopg's ``cursor.copy`` on the session's own connection, so inside the
caller's transaction) and ``executemany`` on SQLite; ids reserved ahead, since COPY cannot return
the ones it made; and, for a large seed on PostgreSQL, the keys and indexes set aside while rows
load and built again in one pass each.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    import psycopg


class BulkWriter:
    """Rows for several tables, written in bulk, the tables in the order given (the ones
    referred to first): COPY on PostgreSQL, executemany elsewhere.

    On PostgreSQL a second thread runs the COPYs, so that the database stores one batch (on
    the other core) while this thread makes the next; psycopg waits for the server without
    holding the GIL. Use it in a ``with`` block: leaving writes what is left and waits for it.
    """

    def __init__(self, connection: sa.Connection, tables: list[tuple[sa.Table, tuple[str, ...]]]):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.tables = tables
        self.rows: dict[str, list[tuple[object, ...]]] = {table.name: [] for table, _ in tables}
        self._batches: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> BulkWriter:
        if self.postgres:
            driver = self.connection.connection.driver_connection
            self._thread = threading.Thread(
                target=self._copy_batches, args=(driver,), name="demo-copy", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_details: object) -> None:
        try:
            if error_type is None:
                self.flush()
        finally:
            if self._thread is not None:
                self._batches.put(None)
                self._thread.join()
                self._thread = None
        if error_type is None and self._error is not None:
            raise self._error

    def flush(self) -> None:
        for table, columns in self.tables:
            rows = self.rows[table.name]
            if rows:
                self._write(table, columns, rows)
                rows.clear()

    def _write(self, table: sa.Table, columns: tuple[str, ...], rows: list[tuple[object, ...]]):
        if self.postgres:
            if self._error is not None:
                raise self._error
            assert self._thread is not None, "use the writer in a with block"
            statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
            # COPY's text format, made here: psycopg's write_row costs several times more
            # per row, and there are millions.
            text = "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows)
            self._batches.put((statement, text))
        else:
            # executemany on the driver, each value stored as SQLAlchemy itself would store it
            # (its bind processors): without the per-row work of a Core insert.
            dialect = self.connection.dialect
            processors = [table.c[name].type.bind_processor(dialect) for name in columns]
            statement = (
                f"INSERT INTO {table.name} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})"
            )
            if any(processors):
                rows = [
                    tuple(
                        value if process is None else process(value)
                        for process, value in zip(processors, row, strict=True)
                    )
                    for row in rows
                ]
            self.connection.exec_driver_sql(statement, rows)

    def _copy_batches(self, driver: psycopg.Connection[object]) -> None:
        while (batch := self._batches.get()) is not None:
            if self._error is not None:
                continue  # the first error is raised in the main thread; drain the rest
            statement, text = batch
            try:
                with driver.cursor() as cursor, cursor.copy(statement) as copy:
                    copy.write(text)
            except BaseException as error:  # noqa: BLE001 - re-raised in the main thread
                self._error = error


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: object) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, dict):
        return json.dumps(value).translate(_COPY_ESCAPES)
    return str(value)  # numbers; dates and naive timestamps in ISO form


@contextmanager
def keys_and_indexes_built_at_the_end(
    connection: sa.Connection, tables: list[str], *, large: bool
) -> Iterator[None]:
    """On PostgreSQL, drop the tables' foreign keys, unique constraints and secondary indexes
    while rows are copied in, and build them again afterwards: each in one pass over the
    table (a sort, a join) instead of one B-tree insertion or lookup per row, as the manual
    advises for populating a database. Per row, they took most of the national seed's time.
    Primary keys stay. The definitions are read from the database, so everything comes back
    exactly as it was; DDL is transactional, so a seed that fails restores them with its
    rollback."""
    if connection.dialect.name != "postgresql" or not large:
        yield
        return
    in_tables: sa.BindParameter[list[str]] = sa.bindparam("tables", expanding=True)
    keys = connection.execute(
        sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype IN ('f', 'u')"
            " AND conrelid::regclass::text IN :tables"
            " ORDER BY contype, conrelid::regclass::text, conname"  # foreign keys first
        ).bindparams(in_tables),
        {"tables": tables},
    ).all()
    indexes = connection.execute(
        sa.text(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid::regclass::text IN :tables AND NOT indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint"
            "  WHERE conindid = indexrelid AND contype IN ('p', 'u', 'x'))"
            " ORDER BY 1"
        ).bindparams(in_tables),
        {"tables": tables},
    ).all()
    quote = connection.dialect.identifier_preparer.quote
    for table, name, _definition in keys:
        connection.exec_driver_sql(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    for name, _definition in indexes:
        connection.exec_driver_sql(f"DROP INDEX {quote(name)}")
    yield
    # Big sorts: more memory than the default 64 MB, for this transaction only.
    connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        connection.exec_driver_sql(definition)
    for table, name, definition in reversed(keys):  # unique constraints, then foreign keys
        connection.exec_driver_sql(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
        )


def reserve_ids(connection: sa.Connection, table: sa.Table, count: int) -> int:
    """The first of ``count`` consecutive ids nobody else will be given, for rows written
    with their ids (COPY cannot return the ones it made)."""
    if connection.dialect.name == "postgresql":
        first = connection.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence(:t, 'id'),"
                " nextval(pg_get_serial_sequence(:t, 'id')) + :n - 1) - :n + 1"
            ),
            {"t": table.name, "n": max(count, 1)},
        ).scalar_one()
        return int(first)
    return int(connection.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
