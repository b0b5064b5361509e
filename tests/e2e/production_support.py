"""Running Despacho's production processes from tests: their environment, starting and stopping them."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from despacho.bootstrap import build
from despacho.settings import Settings
from domain.campaigns import MIDNIGHT, WEEKDAYS
from tests.conftest import WITH_CLOSING_TEMPLATE
from tests.services import fresh_postgres_database, fresh_redis_database

NUMBER = "whatsapp:+5716000001"

WAIT_SECONDS = 30


def despacho_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "despacho.cli", *arguments]


def production_env(database_url: str, redis: str, var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DESPACHO_", "TWILIO_"))}
    return env | {
        "DESPACHO_MODE": "production",
        "DESPACHO_DATABASE_URL": database_url,
        "DESPACHO_REDIS_URL": redis,
        "DESPACHO_SECRET_KEY": secrets.token_urlsafe(48),
        "DESPACHO_PUBLIC_URL": "http://despacho.test",
        "DESPACHO_TWILIO_TRANSPORT": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "DESPACHO_TWILIO_API_BASE_URL": "http://127.0.0.1:9",  # nothing is sent here; if it were, it fails
        "DESPACHO_STORAGE": "local",
        "DESPACHO_VAR_DIR": str(var_dir),
        "DESPACHO_LOG_LEVEL": "INFO",
    } | overrides


def create_admin(env: dict[str, str], cwd: Path, login: str, password: str) -> None:
    """`despacho users create` for the first admin, as an install does."""
    created = subprocess.run(despacho_command("users", "create", "--role", "admin", "--login", login,
                                              "--name", "Administración", "--password", password),
                             env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert created.returncode == 0, created.stderr


@contextmanager
def processes(env: dict[str, str], logs: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start processes on demand; SIGTERM them all at the end and show their logs if anything failed."""
    started: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(name: str, *arguments: str) -> subprocess.Popen[bytes]:
        log = logs / f"{name}.log"
        with log.open("ab") as output:  # a restarted process goes on writing the same log
            process = subprocess.Popen(despacho_command(*arguments), env=env, cwd=logs, stdout=output,
                                       stderr=subprocess.STDOUT)
        started.append((name, process, log))
        return process

    try:
        yield start
    except BaseException:
        for name, _, log in started:
            print(f"----- {name} -----\n{log.read_text(errors='replace')}")
        raise
    finally:
        for _, process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process, _ in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(condition: Callable[[], Any], what: str, alive: list[subprocess.Popen[bytes]], *,
             seconds: int = WAIT_SECONDS) -> Any:
    """Poll until `condition()` is truthy; a bounded wait, not a measure of speed."""
    pause = threading.Event()
    for _ in range(seconds * 10):
        result = condition()
        if result:
            return result
        dead = [p.args for p in alive if p.poll() is not None]
        assert not dead, f"processes exited while waiting for {what}: {dead}"
        pause.wait(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def documents(count: int) -> list[str]:
    return [f"10{n:08d}" for n in range(1, count + 1)]


def seed(database_url: str, redis: str, var_dir: Path, customers: int, *, capacity: int = 25,
         agents: tuple[str, ...] = ("ana", "bruno", "carla")) -> dict[str, str]:
    """One campaign open all day, `customers` in its portfolio, agents signed in and available; their API tokens."""
    despacho = build(Settings(database_url=database_url, redis_url=redis, var_dir=var_dir))
    try:
        campaign = despacho.campaigns.register(
            "banco_a", "Banco A", "Banco A",
            {**WITH_CLOSING_TEMPLATE, "business_hours": {day: [MIDNIGHT, MIDNIGHT] for day in WEEKDAYS}},
            actor="test")
        despacho.campaigns.link_sender(campaign, NUMBER, "whatsapp", is_default=True, actor="test")
        rows = "".join(f"CC;{doc};Cliente {n}\n" for n, doc in enumerate(documents(customers)))
        despacho.portfolios.import_file(campaign, ("tipo_documento;documento;nombres\n" + rows).encode(),
                                        "cartera.csv", actor="test")
        tokens = {}
        for login in agents:
            agent = despacho.staff.register(login, login.title(), "agent", password="clave-de-asesor-1",
                                            capacity=capacity, campaign_ids=frozenset({str(campaign)}), actor="test")
            tokens[login] = despacho.staff.issue_token(agent, "prueba", actor="test")
            signed_in = despacho.staff.token_identity(tokens[login], client="test")  # the token's own session
            assert signed_in is not None
            despacho.staff.change_status(agent, "available", session_id=signed_in[1], actor="test")
        return tokens
    finally:
        despacho.close()


@pytest.fixture(name="database_url")
def postgres_database_fixture() -> Iterator[str]:
    """A fresh PostgreSQL database of the test's own (the processes run on PostgreSQL only)."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(name="redis_database")
def redis_database_fixture() -> Iterator[str]:
    with fresh_redis_database() as url:
        yield url
