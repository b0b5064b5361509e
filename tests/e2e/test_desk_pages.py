"""The desk, chat, supervisor and simulator pages as a signed-in browser gets them (cookies and CSRF)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from despacho.settings import Settings
from projections import desk_queries
from tests.e2e.desk_world import BANCO_NUMBER, TELCO_NUMBER, CallCenter, call_center
from tests.e2e.test_api_auth import log_in, page_csrf_token


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def signed_in(center: CallCenter, login: str) -> TestClient:
    client = TestClient(center.client.app, follow_redirects=False)
    assert log_in(client, login).status_code == 303
    return client


def test_the_desk_shows_my_chat_with_the_customers_portfolio_data(center: CallCenter) -> None:
    chat = center.identified_chat()
    ana = signed_in(center, "ana")

    page = ana.get("/desk")

    assert page.status_code == 200
    assert f'data-chat-id="{chat["id"]}"' in page.text
    assert "María Pérez" in page.text and "$ 1.250.000" in page.text, "the balance in pesos"
    assert "promesa_de_pago" in page.text, "the close form offers the campaign's dispositions"
    assert f'data-live-topic="desk:{center.ids["ana"]}"' in page.text
    assert chat["id"] in ana.get("/desk/fragments/chats").text
    assert "1020304050" in ana.get(f"/fragments/chats/{chat['id']}/timeline").text


def test_a_chat_whose_customer_a_replace_left_out_goes_on_and_is_marked(center: CallCenter) -> None:
    chat = center.identified_chat()
    others = "documento;tipo_documento;nombres;celular\n900100200;CC;Nubia Ospina;3221299450\n"
    center.despacho.portfolios.import_file(UUID(center.banco), others.encode(), "sin_maria.csv", mode="replace",
                                           confirm_deactivation=True, actor="test")
    center.settle()
    ana = signed_in(center, "ana")

    desk = ana.get("/desk")
    chat_page = center.get("sandra", f"/chats/{chat['id']}")
    token = page_csrf_token(desk.text)
    reply = ana.post(f"/chats/{chat['id']}/replies", data={"body": "Seguimos con su caso", "csrf_token": token})
    center.settle()

    assert desk_queries.chats_of_customer(center.despacho.read_engine, chat["customer_address"])[0]["status"] \
        == "assigned"
    for page in (desk, chat_page):
        assert 'id="customer-out-of-portfolio"' in page.text and "ya no está en la cartera" in page.text
        assert "María Pérez" in page.text, "the panel keeps the customer's last details"
    assert reply.status_code == 303
    assert center.transport.sent_to(chat["customer_address"])[-1].delivery.body == "Seguimos con su caso"


def test_an_agent_replies_from_the_desk_form(center: CallCenter) -> None:
    chat = center.identified_chat()
    ana = signed_in(center, "ana")
    token = page_csrf_token(ana.get("/desk").text)

    response = ana.post(f"/chats/{chat['id']}/replies", data={"body": "Buenos días", "csrf_token": token})
    center.settle()

    assert response.status_code == 303
    assert center.transport.sent_to(chat["customer_address"])[-1].delivery.body == "Buenos días"
    assert ana.post(f"/chats/{chat['id']}/replies", data={"body": "sin token"}).status_code == 403


def test_another_agent_gets_no_page_for_my_chat(center: CallCenter) -> None:
    chat = center.identified_chat()
    carla = signed_in(center, "carla")

    assert carla.get(f"/chats/{chat['id']}").status_code == 403
    assert carla.get(f"/fragments/chats/{chat['id']}/timeline").status_code == 403
    assert "María Pérez" not in carla.get(f"/desk?chat={chat['id']}", follow_redirects=True).text


def test_an_agent_going_available_receives_the_waiting_chat(center: CallCenter) -> None:
    center.set_status("ana", "break")
    chat = center.identified_chat()
    ana = signed_in(center, "ana")
    token = page_csrf_token(ana.get("/desk").text)

    assert ana.post("/desk/status", data={"status": "available", "csrf_token": token}).status_code == 303
    center.settle()

    assert [c["id"] for c in desk_queries.open_chats_of(center.despacho.read_engine, center.ids["ana"])] == [chat["id"]]


def test_the_chat_page_explains_the_assignment(center: CallCenter) -> None:
    chat = center.identified_chat()
    sandra = signed_in(center, "sandra")

    page = sandra.get(f"/chats/{chat['id']}")

    assert page.status_code == 200
    assert "menor carga" in page.text
    assert "Menor carga" in page.text and "Ana (0/2)" in page.text
    assert f'action="/chats/{chat["id"]}/reassign"' in page.text


def test_the_queue_and_agents_pages_show_my_campaigns(center: CallCenter) -> None:
    center.set_status("ana", "break")
    chat = center.identified_chat()
    sandra = signed_in(center, "sandra")

    queue = sandra.get("/supervisor/queue")
    agents = sandra.get("/supervisor/agents")

    assert queue.status_code == 200 and f'/chats/{chat["id"]}' in queue.text
    assert f'data-live-topic="queue:{center.banco}"' in queue.text
    assert agents.status_code == 200
    assert f'data-agent-id="{center.ids["ana"]}"' in agents.text
    assert f'data-agent-id="{center.ids["bruno"]}"' not in agents.text
    for fragment in ("/supervisor/fragments/queue", "/supervisor/fragments/agents"):
        assert sandra.get(fragment).status_code == 200, "live refreshes render on their own"


def test_the_simulator_plays_a_customer_over_the_signed_webhook(center: CallCenter) -> None:
    sandra = signed_in(center, "sandra")
    token = page_csrf_token(sandra.get("/simulator").text)

    response = sandra.post("/simulator/messages", data={"phone": "+573009998877", "to": BANCO_NUMBER, "body": "Hola",
                                                        "csrf_token": token})
    center.settle()

    assert response.status_code == 303
    page = sandra.get(response.headers["location"])
    assert "Banco Andino" in page.text, "the bot's greeting reached the simulated customer"
    fragment = sandra.get("/simulator/fragments/conversation", params={"customer": "whatsapp:+573009998877"})
    assert fragment.status_code == 200 and "Banco Andino" in fragment.text
    assert [c["status"] for c in desk_queries.chats_of_customer(center.despacho.read_engine,
                                                               "whatsapp:+573009998877")] == ["bot"]


def test_the_simulator_runs_many_customers_at_once(center: CallCenter) -> None:
    sandra = signed_in(center, "sandra")
    token = page_csrf_token(sandra.get("/simulator").text)

    response = sandra.post("/simulator/crowd", data={"customers": "3", "document": "1020304050", "to": BANCO_NUMBER,
                                                     "csrf_token": token})
    center.settle()

    assert response.status_code == 303
    statuses = sorted(c["status"] for c in desk_queries.waiting_queue(center.despacho.read_engine, None,
                                                                       center.clock.now()))
    assigned = desk_queries.open_chats_of(center.despacho.read_engine, center.ids["ana"])
    assert len(assigned) == 2 and statuses == ["waiting_queue"], "ana's capacity is 2; the third waits"


def test_the_simulator_is_for_supervisors_and_admins_in_embedded_mode_only(center: CallCenter) -> None:
    assert signed_in(center, "ana").get("/simulator").status_code == 403
    assert signed_in(center, "admin").get("/simulator").status_code == 200
    center.despacho.settings = center.despacho.settings.model_copy(update={"mode": "production"})
    assert signed_in(center, "admin").get("/simulator").status_code == 404


def test_the_simulator_shows_a_supervisor_only_their_campaigns_conversations_and_numbers(center: CallCenter) -> None:
    telco_customer = "whatsapp:+573005550001"
    for body in ("Hola", "1", "900100200"):  # identified in telco_b (tomas's campaign)
        center.customer_writes(telco_customer, body, TELCO_NUMBER)
    sandra, tomas = signed_in(center, "sandra"), signed_in(center, "tomas")

    seen_by_sandra = sandra.get("/simulator", params={"customer": telco_customer})
    fragment_for_sandra = sandra.get("/simulator/fragments/conversation", params={"customer": telco_customer})
    seen_by_tomas = tomas.get("/simulator/fragments/conversation", params={"customer": telco_customer})

    assert seen_by_sandra.status_code == fragment_for_sandra.status_code == 200
    for page in (seen_by_sandra, fragment_for_sandra):
        assert "900100200" not in page.text and "Telco Sur" not in page.text
        assert "Todavía no hay mensajes." in page.text
    assert BANCO_NUMBER in seen_by_sandra.text and TELCO_NUMBER not in seen_by_sandra.text
    assert "900100200" in seen_by_tomas.text and "Telco Sur" in seen_by_tomas.text


def test_a_supervisor_cannot_play_a_customer_on_another_campaigns_number(center: CallCenter) -> None:
    sandra = signed_in(center, "sandra")
    token = page_csrf_token(sandra.get("/simulator").text)

    single = sandra.post("/simulator/messages", data={"phone": "+573005550002", "to": TELCO_NUMBER, "body": "Hola",
                                                      "csrf_token": token})
    crowd = sandra.post("/simulator/crowd", data={"customers": "2", "document": "900100200", "to": TELCO_NUMBER,
                                                  "csrf_token": token})
    center.settle()

    assert (single.status_code, crowd.status_code) == (403, 403)
    assert "Ese número no es de sus campañas" in single.text
    assert desk_queries.chats_of_customer(center.despacho.read_engine, "whatsapp:+573005550002") == []


def test_every_supervisor_is_told_of_a_chat_waiting_in_the_unidentified_queue_with_no_agent(
        center: CallCenter) -> None:
    customer = "whatsapp:+573009990001"
    for body in ("Hola", "1", "111", "222", "333"):  # a document in no portfolio, to a number of no campaign
        center.customer_writes(customer, body, to="whatsapp:+5716009999")
    [chat] = desk_queries.chats_of_customer(center.despacho.read_engine, customer)
    assert (chat["status"], chat["campaign_id"]) == ("waiting_queue", center.despacho.unidentified.campaign_id())
    center.despacho.actors.run_timers.fn()
    center.settle()

    for supervisor in ("sandra", "tomas"):
        [alert] = [a for a in center.get(supervisor, "/api/alerts").json() if a["chat_id"] == chat["id"]]
        assert (alert["kind"], alert["viewable"]) == ("no_agent", False)
    page = signed_in(center, "sandra").get("/alerts").text
    assert "Ningún asesor disponible puede atenderlo" in page and f'href="/chats/{chat["id"]}"' not in page
