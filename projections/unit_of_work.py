"""A batch's writes to read tables, folded per row in memory and written once at the end.

Handlers insert, update and delete rows by primary key; the unit of work keeps each touched row's
current value (what the batch has made of it so far) beside its value in the database before the
batch (read at most once, by primary key or by a column's value). At the end of the batch each row
is written once, whatever number of events changed it: new rows in one INSERT, changed rows in one
INSERT … ON CONFLICT DO UPDATE, removed rows in one DELETE, all in the batch's transaction (on SQLite
the driver's executemany of ready tuples; on PostgreSQL one statement over `json_populate_recordset`).
Nothing the batch wrote is ever read back from the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, text, tuple_

Row = dict[str, Any]
UNKNOWN: Any = object()  # the row's value before the batch has not been read (a blind insert or delete)
CHUNK = 400  # keys per IN (…): far below SQLite's limit on bound parameters


class DuplicateRowError(Exception):
    """A batch inserted a row whose primary key it already holds: the event was applied twice."""


class TableStatements:
    """One table's statements, built once per projector and reused by every batch."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.key_columns = tuple(c.name for c in table.primary_key.columns)
        self.columns = tuple(c.name for c in table.columns)
        self.defaults = {c.name: c.default.arg if c.default is not None and c.default.is_scalar else None
                         for c in table.columns}
        keys = [table.c[name] for name in self.key_columns]
        key_expression = keys[0] if len(keys) == 1 else tuple_(*keys)
        self.select_keys = select(table).where(key_expression.in_(bindparam("keys", expanding=True)))
        self._group_selects: dict[str, Any] = {}
        self._writers: dict[str, SqliteStatements | RecordsetStatements] = {}

    def writer(self, dialect: Any) -> SqliteStatements | RecordsetStatements:
        """SQLite's driver takes the rows as tuples; PostgreSQL as one JSON parameter."""
        if dialect.name not in self._writers:
            if dialect.name == "sqlite":
                self._writers[dialect.name] = SqliteStatements(self.table, self.key_columns, dialect)
            elif dialect.name == "postgresql":
                self._writers[dialect.name] = RecordsetStatements(self.table, self.key_columns)
            else:  # settings accept only these two URLs; anything else is a wiring mistake, said plainly
                raise ValueError(f"read tables are kept on SQLite or PostgreSQL, not {dialect.name}")
        return self._writers[dialect.name]

    def select_group(self, column: str) -> Any:
        if column not in self._group_selects:
            self._group_selects[column] = select(self.table).where(
                self.table.c[column].in_(bindparam("values", expanding=True)))
        return self._group_selects[column]


