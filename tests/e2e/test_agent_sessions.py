"""R13, R17, R18 over HTTP: each kind of close (logout, idle expiry, an admin's termination, a login on another
device) refuses the session's cookie and its agent token at once; the session closes at the agent's real activity;
a break needs a reason of the campaign's list; commands are credited to the session they came through; an agent
who goes offline with chats open leaves them alerted, then back in the queue after the campaign's minutes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from adapters.clock import FixedClock
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from projections import alert_queries, desk_queries
from projections.queries import AGENTS
from tests.e2e.desk_world import CallCenter, call_center
from tests.e2e.test_api_auth import PASSWORD, QUICK_PASSWORDS, bearer, log_in, page_csrf_token, sessions_of

CLOSES = ("logout", "expired", "terminated", "replaced")
IDLE = timedelta(hours=8)  # the global default; the test campaign sets none of its own


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
    """An admin, and agent ana of banco_a (default break reasons, no idle limit of its own)."""
    banco_a = str(despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor="t"))
    return SimpleNamespace(
        admin=str(despacho.staff.register("admin", "Admin", "admin", password=PASSWORD, actor="t")),
        agent=str(despacho.staff.register("ana", "Ana", "agent", password=PASSWORD, actor="t",
                                          campaign_ids=frozenset({banco_a}))))


def desk_csrf_token(browser: TestClient) -> str:
    return page_csrf_token(browser.get("/desk").text)


def agent_row(despacho: Despacho, agent_id: str) -> dict[str, Any]:
    despacho.runner.catch_up()
    with despacho.read_engine.connect() as connection:
        return dict(connection.execute(select(AGENTS.agents).where(AGENTS.agents.c.id == agent_id)).mappings().one())


def admin_token(despacho: Despacho, staff: SimpleNamespace) -> dict[str, str]:
    return bearer(despacho.staff.issue_token(UUID(staff.admin), "admin", actor="t"))


def close_by(kind: str, client: TestClient, despacho: Despacho, clock: FixedClock, staff: SimpleNamespace, *,
             token: dict[str, str] | None = None) -> None:
    """End the agent's session the way `kind` says: through it (logout), by the clock, by an admin, by a login on
    another device."""
    if kind == "logout" and token is not None:
        assert client.post("/api/auth/logout", headers=token).status_code == 204
    elif kind == "logout":
        assert client.post("/logout", headers={"X-CSRF-Token": desk_csrf_token(client)}).status_code == 303
    elif kind == "expired":
        clock.advance(IDLE + timedelta(minutes=1))
        despacho.actors.expire_sessions.fn()
    elif kind == "terminated":
        answer = client.post(f"/api/agents/{staff.agent}/sessions/terminate", headers=admin_token(despacho, staff))
        assert (answer.status_code, answer.json()) == (200, {"terminated": 1})
    else:
        with TestClient(client.app, follow_redirects=False) as other_device:
            assert log_in(other_device, "ana").status_code == 303


@pytest.mark.parametrize("kind", CLOSES)
def test_a_browser_cookie_is_refused_at_once_after_each_kind_of_close(
        kind: str, client: TestClient, despacho: Despacho, clock: FixedClock, staff: SimpleNamespace) -> None:
    assert log_in(client, "ana").status_code == 303
    assert client.get("/api/me").status_code == 200
    [opened] = sessions_of(despacho, staff.agent)

    close_by(kind, client, despacho, clock, staff)

    assert client.get("/api/me", headers={"Accept": "application/json"}).status_code == 401
    closed = next(s for s in sessions_of(despacho, staff.agent) if s["id"] == opened["id"])
    assert closed["close_reason"] == kind
    assert closed["closed_at"] == opened["opened_at"], "closed at the agent's last activity, not when noticed"
    assert agent_row(despacho, staff.agent)["status"] == "offline"


@pytest.mark.parametrize("kind", CLOSES)
def test_an_agent_token_opens_its_session_on_first_use_and_is_refused_after_each_kind_of_close(
        kind: str, client: TestClient, despacho: Despacho, clock: FixedClock, staff: SimpleNamespace) -> None:
    token = bearer(despacho.staff.issue_token(UUID(staff.agent), "integración", actor="t"))
    assert sessions_of(despacho, staff.agent) == []

    assert client.get("/api/me", headers=token).status_code == 200
    clock.advance(timedelta(minutes=20))
    assert client.put("/api/agents/me/status", json={"status": "available"}, headers=token).status_code == 204
    [opened] = sessions_of(despacho, staff.agent)
    assert opened["client"].startswith("api:") and opened["closed_at"] is None

    close_by(kind, client, despacho, clock, staff, token=token)

    assert client.get("/api/me", headers=token).status_code == 401
    assert client.get("/api/me", headers=token).status_code == 401, "and it does not open a new one"
    [closed] = [s for s in sessions_of(despacho, staff.agent) if s["id"] == opened["id"]]
    assert closed["close_reason"] == kind
    assert closed["closed_at"] == opened["opened_at"] + timedelta(minutes=20), "at its last use"
    assert agent_row(despacho, staff.agent)["status"] == "offline"


def test_a_login_on_a_second_device_replaces_the_first_and_the_agent_chooses_again(
        client: TestClient, despacho: Despacho, clock: FixedClock, staff: SimpleNamespace) -> None:
    with TestClient(client.app, follow_redirects=False) as first, \
            TestClient(client.app, follow_redirects=False) as second:
        assert log_in(first, "ana").status_code == 303
        token = desk_csrf_token(first)
        assert first.put("/api/agents/me/status", json={"status": "available"},
                         headers={"X-CSRF-Token": token}).status_code == 204
        clock.advance(timedelta(minutes=3))

        assert log_in(second, "ana").status_code == 303

        assert first.get("/api/me", headers={"Accept": "application/json"}).status_code == 401
        assert second.get("/api/me").status_code == 200
    row = agent_row(despacho, staff.agent)
    assert (row["status"], row["open_sessions"]) == ("offline", 1)
    reasons = sorted((s["close_reason"] or "open") for s in sessions_of(despacho, staff.agent))
    assert reasons == ["open", "replaced"]


def test_a_break_needs_a_reason_from_the_campaigns_list(client: TestClient, despacho: Despacho,
                                                        staff: SimpleNamespace) -> None:
    token = bearer(despacho.staff.issue_token(UUID(staff.agent), "t", actor="t"))

    no_reason = client.put("/api/agents/me/status", json={"status": "break"}, headers=token)
    unknown = client.put("/api/agents/me/status", json={"status": "break", "reason": "siesta"}, headers=token)
    lunch = client.put("/api/agents/me/status", json={"status": "break", "reason": "almuerzo"}, headers=token)

    assert (no_reason.status_code, unknown.status_code, lunch.status_code) == (422, 422, 204)
    assert "motivo" in no_reason.json()["detail"].lower() and "siesta" in unknown.json()["detail"]
    row = agent_row(despacho, staff.agent)
    assert (row["status"], row["status_reason"]) == ("break", "almuerzo")


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def test_a_close_is_credited_to_the_session_it_came_through_and_a_closed_session_is_refused(
        center: CallCenter) -> None:
    chat = center.identified_chat()
    closed = center.post("ana", f"/api/chats/{chat['id']}/close", {"disposition": "promesa_de_pago"})
    [token_session] = [s for s in sessions_of(center.despacho, center.ids["ana"]) if s["closed_at"] is None]

    assert closed.status_code == 204
    assert token_session["chats_closed"] == 1 and token_session["chats_assigned"] == 1
    second = center.identified_chat()
    assert center.post("ana", "/api/auth/logout", {}).status_code == 204
    refused = center.post("ana", f"/api/chats/{second['id']}/replies", {"body": "¿Sigue ahí?"})
    assert refused.status_code == 401
    assert center.transport.sent_to(second["customer_address"])[-1].delivery.body != "¿Sigue ahí?"


def test_an_offline_agents_chats_are_alerted_then_back_in_the_queue_after_the_campaigns_minutes(
        center: CallCenter) -> None:
    chat = center.identified_chat()
    assert chat["agent_id"] == center.ids["ana"]
    center.set_status("carla", "break")
    assert center.post("ana", "/api/auth/logout", {}).status_code == 204

    center.despacho.actors.run_timers.fn()
    center.settle()
    alerts = alert_queries.alerts(center.despacho.read_engine, campaign_ids={center.banco}, states=("open",))
    assert [(a["chat_id"], a["kind"]) for a in alerts] == [(chat["id"], "agent_offline")]
    assert desk_queries.chat(center.despacho.read_engine, chat["id"])["status"] == "assigned"

    center.clock.advance(timedelta(minutes=9, seconds=59))
    center.despacho.actors.run_timers.fn()
    center.settle()
    assert desk_queries.chat(center.despacho.read_engine, chat["id"])["status"] == "assigned", "not before"

    center.set_status("carla", "available")
    center.clock.advance(timedelta(seconds=1))
    center.despacho.actors.run_timers.fn()
    center.settle()

    moved = desk_queries.chat(center.despacho.read_engine, chat["id"])
    history = center.get("sandra", f"/api/chats/{chat['id']}").json()["assignments"]
    assert moved["agent_id"] == center.ids["carla"], "routing dispatched the requeued chat as usual"
    assert [a["agent_id"] for a in history if a["kind"] == "automatic"] == [center.ids["ana"], center.ids["carla"]]
    requeued = next(a for a in history if a["kind"] == "requeued")
    assert (requeued["agent_id"], requeued["reason"]) == (center.ids["ana"], "agent_offline")
    assert alert_queries.alerts(center.despacho.read_engine, campaign_ids={center.banco}, states=("open",)) == []
    assert center.despacho.staff.get(UUID(center.ids["ana"])).open_chats == set()


def signed_in(center: CallCenter, login: str) -> TestClient:
    browser = TestClient(center.client.app, follow_redirects=False)
    assert log_in(browser, login).status_code == 303
    return browser


def test_the_supervisors_agents_page_shows_status_its_break_reason_and_time_in_it_live(center: CallCenter) -> None:
    sandra = signed_in(center, "sandra")
    center.set_status("carla", "break", reason="reunión")
    center.clock.advance(timedelta(minutes=12))

    page = sandra.get("/supervisor/agents")
    fragment = sandra.get("/supervisor/fragments/agents").text

    assert 'data-live-topic="agents"' in page.text and 'data-poll-seconds="30"' in page.text
    carla_row = fragment.split(f'data-agent-id="{center.ids["carla"]}"')[1].split("</tr>")[0]
    assert 'data-agent-status="break"' in carla_row and 'data-break-reason="reunión"' in carla_row
    assert 'data-seconds-in-status="720"' in carla_row and "12 min" in carla_row
    center.set_status("carla", "available")
    carla_row = sandra.get("/supervisor/fragments/agents").text.split(
        f'data-agent-id="{center.ids["carla"]}"')[1].split("</tr>")[0]
    assert 'data-agent-status="available"' in carla_row and 'data-seconds-in-status="0"' in carla_row


def test_an_admin_terminates_a_users_sessions_from_their_page(center: CallCenter) -> None:
    ana = signed_in(center, "ana")
    admin = signed_in(center, "admin")
    user_page = admin.get(f"/admin/agents/{center.ids['ana']}").text
    assert f'action="/admin/agents/{center.ids["ana"]}/sessions/terminate"' in user_page
    sandra = signed_in(center, "sandra")

    by_supervisor = sandra.post(f"/admin/agents/{center.ids['ana']}/sessions/terminate",
                                data={"csrf_token": page_csrf_token(sandra.get("/supervisor/agents").text)})
    done = admin.post(f"/admin/agents/{center.ids['ana']}/sessions/terminate",
                      data={"csrf_token": page_csrf_token(user_page)})

    assert by_supervisor.status_code == 403
    assert done.status_code == 303
    assert ana.get("/desk").status_code == 303, "back to the login page"
    reasons = {s["close_reason"] for s in sessions_of(center.despacho, center.ids["ana"])}
    assert "terminated" in reasons


def test_the_campaign_page_edits_the_break_reasons_the_desk_offers(center: CallCenter) -> None:
    admin = signed_in(center, "admin")
    form_page = admin.get(f"/admin/campaigns/{center.banco}").text
    assert 'name="break_reasons"' in form_page and "pausa activa" in form_page
    posted = {**campaign_form_values(form_page), "break_reasons": "almuerzo\nllamada de calidad",
              "offline_requeue_minutes": "15", "session_idle_minutes": "0"}

    saved = admin.post(f"/admin/campaigns/{center.banco}", data=posted)
    center.settle()
    desk = signed_in(center, "carla").get("/desk").text

    assert saved.status_code == 303, saved.text
    assert '<option value="llamada de calidad"' in desk and '<option value="baño"' not in desk
    assert center.despacho.campaigns.get(UUID(center.banco)).settings.offline_requeue_minutes == 15


def campaign_form_values(html: str) -> dict[str, str]:
    """What the browser would post back unchanged: every named input, textarea and selected option."""
    values = {m.group(1): m.group(2) for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
              if 'type="checkbox"' not in m.group(0)}
    values |= {m.group(1): m.group(2) for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>',
                                                           html)}
    for select_match in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select_match.group(2))
        if chosen:
            values[select_match.group(1)] = chosen.group(1)
    return values


def test_staff_who_take_no_chats_may_stay_signed_in_on_two_devices(client: TestClient, despacho: Despacho,
                                                                   staff: SimpleNamespace) -> None:
    with TestClient(client.app, follow_redirects=False) as laptop:
        assert log_in(client, "admin").status_code == 303
        assert log_in(laptop, "admin").status_code == 303

        assert client.get("/api/me").status_code == 200 and laptop.get("/api/me").status_code == 200
    assert agent_row(despacho, staff.admin)["open_sessions"] == 2
