"""How a database URL becomes the `eventsourcing` library's environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


class DatabaseUrlError(ValueError):
    pass


@dataclass(frozen=True)
class PoolSize:
    """Connections one PostgreSQL pool of one process holds: `size` kept open, `max_overflow` more under load."""

    size: int = 2
    max_overflow: int = 4


def eventsourcing_env(database_url: str, pool: PoolSize = PoolSize()) -> dict[str, str]:
    """`sqlite:///path` or `postgresql://user:pass@host:port/db` → library settings."""
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path
        dbname = unquote(parts.path[1:]) or ":memory:"
        if dbname != ":memory:":
            Path(dbname).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": dbname,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.removeprefix("/") or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": str(pool.size),
            "POSTGRES_MAX_OVERFLOW": str(pool.max_overflow),
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # A 100,000-row portfolio import is one save of ~10 MB of JSON; compressed it is a fraction of
            # that, which keeps psycopg's pipelined insert clear of a client/server write deadlock.
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        }
    raise DatabaseUrlError(f"unsupported database URL scheme: {parts.scheme!r}")


def sqlalchemy_url(database_url: str) -> str:
    """The same database for SQLAlchemy, through psycopg 3 on PostgreSQL."""
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg" + database_url[len(parts.scheme):]
    return database_url
