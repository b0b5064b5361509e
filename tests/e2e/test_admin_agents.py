"""Agents and their campaigns through HTTP: admins manage anyone, supervisors only their campaigns."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from domain.agents import NotCampaignMemberError
from projections.admin_queries import agent_row, membership_history
from tests.e2e.admin_support import bearer, client_fixture, despacho_fixture, log_in, staff_fixture  # noqa: F401


def new_agent(campaigns: list[str], login: str = "bruno") -> dict[str, object]:
    return {"login": login, "name": "Bruno Asesor", "role": "agent", "capacity": 3, "password": "x" * 12,
            "campaign_ids": campaigns}


def test_an_admin_creates_an_agent_in_two_campaigns(client: TestClient, despacho: Despacho,
                                                    staff: SimpleNamespace) -> None:
    response = client.post("/api/agents", headers=bearer(despacho, staff.admin),
                           json=new_agent([staff.banco_a, staff.telco_b]))
    despacho.runner.catch_up()

    assert response.status_code == 201
    row = agent_row(despacho.read_engine, response.json()["id"])
    assert row is not None
    assert (row["login"], row["capacity"], row["campaigns"]) == ("bruno", 3, sorted([staff.banco_a, staff.telco_b]))


def test_removing_a_campaign_stops_new_assignments_at_once_and_keeps_open_chats(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace, clock: FixedClock) -> None:
    agent_id = client.post("/api/agents", headers=bearer(despacho, staff.admin),
                           json=new_agent([staff.banco_a, staff.telco_b])).json()["id"]
    agent = despacho.staff.get(UUID(agent_id))
    agent.take_chat("chat-1", staff.telco_b, exceptional=True, actor="system", at=clock.now())
    despacho.store.save(agent)
    clock.advance(timedelta(minutes=1))

    response = client.put(f"/api/agents/{agent_id}", headers=bearer(despacho, staff.admin), json={
        "name": "Bruno Asesor", "role": "agent", "capacity": 3, "campaign_ids": [staff.banco_a]})
    despacho.runner.catch_up()

    assert response.status_code == 204
    agent = despacho.staff.get(UUID(agent_id))
    with pytest.raises(NotCampaignMemberError):
        agent.check_can_take(staff.telco_b, require_available=False)
    assert agent.open_chats == {"chat-1"}
    assert agent_row(despacho.read_engine, agent_id)["campaigns"] == [staff.banco_a]  # type: ignore[index]
    assert [h["change"] for h in membership_history(despacho.read_engine, agent_id)
            if h["campaign_id"] == staff.telco_b] == ["left", "joined"]


def test_a_supervisor_manages_agents_only_within_their_campaigns(client: TestClient, despacho: Despacho,
                                                                 staff: SimpleNamespace) -> None:
    supervisor, admin = bearer(despacho, staff.supervisor), bearer(despacho, staff.admin)
    outsider = client.post("/api/agents", headers=admin, json=new_agent([staff.telco_b], "carla")).json()["id"]

    mine = client.post("/api/agents", headers=supervisor, json=new_agent([staff.banco_a]))
    other_campaign = client.post("/api/agents", headers=supervisor, json=new_agent([staff.telco_b], "dora"))
    no_campaign = client.post("/api/agents", headers=supervisor, json=new_agent([], "eva"))
    admin_account = client.post("/api/agents", headers=supervisor,
                                json={**new_agent([staff.banco_a], "fede"), "role": "admin"})
    edit_outsider = client.put(f"/api/agents/{outsider}", headers=supervisor, json={
        "name": "Carla", "role": "agent", "capacity": 9, "campaign_ids": [staff.telco_b]})
    deactivate_outsider = client.post(f"/api/agents/{outsider}/deactivate", headers=supervisor)
    despacho.runner.catch_up()
    listed = {a["login"] for a in client.get("/api/agents", headers=supervisor).json()}

    assert mine.status_code == 201
    assert [r.status_code for r in (other_campaign, no_campaign, admin_account, edit_outsider,
                                    deactivate_outsider)] == [403] * 5
    assert "carla" not in listed and "bruno" in listed


def test_deactivated_agents_cannot_sign_in_and_can_be_reactivated(client: TestClient, despacho: Despacho,
                                                                  staff: SimpleNamespace) -> None:
    admin = bearer(despacho, staff.admin)

    assert client.post(f"/api/agents/{staff.agent}/deactivate", headers=admin).status_code == 204
    assert despacho.staff.authenticate("ana", "clave-de-prueba-123") is None
    assert client.post(f"/api/agents/{staff.agent}/reactivate", headers=admin).status_code == 204
    assert despacho.staff.authenticate("ana", "clave-de-prueba-123") is not None


def test_the_agent_form_takes_several_campaigns_from_a_multi_select(client: TestClient, despacho: Despacho,
                                                                    staff: SimpleNamespace) -> None:
    csrf = log_in(client, "admin")
    page = client.get("/admin/agents/new")

    created = client.post("/admin/agents", data={
        "csrf_token": csrf, "login": "gabi", "password": "una-clave-larga", "name": "Gabriela", "role": "agent",
        "capacity": "4", "campaign_ids": [staff.banco_a, staff.telco_b]})
    despacho.runner.catch_up()
    duplicate = client.post("/admin/agents", data={
        "csrf_token": csrf, "login": "gabi", "password": "una-clave-larga", "name": "Otra", "role": "agent",
        "capacity": "4", "campaign_ids": [staff.banco_a]})

    assert 'name="campaign_ids" multiple' in page.text
    assert created.status_code == 303
    agent_id = created.headers["location"].rsplit("/", 1)[1]
    assert agent_row(despacho.read_engine, agent_id)["campaigns"] == sorted([staff.banco_a, staff.telco_b])  # type: ignore[index]
    assert duplicate.status_code == 422 and "Ya existe un usuario" in duplicate.text
    assert "Gabriela" in client.get("/admin/agents").text


def test_a_supervisor_editing_in_the_form_keeps_campaigns_they_do_not_supervise(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    agent_id = client.post("/api/agents", headers=bearer(despacho, staff.admin),
                           json=new_agent([staff.banco_a, staff.telco_b])).json()["id"]
    despacho.runner.catch_up()
    csrf = log_in(client, "supervisora")

    page = client.get(f"/admin/agents/{agent_id}")
    saved = client.post(f"/admin/agents/{agent_id}", data={"csrf_token": csrf, "name": "Bruno A.", "role": "agent",
                                                           "capacity": "2", "campaign_ids": []})
    despacho.runner.catch_up()

    assert "Telco B" not in page.text.split('name="campaign_ids"')[1].split("</select>")[0]
    assert saved.status_code == 303
    row = agent_row(despacho.read_engine, agent_id)
    assert row is not None and (row["name"], row["campaigns"]) == ("Bruno A.", [staff.telco_b])
