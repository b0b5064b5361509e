"""Small SQL helpers shared by projectors (portable between SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import sha1
from typing import Any
from uuid import NAMESPACE_OID

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


@lru_cache(maxsize=1 << 16)
def uid(value: Any) -> str:
    """Aggregate ids are UUIDs in the store and strings in read tables (remembered: a batch asks for the same
    few ids many times, and formatting a UUID costs more than looking it up)."""
    return str(value)


def event_key(event: Any) -> str:
    """A unique, stable row key for one event: its aggregate id and version, as `uuid5` in the OID namespace
    (spelt out: building `UUID` objects cost a rebuild more than writing its rows)."""
    name = f"{event.originator_id}:{event.originator_version}".encode()
    digest = bytearray(sha1(_OID_NAMESPACE + name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = digest.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


_OID_NAMESPACE = NAMESPACE_OID.bytes


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
