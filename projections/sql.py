"""Small SQL helpers shared by projectors (portable between SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_OID, uuid5

from sqlalchemy import Connection, DateTime, Table, TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite


def upsert(connection: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert rows, or update the existing row with the same key columns."""
    if not rows:
        return
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(table)
    updated = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys and c.name in rows[0]}
    statement = statement.on_conflict_do_update(index_elements=list(keys), set_=updated) if updated \
        else statement.on_conflict_do_nothing(index_elements=list(keys))
    connection.execute(statement, list(rows))


def uid(value: Any) -> str:
    """Aggregate ids are UUIDs in the store and strings in read tables."""
    return str(value)


def event_key(event: Any) -> str:
    """A unique, stable row key for one event: its aggregate id and version."""
    return str(uuid5(NAMESPACE_OID, f"{event.originator_id}:{event.originator_version}"))


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC; always gives back timezone-aware datetimes, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime written to a read table")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