class SqliteStatements:
    """A table's writes in SQLite's own SQL, run by the driver's executemany on tuples the columns' types have
    already converted: SQLAlchemy's per-row parameter handling costs more than SQLite's writing."""

    def __init__(self, table: Table, key_columns: Sequence[str], dialect: Any) -> None:
        name, columns = table.name, [c.name for c in table.columns]
        marks = ", ".join("?" for _ in columns)
        changing = [c for c in columns if c not in key_columns]
        conflict = (f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in changing)}" if changing
                    else "DO NOTHING")
        self.insert = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        self.upsert = f"{self.insert} ON CONFLICT ({', '.join(key_columns)}) {conflict}"
        self.delete = f"DELETE FROM {name} WHERE {' AND '.join(f'{c} = ?' for c in key_columns)}"  # noqa: S608
        self._columns = [(c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in table.columns]
        self._key_columns = key_columns

    def write(self, connection: Connection, deletes: list[Row], inserts: list[Row], upserts: list[Row]) -> None:
        if deletes:
            connection.exec_driver_sql(self.delete, [tuple(k[c] for c in self._key_columns) for k in deletes])
        if inserts:
            connection.exec_driver_sql(self.insert, self._tuples(inserts))
        if upserts:
            connection.exec_driver_sql(self.upsert, self._tuples(upserts))

    def _tuples(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        columns = self._columns
        return [tuple(row[name] if process is None else process(row[name]) for name, process in columns)
                for row in rows]


class RecordsetStatements:
    """INSERT, upsert and DELETE of many rows sent as one `json_populate_recordset` parameter, whose row type is
    the table's own: PostgreSQL reads each column's JSON as the column's type."""

    def __init__(self, table: Table, key_columns: Sequence[str]) -> None:
        name = table.name  # our own tables' names: identifiers that need no quoting
        columns = ", ".join(c.name for c in table.columns)
        rows = f"json_populate_recordset(NULL::{name}, CAST(:rows AS json))"
        changing = [c.name for c in table.columns if c.name not in key_columns]
        conflict = (f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in changing)}" if changing
                    else "DO NOTHING")
        self.insert = text(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {rows}")  # noqa: S608
        self.upsert = text(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {rows} "  # noqa: S608
                           f"ON CONFLICT ({', '.join(key_columns)}) {conflict}")
        matching = " AND ".join(f"{name}.{c} = r.{c}" for c in key_columns)
        self.delete = text(f"DELETE FROM {name} USING {rows} AS r WHERE {matching}")  # noqa: S608

    def write(self, connection: Connection, deletes: list[Row], inserts: list[Row], upserts: list[Row]) -> None:
        for statement, rows in ((self.delete, deletes), (self.insert, inserts), (self.upsert, upserts)):
            if rows:
                connection.execute(statement, {"rows": json.dumps(rows, default=_json_value, separators=(",", ":"))})


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime written to a read table")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):  # a local day (the metric tables' daily counters)
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a read-table value")


class TableWork:
    """One table's rows touched by the batch: before (`base`) and now (`current`, None when absent)."""

    def __init__(self, statements: TableStatements, connection: Connection) -> None:
        self.statements = statements
        self.connection = connection
        self.key_columns = statements.key_columns
        self.single_key = len(self.key_columns) == 1
        self.base: dict[Any, Row | None] = {}
        self.current: dict[Any, Row | None] = {}
        self.dirty: set[Any] = set()
        self.groups: dict[str, dict[Any, set[Any]]] = {}  # column -> value -> keys whose current row has it
        self.loaded_groups: set[tuple[str, Any]] = set()

    def key_of(self, row: Mapping[str, Any]) -> Any:
        if self.single_key:
            return row[self.key_columns[0]]
        return tuple(row[name] for name in self.key_columns)

    # ---- reading ----

    def get(self, key: Any) -> Row | None:
        """The row as the batch has left it so far (read from the database once); do not mutate it."""
        if key not in self.current:
            self.load([key])
        return self.current[key]

    def load(self, keys: Iterable[Any]) -> None:
        """Read the rows of these keys (those not known yet) in as few SELECTs as possible."""
        missing = list(dict.fromkeys(k for k in keys if k not in self.current))
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start:start + CHUNK]
            found = {self.key_of(r): r for r in self._fetch(self.statements.select_keys, {"keys": chunk})}
            for key in chunk:
                self._remember(key, found.get(key))

    def where(self, column: str, value: Any) -> list[Row]:
        """Every row whose current `column` is `value`: the database's, as the batch has changed them, and the
        batch's own. Not for NULL, which SQL's `=` never matches."""
        if value is None:
            raise ValueError("where() compares with =, which no NULL satisfies")
        if (column, value) not in self.loaded_groups:
            self.load_groups(column, [value])
        return [row for key in self._group(column).get(value, ()) if (row := self.current[key]) is not None]

    def load_groups(self, column: str, values: Iterable[Any]) -> None:
        missing = [v for v in dict.fromkeys(values) if (column, v) not in self.loaded_groups]
        self._group(column)
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start:start + CHUNK]
            for row in self._fetch(self.statements.select_group(column), {"values": chunk}):
                key = self.key_of(row)
                if key not in self.current:
                    self._remember(key, row)
            self.loaded_groups.update((column, v) for v in chunk)

    def _fetch(self, statement: Any, parameters: dict[str, Any]) -> list[Row]:
        return [dict(r) for r in self.connection.execute(statement, parameters).mappings()]

    def _remember(self, key: Any, row: Row | None) -> None:
        self.base[key] = row
        self._set(key, None if row is None else dict(row))

    def _group(self, column: str) -> dict[Any, set[Any]]:
        """The index of current rows by `column`, built on first use and kept up to date by `_set`."""
        if column not in self.groups:
            index: dict[Any, set[Any]] = {}
            for key, row in self.current.items():
                if row is not None:
                    index.setdefault(row[column], set()).add(key)
            self.groups[column] = index
        return self.groups[column]

    def _set(self, key: Any, row: Row | None) -> None:
        old = self.current.get(key)
        for column, index in self.groups.items():
            if old is not None:
                index[old[column]].discard(key)
            if row is not None:
                index.setdefault(row[column], set()).add(key)
        self.current[key] = row

    # ---- changing ----

    def insert(self, values: Mapping[str, Any]) -> Row:
        row = {**self.statements.defaults, **values}
        key = self.key_of(row)
        if self.current.get(key) is not None:
            raise DuplicateRowError(f"{self.statements.table.name}: row {key!r} inserted twice")
        self.base.setdefault(key, None)  # not read: the INSERT fails in the database if it was there
        self._set(key, row)
        self.dirty.add(key)
        return row

    def upsert(self, values: Mapping[str, Any]) -> Row:
        """Insert the row, or update the given columns of the existing one."""
        key = self.key_of(values)
        if self.get(key) is None:
            return self.insert(values)
        return self.update(key, values)  # type: ignore[return-value]

    def replace(self, values: Mapping[str, Any]) -> Row:
        """Insert the row or overwrite every column of the existing one, without reading it first."""
        missing = set(self.statements.columns) - values.keys()
        if missing:
            raise ValueError(f"{self.statements.table.name}: replace() needs every column; missing {sorted(missing)}")
        key = self.key_of(values)
        if key not in self.current:
            self.base[key] = UNKNOWN
        row = dict(values)
        self._set(key, row)
        self.dirty.add(key)
        return row

    def update(self, key: Any, values: Mapping[str, Any]) -> Row | None:
        """Change some columns of a row; nothing when there is no such row (as an UPDATE). Returns the row."""
        row = self.get(key)
        if row is None:
            return None
        for column, index in self.groups.items():
            if column in values and values[column] != row[column]:
                index[row[column]].discard(key)
                index.setdefault(values[column], set()).add(key)
        row.update(values)
        self.dirty.add(key)
        return row

    def delete(self, key: Any) -> None:
        """Remove a row (if there is one); it need not have been read."""
        if key not in self.current:
            self.base[key] = UNKNOWN
        self._set(key, None)
        self.dirty.add(key)

    # ---- writing ----

    def flush(self) -> None:
        inserts, upserts, deletes = [], [], []
        for key in self.dirty:
            before, now = self.base[key], self.current[key]
            if now is None:
                if before is not None:
                    deletes.append(key)
            elif before is None:
                inserts.append(now)
            elif before is UNKNOWN or now != before:
                upserts.append(now)
        self.statements.writer(self.connection.dialect).write(
            self.connection, [self._key_row(k) for k in deletes], inserts, upserts)
        for key in self.dirty:
            self.base[key] = None if self.current[key] is None else dict(self.current[key])  # type: ignore[arg-type]
        self.dirty.clear()

    def _key_row(self, key: Any) -> dict[str, Any]:
        return dict(zip(self.key_columns, (key,) if self.single_key else key, strict=True))


