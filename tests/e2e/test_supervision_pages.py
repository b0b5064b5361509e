"""Supervision over HTTP, on SQLite and PostgreSQL: the reassign forms show each candidate's presence (a break with
its reason), load against capacity and what routing's rule says a reassignment to them would do; a supervisor
acknowledges several alerts in one action, each still recorded on its chat with who and when."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from despacho.settings import Settings
from domain.chats import Chat
from tests.e2e.desk_world import CallCenter, call_center
from tests.e2e.test_api_auth import log_in


@pytest.fixture
def center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(settings, clock) as built:
        yield built


def signed_in(center: CallCenter, login: str) -> TestClient:
    client = TestClient(center.client.app, follow_redirects=False)
    assert log_in(client, login).status_code == 303
    return client


def option_for(page: str, chat_id: str, name: str) -> str:
    select = page.split(f'id="reassign-agent-{chat_id}"')[1].split("</select>")[0]
    [option] = [o for o in re.findall(r"<option [^>]*>[^<]*</option>", select) if f">{name} " in o]
    return option


def test_the_reassign_forms_say_who_can_take_the_chat_as_routing_decides(center: CallCenter) -> None:
    chat = center.identified_chat()
    assert chat["agent_id"] == center.ids["ana"]
    center.set_status("carla", "break", "almuerzo")
    sandra = signed_in(center, "sandra")

    on_break = option_for(sandra.get(f"/chats/{chat['id']}").text, chat["id"], "Carla")
    assert "En pausa (Almuerzo)" in on_break and "0/2" in on_break and "solo como excepción" in on_break
    assert 'data-fit="exception"' in on_break and "disabled" not in on_break
    assert "Bruno" not in sandra.get(f"/chats/{chat['id']}").text.split('id="reassign-agent-')[1].split("</select>")[0]

    center.set_status("carla", "available")
    available = option_for(sandra.get("/supervisor/agents").text, chat["id"], "Carla")
    assert "Disponible" in available and "puede recibirlo" in available and 'data-fit="takes"' in available

    for _ in range(3):  # least load: carla, then ana's last place, then carla's last
        center.identified_chat()
    full = option_for(sandra.get(f"/chats/{chat['id']}").text, chat["id"], "Carla")
    assert "2/2" in full and "no puede recibirlo" in full and "capacidad 2" in full and "disabled" in full


def unanswered_alerts(center: CallCenter, customers: int) -> list[dict[str, str]]:
    chats = [center.identified_chat() for _ in range(customers)]
    center.clock.advance(timedelta(minutes=31))
    center.despacho.timers.run(center.clock.now())
    center.settle()
    alerts = [a for a in center.get("sandra", "/api/alerts").json() if a["chat_id"] in {c["id"] for c in chats}]
    assert len(alerts) == customers and all(a["kind"] == "unanswered" for a in alerts)
    return alerts


def test_a_supervisor_acknowledges_several_alerts_at_once_each_recorded_with_who_and_when(
        center: CallCenter) -> None:
    first, second = unanswered_alerts(center, 2)
    sandra = signed_in(center, "sandra")
    page = sandra.get("/alerts").text
    assert 'action="/alerts/acknowledge"' in page and f'value="{first["id"]}" form="bulk-acknowledge"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    done = sandra.post("/alerts/acknowledge", data={"csrf_token": token, "alert_id": [first["id"], second["id"]]})
    center.settle()

    assert done.status_code == 303
    assert "2 alerta(s) marcadas como vistas." in sandra.get("/alerts?state=acknowledged").text
    seen = {a["id"]: a for a in center.get("sandra", "/api/alerts?state=acknowledged").json()}
    assert set(seen) == {first["id"], second["id"]}
    assert {a["acknowledged_by"] for a in seen.values()} == {f"user:{center.ids['sandra']}"}
    for alert in (first, second):
        events = [e for e in center.despacho.store.repository.event_store.get(UUID(alert["chat_id"]))
                  if isinstance(e, Chat.AlertAcknowledged)]
        assert len(events) == 1 and events[0].actor == f"user:{center.ids['sandra']}"
        assert events[0].at == center.clock.now()

    again = center.post("sandra", "/api/alerts/acknowledge", {"alert_ids": [first["id"]]})
    assert again.status_code == 200 and again.json() == {"acknowledged": 0}, "already seen: left as it is"


def test_a_bulk_acknowledgement_with_an_alert_the_caller_may_not_see_acknowledges_none(center: CallCenter) -> None:
    center.set_status("bruno", "available")
    [banco] = unanswered_alerts(center, 1)
    telco_chat = center.identified_chat(to="whatsapp:+5716000002")
    center.clock.advance(timedelta(minutes=31))
    center.despacho.timers.run(center.clock.now())
    center.settle()
    [telco] = [a for a in center.get("tomas", "/api/alerts").json() if a["chat_id"] == telco_chat["id"]]

    refused = center.post("sandra", "/api/alerts/acknowledge", {"alert_ids": [banco["id"], telco["id"]]})

    assert refused.status_code == 403
    assert center.get("sandra", "/api/alerts?state=acknowledged").json() == []
