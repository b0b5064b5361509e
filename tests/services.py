"""Real PostgreSQL and Redis for the tests: the machine's services, or a skip that says why.

With DESPACHO_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails the run instead.
Each PostgreSQL test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_HOST = os.environ.get("DESPACHO_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("DESPACHO_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("DESPACHO_TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("DESPACHO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _missing(service: str, why: str) -> None:
    message = f"{service} is not available ({why}); start it or run .ci/run"
    if os.environ.get("DESPACHO_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(f"SKIPPED LOUDLY: {message}")


def require_binary(binary: str, debian_package: str) -> str:
    path = shutil.which(binary)
    if path is None:
        _missing(binary, f"install Debian's {debian_package}")
    return str(path)


def _admin_connection() -> object:
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
                           connect_timeout=3)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    import psycopg

    try:
        admin = _admin_connection()
    except psycopg.OperationalError as exc:
        _missing("PostgreSQL", str(exc).strip().splitlines()[0])
    name = f"despacho_test_{uuid.uuid4().hex[:12]}"
    with admin:  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with _admin_connection() as admin:  # type: ignore[attr-defined]
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_url() -> str:
    """The machine's Redis, or one started from the Debian binary for this test run."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return REDIS_URL
    except redis.RedisError as exc:
        binary = shutil.which("redis-server")
        if binary is None:
            _missing("Redis", str(exc))
        port = free_port()
        subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(50):
            try:
                redis.Redis.from_url(url).ping()
                return url
            except redis.RedisError:
                time.sleep(0.1)
        _missing("Redis", "could not start redis-server")
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
