"""Fixtures of the admin tests (campaigns, agents, portfolios): a Despacho on SQLite with two
campaigns and one user per role, an HTTP client, bearer tokens, and a worker for import jobs.

Test modules import the fixture functions (`from tests.e2e.admin_support import …  # noqa: F401`);
pytest finds them by their `name`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace
from uuid import UUID

import dramatiq
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from adapters.passwords import Argon2Passwords
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.runtime import background
from despacho.settings import Settings
from tests.conftest import WITH_CLOSING_TEMPLATE

PASSWORD = "clave-de-prueba-123"
QUICK_PASSWORDS = Argon2Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(name="despacho")
def despacho_fixture(sqlite_settings: Settings, clock: FixedClock) -> Iterator[Despacho]:
    built = build(sqlite_settings, clock=clock, passwords=QUICK_PASSWORDS)
    yield built
    built.close()


@pytest.fixture(name="client")
def client_fixture(despacho: Despacho) -> Iterator[TestClient]:
    with TestClient(create_app(despacho), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture(name="served_client")
def served_client_fixture(despacho: Despacho) -> Iterator[TestClient]:
    """The client with the projector following the log, as when served, so a form's redirect finds its change on
    the next page. Apart from `client`: tests that drive the projections by hand must not race a second runner."""
    with background(despacho, projector=True, worker=False, scheduler=False), \
            TestClient(create_app(despacho), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture(name="staff")
def staff_fixture(despacho: Despacho) -> SimpleNamespace:
    """Campaigns banco_a and telco_b; the supervisor and the agent work on banco_a only."""
    banco_a = str(despacho.campaigns.register("banco_a", "Banco A", "Banco A", WITH_CLOSING_TEMPLATE,
                                              actor="system:test"))
    telco_b = str(despacho.campaigns.register("telco_b", "Telco B", "Telco B", {}, actor="system:test"))

    def user(login: str, name: str, role: str, campaigns: frozenset[str] = frozenset()) -> str:
        return str(despacho.staff.register(login, name, role, password=PASSWORD, campaign_ids=campaigns,
                                           actor="system:test"))

    staff = SimpleNamespace(
        banco_a=banco_a, telco_b=telco_b,
        admin=user("admin", "Administración", "admin"),
        supervisor=user("supervisora", "Sandra Supervisora", "supervisor", frozenset({banco_a})),
        agent=user("ana", "Ana Asesora", "agent", frozenset({banco_a})),
    )
    despacho.runner.catch_up()
    return staff


@pytest.fixture(name="worker")
def worker_fixture(despacho: Despacho) -> Iterator[dramatiq.Worker]:
    """A dramatiq worker on the embedded stub broker; `run_jobs` waits for it."""
    worker = dramatiq.Worker(despacho.broker, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


def run_jobs(despacho: Despacho, worker: dramatiq.Worker) -> None:
    """Let queued import jobs finish, then bring the read tables up to date."""
    despacho.runner.catch_up()
    despacho.broker.join("portfolios", fail_fast=True)
    worker.join()
    despacho.runner.catch_up()


def bearer(despacho: Despacho, user_id: str) -> dict[str, str]:
    token = despacho.staff.issue_token(UUID(user_id), "tests", actor="system:test")
    return {"Authorization": f"Bearer {token}"}


def log_in(client: TestClient, login: str) -> str:
    """Sign in through the form; returns the session's CSRF token for later forms."""
    token = _csrf(client.get("/login").text)
    response = client.post("/login", data={"login": login, "password": PASSWORD, "next": "/", "csrf_token": token})
    assert response.status_code == 303, response.text
    return _csrf(client.get("/").text)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)
