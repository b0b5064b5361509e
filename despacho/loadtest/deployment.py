"""`despacho loadtest --spawn`: the production processes on this machine, on a database and a Redis database of
their own, for one run. A fresh PostgreSQL database (dropped afterwards), a Redis database claimed the way the
test suite claims one (a key in database 0, so a concurrent test run never shares it; emptied before and after),
an admin created by `despacho users create`, then `despacho api`, `worker` and `projector`, stopped with SIGTERM."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis

from despacho.settings import Settings

REDIS_CLAIM = "despacho-test:redis-db:{}"  # the test suite's claims (tests/services.py): one scheme for both
REDIS_CLAIM_SECONDS = 3600
REDIS_DATABASES = range(1, 16)
START_SECONDS = 180  # a loaded machine takes its time importing the app
STOP_SECONDS = 20
ADMIN_LOGIN = "admin_carga"
PROCESSES = {"api": ("api", "--host", "127.0.0.1", "--port", "{api_port}"), "worker": ("worker", "--threads", "4"),
             "projector": ("projector",)}


class SpawnError(Exception):
    """The deployment did not come up; the message says which process and shows its log's end."""


@dataclass(frozen=True)
class Deployment:
    base_url: str
    settings: Settings
    admin_login: str
    admin_password: str
    fake_twilio_port: int


@contextmanager
def spawned(postgres_url: str, redis_url: str, api_port: int, fake_twilio_port: int) -> Iterator[Deployment]:
    with (fresh_database(postgres_url) as database_url, claimed_redis_database(redis_url) as redis_database,
          tempfile.TemporaryDirectory(prefix="despacho-loadtest-") as workdir):
        env = production_env(database_url, redis_database, Path(workdir), api_port, fake_twilio_port)
        password = secrets.token_urlsafe(18)
        run_once(env, workdir, "users", "create", "--role", "admin", "--login", ADMIN_LOGIN, "--name",
                 "Prueba de carga", "--password", password)
        with processes(env, Path(workdir), api_port) as base_url:
            yield Deployment(base_url, settings_of(env), ADMIN_LOGIN, password, fake_twilio_port)


def production_env(database_url: str, redis_database: str, workdir: Path, api_port: int,
                   fake_twilio_port: int) -> dict[str, str]:
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(("DESPACHO_", "TWILIO_"))}
    return inherited | {
        "DESPACHO_MODE": "production", "DESPACHO_DATABASE_URL": database_url, "DESPACHO_REDIS_URL": redis_database,
        "DESPACHO_SECRET_KEY": secrets.token_urlsafe(48), "DESPACHO_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "DESPACHO_TWILIO_TRANSPORT": "twilio", "DESPACHO_TWILIO_API_BASE_URL": f"http://127.0.0.1:{fake_twilio_port}",
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16), "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "DESPACHO_STORAGE": "local", "DESPACHO_VAR_DIR": str(workdir / "var"), "DESPACHO_LOG_LEVEL": "WARNING",
    }


def settings_of(env: dict[str, str]) -> Settings:
    """The deployment's settings, read from its environment as its processes read them."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def despacho_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "despacho.cli", *arguments]


def run_once(env: dict[str, str], workdir: str, *arguments: str) -> None:
    done = subprocess.run(despacho_command(*arguments), env=env, cwd=workdir,  # noqa: S603 - our own command
                          capture_output=True, text=True, timeout=START_SECONDS, check=False)
    if done.returncode != 0:
        raise SpawnError(f"despacho {arguments[0]} {arguments[1]}: {done.stderr[-2000:]}")


@contextmanager
def processes(env: dict[str, str], workdir: Path, api_port: int) -> Iterator[str]:
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, arguments in PROCESSES.items():
            with (workdir / f"{name}.log").open("wb") as log:
                started[name] = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
                    despacho_command(*(a.format(api_port=api_port) for a in arguments)), env=env, cwd=workdir,
                    stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{api_port}"
        wait_until_healthy(base_url, started, workdir)
        yield base_url
        if dead := [name for name, process in started.items() if process.poll() is not None]:
            raise SpawnError(failure(f"{', '.join(dead)} terminó durante la prueba", dead[0], workdir))
    finally:
        stop(list(started.values()))


def wait_until_healthy(base_url: str, started: dict[str, subprocess.Popen[bytes]], workdir: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        for name, process in started.items():
            if process.poll() is not None:
                raise SpawnError(failure(f"{name} terminó al arrancar", name, workdir))
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SpawnError(failure("la API no respondió /healthz", "api", workdir))


def failure(what: str, name: str, workdir: Path) -> str:
    return f"{what}; final de {name}.log:\n{(workdir / f'{name}.log').read_text(errors='replace')[-3000:]}"


def stop(running: list[subprocess.Popen[bytes]]) -> None:
    for process in running:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def fresh_database(postgres_url: str) -> Iterator[str]:
    """`postgres_url` names the server and a database to connect to (`postgres`); a new one is made beside it."""
    name = f"despacho_loadtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def claimed_redis_database(redis_url: str) -> Iterator[str]:
    server = redis_url.rsplit("/", 1)[0]
    claims = redis.Redis.from_url(f"{server}/0")
    owner = uuid.uuid4().hex
    number = next((n for n in REDIS_DATABASES
                   if claims.set(REDIS_CLAIM.format(n), owner, nx=True, ex=REDIS_CLAIM_SECONDS)), None)
    if number is None:
        raise SpawnError(f"todas las bases de Redis 1–15 de {server} están en uso")
    url = f"{server}/{number}"
    redis.Redis.from_url(url).flushdb()
    try:
        yield url
    finally:
        redis.Redis.from_url(url).flushdb()
        if claims.get(REDIS_CLAIM.format(number)) == owner.encode():
            claims.delete(REDIS_CLAIM.format(number))


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])
