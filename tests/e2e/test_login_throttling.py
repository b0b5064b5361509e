"""Failed sign-ins are limited per account and per client address, and each one is recorded for auditors.

Through the login form (TestClient), with the real `limits` moving windows: in memory as in embedded
mode, and in Redis shared by two API processes as in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from api.app import create_app
from api.security import SESSION_COOKIE
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from tests.e2e.test_api_auth import PASSWORD, QUICK_PASSWORDS, bearer, form_csrf_token
from tests.services import fresh_redis_database

THROTTLED = "Demasiados intentos fallidos. Espere 15 min y vuelva a intentarlo."


def despacho_with(tmp_path: Path, clock: FixedClock, **settings: object) -> Despacho:
    despacho = build(Settings(var_dir=tmp_path / "var", **settings), clock=clock, passwords=QUICK_PASSWORDS)
    for login, role in (("ana", "agent"), ("carla", "agent"), ("auditor", "auditor")):
        despacho.staff.register(login, login.title(), role, password=PASSWORD, actor="system:test")
    return despacho


@pytest.fixture
def despacho(tmp_path: Path, clock: FixedClock) -> Iterator[Despacho]:
    built = despacho_with(tmp_path, clock, login_failures_per_address="8/15 minutes")
    yield built
    built.close()


def browser(despacho: Despacho, address: str = "10.0.0.1") -> TestClient:
    return TestClient(create_app(despacho), follow_redirects=False, client=(address, 50000))


def attempt(client: TestClient, login: str, password: str) -> httpx.Response:
    token = form_csrf_token(client.get("/login").text)
    return client.post("/login", data={"login": login, "password": password, "csrf_token": token})


def test_after_five_failures_an_account_waits_even_with_the_right_password(despacho: Despacho) -> None:
    with browser(despacho) as client:
        failures = [attempt(client, "ana", f"intento-{n}").status_code for n in range(5)]
        refused = attempt(client, "ana", PASSWORD)
        other_account = attempt(client, "carla", PASSWORD)

    assert failures == [401] * 5
    assert refused.status_code == 429
    assert THROTTLED in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert SESSION_COOKIE not in refused.cookies
    assert other_account.status_code == 303


def test_an_address_that_keeps_failing_waits_whatever_account_it_tries(despacho: Despacho) -> None:
    with browser(despacho, "10.0.0.66") as guesser, browser(despacho, "10.0.0.2") as colleague:
        failures = [attempt(guesser, login, "no-es-la-clave").status_code
                    for login in ("ana", "carla", "nadie", "admin", "root", "ana", "carla", "soporte")]
        blocked = attempt(guesser, "carla", PASSWORD)
        elsewhere = attempt(colleague, "carla", PASSWORD)

    assert failures == [401] * 8
    assert blocked.status_code == 429 and THROTTLED in blocked.text
    assert elsewhere.status_code == 303


def test_signing_in_starts_the_accounts_count_again(despacho: Despacho) -> None:
    with browser(despacho) as client:
        before = [attempt(client, "ana", "mal").status_code for _ in range(4)]
        signed_in = attempt(client, "ana", PASSWORD).status_code
        client.cookies.clear()
        after = [attempt(client, "ana", "mal").status_code for _ in range(3)]

    assert (before, signed_in, after) == ([401] * 4, 303, [401] * 3)


def test_the_wait_is_explained_in_english_to_english_browsers(despacho: Despacho) -> None:
    with browser(despacho) as client:
        client.cookies.set("lang", "en")
        for _ in range(5):
            attempt(client, "ana", "wrong")
        refused = attempt(client, "ana", PASSWORD)

    assert refused.status_code == 429
    assert "Too many failed attempts. Wait 15 min and try again." in refused.text


def test_auditors_see_each_failed_login_with_who_from_where_and_why(despacho: Despacho, clock: FixedClock) -> None:
    with browser(despacho, "203.0.113.7") as client:
        attempt(client, "Ana", "no-es-la-clave")
        attempt(client, "fantasma", PASSWORD)
        attempt(client, "carla", PASSWORD)
    auditor_account = despacho.staff.find_by_login("auditor")
    assert auditor_account is not None
    token = despacho.staff.issue_token(auditor_account.id, "t", actor="system:test")

    with browser(despacho) as auditor:
        events = auditor.get("/api/audit/events", headers=bearer(token)).json()

    failed = [e for e in events if e["type"] == "FailedLogin.Recorded"]
    assert sorted((e["data"]["login"], e["data"]["client_address"], e["data"]["reason"]) for e in failed) == [
        ("ana", "203.0.113.7", "wrong_password"), ("fantasma", "203.0.113.7", "unknown_login")]
    assert all(e["actor"] == "anonymous" and e["at"].startswith(clock.now().isoformat()[:16]) for e in failed)
    assert PASSWORD not in str(events) and "no-es-la-clave" not in str(events)


@pytest.mark.redis
def test_api_processes_on_one_redis_share_the_count(tmp_path: Path, clock: FixedClock) -> None:
    with fresh_redis_database() as redis_url:
        first = despacho_with(tmp_path / "1", clock, redis_url=redis_url)
        second = build(Settings(var_dir=tmp_path / "2", redis_url=redis_url), clock=clock, passwords=QUICK_PASSWORDS)
        second.staff.register("ana", "Ana", "agent", password=PASSWORD, actor="system:test")
        try:
            with browser(first) as one, browser(second) as other:
                failures = [attempt(one if n % 2 else other, "ana", "mal").status_code for n in range(5)]
                refused = attempt(other, "ana", PASSWORD)
        finally:
            first.close()
            second.close()

    assert failures == [401] * 5
    assert refused.status_code == 429
