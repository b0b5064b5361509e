"""Real PostgreSQL and Redis for the tests: the machine's services, or a skip that says why.

With DESPACHO_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails the run instead.
Each PostgreSQL test gets a database of its own, dropped afterwards. Each Redis test gets a
database number of its own, claimed in database 0 so concurrent runs on one machine never share
one, and emptied before and after use.
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


REDIS_DATABASES = range(1, 16)
REDIS_CLAIM_SECONDS = 3600  # a crashed run's claim lapses after an hour


@contextmanager
def fresh_redis_database() -> Iterator[str]:
    """A Redis database nobody else uses during this test, empty; a private server when all are taken."""
    import redis

    server = REDIS_URL.rsplit("/", 1)[0]
    claims = redis.Redis.from_url(f"{server}/0", socket_connect_timeout=2)
    try:
        claims.ping()
    except redis.RedisError:  # no Redis service on this machine: a server of our own from the Debian binary
        with private_redis_server() as private:
            yield private
        return
    owner = uuid.uuid4().hex
    number = next((n for n in REDIS_DATABASES
                   if claims.set(f"despacho-test:redis-db:{n}", owner, nx=True, ex=REDIS_CLAIM_SECONDS)), None)
    if number is None:
        with private_redis_server() as private:
            yield private
        return
    url = f"{server}/{number}"
    redis.Redis.from_url(url).flushdb()
    try:
        yield url
    finally:
        redis.Redis.from_url(url).flushdb()
        if claims.get(f"despacho-test:redis-db:{number}") == owner.encode():
            claims.delete(f"despacho-test:redis-db:{number}")


@contextmanager
def private_redis_server() -> Iterator[str]:
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        _missing("Redis", f"nothing answers at {REDIS_URL} (or all its test databases are taken) "
                          "and redis-server is not installed")
    port = free_port()
    process = subprocess.Popen([str(binary), "--port", str(port), "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(50):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.RedisError:
                time.sleep(0.1)
        else:
            _missing("Redis", "could not start redis-server")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
