"""Signing in and out, CSRF, bearer tokens, roles and the audit trail, through HTTP (TestClient, SQLite)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select, text

import api.routers.live
from adapters.clock import FixedClock
from adapters.passwords import Argon2Passwords
from api.app import create_app
from api.authentication import ANONYMOUS_CSRF_COOKIE
from api.security import SESSION_COOKIE
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from projections.queries import AGENTS
from tests.conftest import WITH_CLOSING_TEMPLATE

PASSWORD = "clave-de-prueba-123"
# Real argon2id, with costs low enough for many logins per test run.
QUICK_PASSWORDS = Argon2Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def despacho(sqlite_settings: Settings, clock: FixedClock) -> Iterator[Despacho]:
    built = build(sqlite_settings, clock=clock, passwords=QUICK_PASSWORDS)
    yield built
    built.close()


@pytest.fixture
def client(despacho: Despacho) -> Iterator[TestClient]:
    with TestClient(create_app(despacho), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def staff(despacho: Despacho) -> SimpleNamespace:
    """A campaign per client, and one user per role; the supervisor and the agent work on banco_a only."""
    banco_a = str(despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor="system:test"))
    telco_b = str(despacho.campaigns.register("telco_b", "Telco B", "Telco B", WITH_CLOSING_TEMPLATE,
                                              actor="system:test"))

    def user(login: str, name: str, role: str, campaigns: frozenset[str] = frozenset()) -> str:
        return str(despacho.staff.register(login, name, role, password=PASSWORD, campaign_ids=campaigns,
                                           actor="system:test"))

    return SimpleNamespace(
        banco_a=banco_a, telco_b=telco_b,
        admin=user("admin", "Administración", "admin"),
        supervisor=user("supervisora", "Sandra Supervisora", "supervisor", frozenset({banco_a})),
        agent=user("ana", "Ana Asesora", "agent", frozenset({banco_a})),
        auditor=user("auditor", "Alberto Auditor", "auditor"),
    )


def form_csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def page_csrf_token(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "the page has no CSRF meta tag"
    return match.group(1)


def log_in(client: TestClient, login: str, password: str = PASSWORD, next_url: str = "/") -> Any:
    token = form_csrf_token(client.get("/login").text)
    return client.post("/login", data={"login": login, "password": password, "next": next_url, "csrf_token": token})


def signed_in_csrf_token(client: TestClient, login: str) -> str:
    """Sign in and read the CSRF token the home page gives to its forms and scripts."""
    assert log_in(client, login).status_code == 303
    return page_csrf_token(client.get("/").text)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sessions_of(despacho: Despacho, agent_id: str) -> list[dict[str, Any]]:
    despacho.runner.catch_up()
    with despacho.read_engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(AGENTS.sessions).where(AGENTS.sessions.c.agent_id == agent_id)).mappings()]


def campaign_codes(despacho: Despacho) -> set[str]:
    despacho.runner.catch_up()
    with despacho.read_engine.connect() as connection:
        return set(connection.execute(text("SELECT code FROM campaigns")).scalars())


NEW_CAMPAIGN = {"code": "seguros_c", "name": "Seguros C", "display_name": "Seguros C"}


# Signing in and out

def test_login_page_is_in_spanish(client: TestClient) -> None:
    response = client.get("/login")

    assert response.status_code == 200
    assert response.headers["content-language"] == "es"
    for text_shown in ("Iniciar sesión", "Usuario", "Contraseña", "Entrar"):
        assert text_shown in response.text


def test_wrong_password_is_refused_in_spanish_and_opens_no_session(client: TestClient, despacho: Despacho,
                                                                  staff: SimpleNamespace) -> None:
    response = log_in(client, "ana", "no-es-la-clave")

    assert response.status_code == 401
    assert "Usuario o contraseña incorrectos" in response.text
    assert SESSION_COOKIE not in response.cookies
    assert sessions_of(despacho, staff.agent) == []
    assert client.get("/api/me").status_code == 401


def test_login_then_logout_closes_the_working_session(client: TestClient, despacho: Despacho, clock: FixedClock,
                                                      staff: SimpleNamespace) -> None:
    csrf_token = signed_in_csrf_token(client, "supervisora")
    [opened] = sessions_of(despacho, staff.supervisor)
    assert opened["closed_at"] is None
    clock.advance(timedelta(hours=8))

    response = client.post("/logout", data={"csrf_token": csrf_token})

    assert (response.status_code, response.headers["location"]) == (303, "/login")
    [closed] = sessions_of(despacho, staff.supervisor)
    assert (closed["closed_at"], closed["close_reason"]) == (clock.now(), "logout")
    assert client.get("/api/me").status_code == 401


def test_an_idle_session_expires_back_to_login_and_is_closed(client: TestClient, despacho: Despacho,
                                                             clock: FixedClock, staff: SimpleNamespace) -> None:
    assert log_in(client, "supervisora").status_code == 303
    assert client.get("/").status_code == 200
    last_used = clock.now()
    clock.advance(timedelta(minutes=despacho.settings.session_idle_minutes + 1))

    page = client.get("/")

    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    [session] = sessions_of(despacho, staff.supervisor)
    assert (session["close_reason"], session["closed_at"]) == ("expired", last_used)
    assert client.get("/api/me").status_code == 401


def test_after_logout_every_copy_of_the_session_cookie_is_refused(client: TestClient, despacho: Despacho,
                                                                   staff: SimpleNamespace) -> None:
    csrf_token = signed_in_csrf_token(client, "supervisora")
    copied = client.cookies[SESSION_COOKIE]
    assert client.post("/logout", data={"csrf_token": csrf_token}).status_code == 303

    client.cookies.set(SESSION_COOKIE, copied)
    api = client.get("/api/me")
    client.cookies.set(SESSION_COOKIE, copied)
    page = client.get("/audit/messages")

    assert api.status_code == 401 and api.json() == {"detail": "Autenticación requerida"}
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/audit/messages")
    assert f'{SESSION_COOKIE}="";' in page.headers["set-cookie"]  # the browser is told to forget it


def test_a_copied_cookie_does_not_outlive_the_idle_limit_by_being_used_as_issued(
        client: TestClient, despacho: Despacho, clock: FixedClock, staff: SimpleNamespace) -> None:
    assert log_in(client, "supervisora").status_code == 303
    idle = timedelta(minutes=despacho.settings.session_idle_minutes)
    refreshed = []
    for _ in range(3):  # in use the whole time: the session stays open, and its cookie is never rewritten
        clock.advance(idle * 0.6)
        response = client.get("/api/me")
        assert response.status_code == 200
        refreshed.append(SESSION_COOKIE in response.headers.get("set-cookie", ""))
    assert refreshed == [False, False, False]

    clock.advance(idle + timedelta(minutes=1))

    assert client.get("/api/me").status_code == 401
    [session] = sessions_of(despacho, staff.supervisor)
    assert session["close_reason"] == "expired"


# CSRF

def test_cookie_authenticated_post_without_csrf_token_is_refused(client: TestClient, despacho: Despacho,
                                                                 staff: SimpleNamespace) -> None:
    signed_in_csrf_token(client, "admin")

    response = client.post("/api/campaigns", json=NEW_CAMPAIGN)

    assert response.status_code == 403
    assert "seguros_c" not in campaign_codes(despacho)


def test_cookie_authenticated_post_with_csrf_header_succeeds(client: TestClient, despacho: Despacho,
                                                             staff: SimpleNamespace) -> None:
    csrf_token = signed_in_csrf_token(client, "admin")

    response = client.post("/api/campaigns", json=NEW_CAMPAIGN, headers={"X-CSRF-Token": csrf_token})

    assert response.status_code == 201
    assert "seguros_c" in campaign_codes(despacho)


def test_cookie_authenticated_form_needs_its_csrf_field(client: TestClient, despacho: Despacho,
                                                        staff: SimpleNamespace) -> None:
    csrf_token = signed_in_csrf_token(client, "admin")

    assert client.post("/logout", data={"csrf_token": "forjado"}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    assert sessions_of(despacho, staff.admin)[0]["closed_at"] is None
    assert client.post("/logout", data={"csrf_token": csrf_token}).status_code == 303
    assert sessions_of(despacho, staff.admin)[0]["close_reason"] == "logout"


def test_login_form_needs_the_anonymous_csrf_token(client: TestClient, despacho: Despacho,
                                                   staff: SimpleNamespace) -> None:
    client.get("/login")
    assert ANONYMOUS_CSRF_COOKIE in client.cookies

    without = client.post("/login", data={"login": "ana", "password": PASSWORD})
    forged = client.post("/login", data={"login": "ana", "password": PASSWORD, "csrf_token": "forjado"})

    assert (without.status_code, forged.status_code) == (403, 403)
    assert SESSION_COOKIE not in client.cookies
    assert sessions_of(despacho, staff.agent) == []


@pytest.mark.parametrize("next_url", ["https://evil.example", "//evil.example/login", "evil.example",
                                      "https:/evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client: TestClient, staff: SimpleNamespace, next_url: str) -> None:
    response = log_in(client, "admin", next_url=next_url)

    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert client.get("/login", params={"next": next_url}).headers["location"] == "/"


def test_login_returns_to_the_page_that_asked_for_it(client: TestClient, staff: SimpleNamespace) -> None:
    asked = client.get("/audit/events")
    assert asked.headers["location"] == "/login?next=/audit/events"

    response = log_in(client, "auditor", next_url="/audit/events")

    assert response.headers["location"] == "/audit/events"


# Bearer tokens

def test_bearer_token_from_the_api_works_without_csrf(client: TestClient, despacho: Despacho,
                                                      staff: SimpleNamespace) -> None:
    csrf_token = signed_in_csrf_token(client, "admin")
    issued = client.post("/api/auth/tokens", json={"label": "equipo de datos"}, headers={"X-CSRF-Token": csrf_token})
    assert issued.status_code == 201
    client.cookies.clear()

    me = client.get("/api/me", headers=bearer(issued.json()["token"]))
    created = client.post("/api/campaigns", json=NEW_CAMPAIGN, headers=bearer(issued.json()["token"]))

    assert me.status_code == 200
    assert (me.json()["login"], me.json()["role"]) == ("admin", "admin")
    assert created.status_code == 201
    assert "seguros_c" in campaign_codes(despacho)


def test_forged_and_revoked_tokens_are_refused(client: TestClient, despacho: Despacho,
                                               staff: SimpleNamespace) -> None:
    token = despacho.staff.issue_token(UUID(staff.admin), "script", actor=f"user:{staff.admin}")
    prefix, agent_hex, token_id, secret = token.split("_", 3)
    other_agent = UUID(staff.auditor).hex
    forgeries = [f"{prefix}_{agent_hex}_{token_id}_{secret[:-2]}xx", f"{prefix}_{other_agent}_{token_id}_{secret}",
                 f"{prefix}_{agent_hex}_00000000_{secret}", "dsp_nonsense", "x" * 40]
    assert client.get("/api/me", headers=bearer(token)).status_code == 200

    for forged in forgeries:
        assert client.get("/api/me", headers=bearer(forged)).status_code == 401, forged
    admin = despacho.staff.get(UUID(staff.admin))
    admin.revoke_token(token_id, actor=f"user:{staff.admin}", at=despacho.clock.now())
    despacho.store.save(admin)

    assert client.get("/api/me", headers=bearer(token)).status_code == 401


# Roles

def test_only_admins_create_campaigns(client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    agent_token = despacho.staff.issue_token(UUID(staff.agent), "t", actor="system:test")
    admin_token = despacho.staff.issue_token(UUID(staff.admin), "t", actor="system:test")

    refused = client.post("/api/campaigns", json=NEW_CAMPAIGN, headers=bearer(agent_token))
    assert refused.status_code == 403
    assert "seguros_c" not in campaign_codes(despacho)

    created = client.post("/api/campaigns", json=NEW_CAMPAIGN, headers=bearer(admin_token))
    assert created.status_code == 201
    assert "seguros_c" in campaign_codes(despacho)


def test_a_supervisor_creates_agents_only_in_their_own_campaigns(client: TestClient, despacho: Despacho,
                                                                 staff: SimpleNamespace) -> None:
    token = despacho.staff.issue_token(UUID(staff.supervisor), "t", actor="system:test")

    def create(login: str, role: str, campaigns: list[str]) -> int:
        body = {"login": login, "name": login.title(), "role": role, "password": PASSWORD, "campaign_ids": campaigns}
        return client.post("/api/agents", json=body, headers=bearer(token)).status_code

    assert create("bruno", "agent", [staff.banco_a]) == 201
    assert create("carla", "agent", [staff.telco_b]) == 403
    assert create("diana", "agent", [staff.banco_a, staff.telco_b]) == 403
    assert create("ernesto", "supervisor", [staff.banco_a]) == 403
    assert create("fabio", "admin", []) == 403
    despacho.runner.catch_up()
    with despacho.read_engine.connect() as connection:
        logins = set(connection.execute(text("SELECT login FROM agents")).scalars())
    assert logins == {"admin", "supervisora", "ana", "auditor", "bruno"}


# Audit

def test_an_auditor_reads_a_campaigns_events_in_order_with_actor_and_time(
        client: TestClient, despacho: Despacho, clock: FixedClock, staff: SimpleNamespace) -> None:
    campaign = UUID(staff.telco_b)
    clock.advance(timedelta(minutes=5))
    despacho.campaigns.link_sender(campaign, "whatsapp:+5716000002", "whatsapp", is_default=True,
                                   actor=f"user:{staff.admin}")
    clock.advance(timedelta(minutes=5))
    despacho.campaigns.archive(campaign, actor=f"user:{staff.admin}")
    token = despacho.staff.issue_token(UUID(staff.auditor), "t", actor="system:test")

    response = client.get(f"/api/audit/aggregates/{campaign}/events", headers=bearer(token))

    assert response.status_code == 200
    events = response.json()
    assert [(e["version"], e["type"], e["actor"]) for e in events] == [
        (1, "Campaign.Created", "system:test"), (2, "Campaign.SenderLinked", f"user:{staff.admin}"),
        (3, "Campaign.Archived", f"user:{staff.admin}")]
    times = [e["at"] for e in events]
    assert times == sorted(times)
    assert times[-1].startswith(clock.now().strftime("%Y-%m-%dT%H:%M"))
    assert events[1]["data"]["address"] == "whatsapp:+5716000002"


def test_agents_may_not_read_the_audit_trail(client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    token = despacho.staff.issue_token(UUID(staff.agent), "t", actor="system:test")

    response = client.get(f"/api/audit/aggregates/{staff.banco_a}/events", headers=bearer(token))

    assert response.status_code == 403


def test_the_audit_trail_never_shows_password_or_token_hashes(client: TestClient, despacho: Despacho,
                                                             staff: SimpleNamespace) -> None:
    despacho.staff.set_password(UUID(staff.agent), "otra-clave-segura-456", actor=f"user:{staff.admin}")
    despacho.staff.issue_token(UUID(staff.agent), "script de ana", actor=f"user:{staff.agent}")
    ana = despacho.staff.get(UUID(staff.agent))
    token = despacho.staff.issue_token(UUID(staff.auditor), "t", actor="system:test")

    response = client.get(f"/api/audit/aggregates/{staff.agent}/events", headers=bearer(token))

    assert response.status_code == 200
    types = [e["type"] for e in response.json()]
    assert types.count("Agent.PasswordSet") == 2
    assert "Agent.ApiTokenIssued" in types
    assert ana.password_hash not in response.text
    assert "$argon2" not in response.text
    assert all(digest not in response.text for digest in ana.token_hashes.values())


# Live updates

def test_live_updates_stream_server_sent_events(client: TestClient, staff: SimpleNamespace) -> None:
    signed_in_csrf_token(client, "supervisora")

    with client.stream("GET", "/live", params={"topics": "agents queue:*"}) as response:
        first_bytes = next(response.iter_bytes())

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert first_bytes.startswith(b"retry: ")



def topics_delivered(client: TestClient, despacho: Despacho, requested: str, opening: str,
                     published: list[str]) -> list[str]:
    """Open /live, publish `opening` (a topic the viewer follows) until the stream has subscribed, then
    `published` and `alerts` (everyone's), and return what was delivered besides those two."""
    subscribed, delivered = threading.Event(), []

    def publish() -> None:
        while not subscribed.wait(0.05):
            despacho.live.publish([opening])
        despacho.live.publish([*published, "alerts"])

    publisher = threading.Thread(target=publish, daemon=True)
    with client.stream("GET", "/live", params={"topics": f"alerts {requested}"}) as response:
        publisher.start()
        keepalives = 0
        for line in response.iter_lines():
            keepalives += line.startswith(": keepalive")
            assert keepalives < 5, "the stream never delivered the closing marker"
            topic = json.loads(line.removeprefix("data: "))["topic"] if line.startswith("data: ") else None
            if topic == "alerts":
                break
            if topic == opening:
                subscribed.set()
            elif topic is not None:
                delivered.append(topic)
    publisher.join()
    return delivered


@pytest.fixture
def quick_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.routers.live, "KEEPALIVE_SECONDS", 0.5)


