"""Real PostgreSQL and Redis for the tests: the machine's services, or a skip that says why.

With DESPACHO_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails the run instead.
Each PostgreSQL test gets a database of its own, dropped afterwards. Each Redis test gets a
database number of its own, claimed in database 0 so concurrent runs on one machine never share
one, and emptied before and after use.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    with restartable_redis_server() as server:
        yield server.url


class PrivateRedis:
    """A redis-server of this test's own on a fixed port, which the test may stop and start again."""

    def __init__(self, binary: str) -> None:
        self.binary, self.port = binary, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        _missing("Redis", "could not start redis-server")

    def restart(self, down_seconds: float = 0.0) -> None:
        """SHUTDOWN NOSAVE: the server comes back empty, as a Redis without persistence does."""
        import redis

        with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it goes
            redis.Redis.from_url(self.url).shutdown(nosave=True)
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def restartable_redis_server() -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("Redis", f"nothing answers at {REDIS_URL} (or all its test databases are taken) "
                          "and redis-server is not installed")
    server = PrivateRedis(str(binary))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own (initdb in a temporary folder, its own port), which the test may
    restart; never the machine's shared server, which other tests use at the same time."""

    def __init__(self, bin_dir: Path, data_dir: Path) -> None:
        self.bin_dir, self.data_dir, self.port = bin_dir, data_dir, free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *arguments: str) -> None:
        command = [str(self.bin_dir / tool), *arguments]
        if os.geteuid() == 0:  # postgres refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=self.data_dir.parent)

    def initdb(self) -> None:
        self.data_dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        self.run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--no-sync")

    def pg_ctl(self, action: str, *arguments: str) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", action, "-D", str(self.data_dir), "-o", options, "-l", str(self.data_dir / "server.log"),
                 "-w", "-t", "60", *arguments)

    def restart(self, mode: str = "fast") -> None:
        """`fast` disconnects every session and shuts down cleanly; `immediate` is a crash, recovered at start."""
        self.pg_ctl("restart", "-m", mode)

    def create_database(self) -> str:
        import psycopg

        name = f"despacho_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def private_postgres_server() -> Iterator[PrivatePostgres]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        _missing("PostgreSQL", "no server binaries in /usr/lib/postgresql/*/bin (install Debian's postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _missing("PostgreSQL", "running as root and runuser is missing to start the server as postgres")
    base_dir = Path(tempfile.mkdtemp(prefix="despacho-pg-"))  # not under pytest's tmp, which only root may enter
    if os.geteuid() == 0:
        shutil.chown(base_dir, "postgres", "postgres")
    server = PrivatePostgres(found[-1].parent, base_dir / "cluster")
    try:
        server.initdb()
        server.pg_ctl("start")
        try:
            yield server
        finally:
            server.pg_ctl("stop", "-m", "immediate")
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
