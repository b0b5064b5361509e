"""The desk and supervision API over HTTP: who sees which chats, replies, closing, reassignment (R1, R4, R5, R9)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.clock import FixedClock
from despacho.settings import Settings
from projections import desk_queries
from tests.e2e.desk_world import TELCO_NUMBER, CallCenter, call_center
from tests.e2e.test_desk_pages import signed_in


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def test_an_agent_reads_their_chat_with_its_explained_assignment(center: CallCenter) -> None:
    chat = center.identified_chat()

    response = center.get("ana", f"/api/chats/{chat['id']}")

    assert response.status_code == 200
    body = response.json()
    assert body["chat"]["agent_id"] == center.ids["ana"]
    assert body["customer"]["full_name"] == "María Pérez"
    assert {m["author_kind"] for m in body["timeline"]} == {"customer", "bot"}
    assert "1020304050" in [m["body"] for m in body["timeline"]]
    [assignment] = body["assignments"]
    assert assignment["policy"] == "least_load"
    assert [c["agent_id"] for c in assignment["candidates"]] == [center.ids["ana"]]
    assert "menor carga" in assignment["reason"]


def test_an_agent_cannot_read_or_answer_another_agents_chat(center: CallCenter) -> None:
    chat = center.identified_chat()

    assert center.get("carla", f"/api/chats/{chat['id']}").status_code == 403
    assert center.get("bruno", f"/api/chats/{chat['id']}").status_code == 403
    assert center.post("carla", f"/api/chats/{chat['id']}/replies", {"body": "hola"}).status_code == 403
    assert center.transport.sent_to(chat["customer_address"])[-1].delivery.body != "hola"


def test_a_supervisor_sees_the_queue_of_their_campaigns_only(center: CallCenter) -> None:
    center.set_status("ana", "break")
    banco_chat = center.identified_chat()
    center.clock.advance(timedelta(minutes=3))
    telco_chat = center.identified_chat("900100200", to=TELCO_NUMBER)

    sandra = [c["id"] for c in center.get("sandra", "/api/queue").json()]
    tomas = [c["id"] for c in center.get("tomas", "/api/queue").json()]
    admin = [c["id"] for c in center.get("admin", "/api/queue").json()]

    assert (sandra, tomas) == ([banco_chat["id"]], [telco_chat["id"]])
    assert admin == [banco_chat["id"], telco_chat["id"]], "oldest first"
    assert [c["waiting_seconds"] for c in center.get("admin", "/api/queue").json()] == [180, 0]
    assert center.get("ana", "/api/queue").status_code == 403


def test_the_queue_lists_only_chats_waiting_for_assignment(center: CallCenter) -> None:
    center.identified_chat()  # assigned to ana at once

    assert center.get("sandra", "/api/queue").json() == []


def test_a_supervisor_cannot_open_a_chat_of_another_campaign(center: CallCenter) -> None:
    chat = center.identified_chat()

    assert center.get("tomas", f"/api/chats/{chat['id']}").status_code == 403
    assert center.get("sandra", f"/api/chats/{chat['id']}").status_code == 200
    assert center.get("auditor", f"/api/chats/{chat['id']}").status_code == 200


def test_the_assigned_agent_replies_and_the_customer_receives_it(center: CallCenter) -> None:
    chat = center.identified_chat()

    response = center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Hola María, soy Ana."})

    assert response.status_code == 201
    assert center.transport.sent_to(chat["customer_address"])[-1].delivery.body == "Hola María, soy Ana."


def test_an_agent_closes_with_a_disposition_of_the_campaign(center: CallCenter) -> None:
    chat = center.identified_chat()
    url = f"/api/chats/{chat['id']}/close"

    assert center.post("ana", url, {}).status_code == 422
    assert center.post("ana", url, {"disposition": "inventada"}).status_code == 422
    assert center.post("ana", url, {"disposition": "promesa_de_pago", "note": "paga el 5"}).status_code == 204

    closed = desk_queries.chat(center.despacho.read_engine, chat["id"])
    assert closed is not None
    assert (closed["status"], closed["disposition"], closed["close_reason"]) == ("closed", "promesa_de_pago", "agent")


def test_reassignment_goes_only_to_a_member_of_the_chats_campaign_with_a_reason(center: CallCenter) -> None:
    chat = center.identified_chat()
    url = f"/api/chats/{chat['id']}/reassign"

    to_bruno = center.post("sandra", url, {"to_agent_id": center.ids["bruno"], "reason": "apoyo"})
    no_reason = center.post("sandra", url, {"to_agent_id": center.ids["carla"], "reason": ""})
    other_supervisor = center.post("tomas", url, {"to_agent_id": center.ids["carla"], "reason": "apoyo"})
    by_agent = center.post("ana", url, {"to_agent_id": center.ids["carla"], "reason": "apoyo"})

    assert (to_bruno.status_code, no_reason.status_code) == (422, 422)
    assert "no pertenece" in to_bruno.json()["detail"]
    assert (other_supervisor.status_code, by_agent.status_code) == (403, 403)

    center.set_status("carla", "available")
    assert center.post("sandra", url, {"to_agent_id": center.ids["carla"], "reason": "Ana sale a almorzar"}
                       ).status_code == 204
    body = center.get("carla", f"/api/chats/{chat['id']}").json()
    assert body["chat"]["agent_id"] == center.ids["carla"]
    reassigned = [a for a in body["assignments"] if a["kind"] == "reassigned"]
    assert [(a["previous_agent_id"], a["agent_id"], a["reason"]) for a in reassigned] == [
        (center.ids["ana"], center.ids["carla"], "Ana sale a almorzar")]
    assert center.get("ana", f"/api/chats/{chat['id']}").status_code == 403


def test_reassignment_to_an_agent_on_a_break_or_offline_is_only_an_explicit_recorded_exception(
        center: CallCenter) -> None:
    chat = center.identified_chat()
    url = f"/api/chats/{chat['id']}/reassign"
    form = signed_in(center, "sandra").get("/supervisor/agents").text
    assert "Carla — Desconectado · 0/2" in form and "Excepción: reasignar aunque" in form

    refused = center.post("sandra", url, {"to_agent_id": center.ids["carla"], "reason": "Ana sale a almorzar"})
    assert refused.status_code == 422 and "no está disponible" in refused.json()["detail"]
    assert center.get("ana", f"/api/chats/{chat['id']}").status_code == 200, "the chat stays with Ana"

    excepted = center.post("sandra", url, {"to_agent_id": center.ids["carla"], "reason": "Carla entra en 5 minutos",
                                           "to_unavailable": True})
    assert excepted.status_code == 204
    [reassigned] = [a for a in center.get("sandra", f"/api/chats/{chat['id']}").json()["assignments"]
                    if a["kind"] == "reassigned"]
    assert (reassigned["agent_id"], reassigned["exceptional"], reassigned["reason"]) == (
        center.ids["carla"], True, "Carla entra en 5 minutos")
    assert "Excepción: asesor no disponible" in signed_in(center, "sandra").get(f"/chats/{chat['id']}").text


def test_manual_assignment_from_the_queue_is_off_by_default(center: CallCenter) -> None:
    center.set_status("ana", "break")
    chat = center.identified_chat()

    response = center.post("sandra", f"/api/chats/{chat['id']}/assign",
                           {"agent_id": center.ids["carla"], "reason": "cliente VIP"})

    assert response.status_code == 403
    assert "desactivada" in response.json()["detail"]
    assert center.get("sandra", "/api/queue").json()[0]["id"] == chat["id"]


def test_manual_assignment_when_enabled_is_marked_exceptional(center: CallCenter) -> None:
    center.despacho.settings.allow_manual_assignment = True
    center.set_status("ana", "break")
    chat = center.identified_chat()
    url = f"/api/chats/{chat['id']}/assign"

    assert center.post("tomas", url, {"agent_id": center.ids["carla"], "reason": "VIP"}).status_code == 403
    assert center.post("sandra", url, {"agent_id": center.ids["bruno"], "reason": "VIP"}).status_code == 422
    assert center.post("sandra", url, {"agent_id": center.ids["carla"], "reason": "cliente VIP"}).status_code == 204

    [assignment] = center.get("sandra", f"/api/chats/{chat['id']}").json()["assignments"]
    assert (assignment["kind"], assignment["agent_id"], assignment["reason"]) == (
        "exceptional", center.ids["carla"], "cliente VIP")