class UnitOfWork:
    """Every table a projector writes, for one batch in one transaction."""

    def __init__(self, connection: Connection, statements: Mapping[Table, TableStatements]) -> None:
        self.connection = connection
        self._statements = statements
        self._tables: dict[Table, TableWork] = {}

    def table(self, table: Table) -> TableWork:
        work = self._tables.get(table)
        if work is None:
            work = self._tables[table] = TableWork(self._statements[table], self.connection)
        return work

    def get(self, table: Table, key: Any) -> Row | None:
        return self.table(table).get(key)

    def where(self, table: Table, column: str, value: Any) -> list[Row]:
        return self.table(table).where(column, value)

    def insert(self, table: Table, **values: Any) -> Row:
        return self.table(table).insert(values)

    def upsert(self, table: Table, **values: Any) -> Row:
        return self.table(table).upsert(values)

    def replace(self, table: Table, **values: Any) -> Row:
        return self.table(table).replace(values)

    def update(self, table: Table, key: Any, **values: Any) -> Row | None:
        return self.table(table).update(key, values)

    def delete(self, table: Table, key: Any) -> None:
        self.table(table).delete(key)

    def load(self, table: Table, keys: Iterable[Any]) -> None:
        """Read these rows now, together (a projector knows the batch's keys before applying it)."""
        self.table(table).load(keys)

    def load_groups(self, table: Table, column: str, values: Iterable[Any]) -> None:
        self.table(table).load_groups(column, values)

    def flush(self, tables: Sequence[Table] | None = None) -> None:
        """Write what the batch changed (of these tables, in their order; of every table by default)."""
        for table in tables if tables is not None else list(self._tables):
            if table in self._tables:
                self._tables[table].flush()