def test_an_agent_receives_only_their_own_desk(client: TestClient, despacho: Despacho, staff: SimpleNamespace,
                                               quick_keepalive: None) -> None:
    assert log_in(client, "ana").status_code == 303
    others = [f"desk:{staff.supervisor}", f"queue:{staff.banco_a}", f"queue:{staff.telco_b}", "chat:otro", "agents"]

    delivered = topics_delivered(client, despacho, " ".join([f"desk:{staff.agent}", *others, "queue:*", "chat:*"]),
                                 f"desk:{staff.agent}", [*others, "audit"])

    assert delivered == []


def test_a_supervisor_receives_only_their_campaigns_queues_and_agents(client: TestClient, despacho: Despacho,
                                                                      staff: SimpleNamespace,
                                                                      quick_keepalive: None) -> None:
    signed_in_csrf_token(client, "supervisora")
    despacho.runner.catch_up()
    asked = [f"queue:{staff.banco_a}", f"queue:{staff.telco_b}", f"desk:{staff.agent}", f"desk:{staff.admin}",
             "queue:*", "agents"]

    delivered = topics_delivered(client, despacho, " ".join(asked), "agents",
                                 [f"queue:{staff.telco_b}", f"queue:{staff.banco_a}", f"desk:{staff.admin}",
                                  f"desk:{staff.agent}", "queue:", "portfolios"])

    assert delivered == [f"queue:{staff.banco_a}", f"desk:{staff.agent}"]


def test_the_live_stream_still_delivers_after_quiet_intervals(client: TestClient, despacho: Despacho,
                                                              staff: SimpleNamespace,
                                                              quick_keepalive: None) -> None:
    assert log_in(client, "ana").status_code == 303
    with client.stream("GET", "/live", params={"topics": "alerts"}) as response:
        lines = response.iter_lines()
        keepalives = 0
        while keepalives < 3:  # the page stays open with nothing to tell it for a while
            keepalives += next(lines).startswith(": keepalive")
        despacho.live.publish(["alerts"])
        delivered = next(line for line in lines if line.startswith("data: "))

    assert json.loads(delivered.removeprefix("data: "))["topic"] == "alerts"
