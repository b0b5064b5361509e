"""Transfer to another campaign (issue 15, item 12) over HTTP: the desk and the chat page offer the campaigns that
also hold the customer, the assigned agent, the campaign's supervisor and an admin may move the chat, and the new
campaign's agents get it through routing, with the transfer and its reason on the chat's history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from despacho.settings import Settings
from projections import desk_queries
from tests.e2e.desk_world import CallCenter, call_center
from tests.e2e.test_api_auth import log_in, page_csrf_token

REASON = "El cliente quiere negociar su deuda con Telco"


@pytest.fixture
def center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(settings, clock) as built:
        built.despacho.campaigns.register("tienda", "Tienda Norte", "Tienda Norte", {}, actor="test")
        yield built


def transfer(center: CallCenter, login: str, chat_id: str, campaign_id: str, reason: str = REASON) -> Any:
    return center.post(login, f"/api/chats/{chat_id}/transfer", {"campaign_id": campaign_id, "reason": reason})


def test_an_agent_transfers_a_chat_and_the_other_campaigns_agent_gets_it(center: CallCenter) -> None:
    chat = center.identified_chat()
    assert chat["agent_id"] == center.ids["ana"]

    response = transfer(center, "ana", chat["id"], center.telco)

    assert response.status_code == 204, response.text
    assert desk_queries.open_chats_of(center.despacho.read_engine, center.ids["ana"]) == []
    center.set_status("bruno", "available")
    moved = desk_queries.chat(center.despacho.read_engine, chat["id"])
    assert moved is not None and (moved["campaign_id"], moved["agent_id"]) == (center.telco, center.ids["bruno"])
    page = center.get("tomas", f"/chats/{chat['id']}").text
    assert "Transferencia a otra campaña" in page and REASON in page
    assert "Banco Andino cobranza → <strong>Telco Sur</strong>" in page


def test_the_desk_offers_only_the_other_campaigns_holding_the_customer(center: CallCenter) -> None:
    chat = center.identified_chat()

    page = center.get("ana", f"/desk?chat={chat['id']}").text

    form = page[page.index('id="transfer-title"'):]
    form = form[:form.index("</form>")]
    assert "Transferir a otra campaña" in form
    assert f'<option value="{center.telco}">Telco Sur</option>' in form
    assert center.banco not in form, "not the chat's own campaign"
    assert "Tienda Norte" not in form, "not a campaign whose portfolio lacks the customer"


def test_the_chat_page_offers_the_transfer_to_its_supervisor(center: CallCenter) -> None:
    chat = center.identified_chat()

    page = center.get("sandra", f"/chats/{chat['id']}").text

    assert f'action="/chats/{chat["id"]}/transfer"' in page and "Telco Sur" in page


@pytest.mark.parametrize("login", ["sandra", "admin"])
def test_the_campaigns_supervisor_and_an_admin_may_transfer(center: CallCenter, login: str) -> None:
    chat = center.identified_chat()

    assert transfer(center, login, chat["id"], center.telco).status_code == 204

    moved = desk_queries.chat(center.despacho.read_engine, chat["id"])
    assert moved is not None and (moved["campaign_id"], moved["status"]) == (center.telco, "waiting_queue")


@pytest.mark.parametrize("login", ["carla", "bruno", "tomas", "auditor"])
def test_nobody_else_may_transfer(center: CallCenter, login: str) -> None:
    chat = center.identified_chat()

    assert transfer(center, login, chat["id"], center.telco).status_code == 403

    unchanged = desk_queries.chat(center.despacho.read_engine, chat["id"])
    assert unchanged is not None and (unchanged["campaign_id"], unchanged["agent_id"]) == (
        center.banco, center.ids["ana"])


def test_a_transfer_to_a_campaign_without_the_customer_is_refused_in_spanish(center: CallCenter) -> None:
    chat = center.identified_chat()
    tienda = next(c for c, name in desk_queries.campaign_names(center.despacho.read_engine).items()
                  if name == "Tienda Norte")

    response = transfer(center, "ana", chat["id"], tienda)

    assert response.status_code == 422
    assert "El cliente no está en la cartera de esa campaña" in response.text


def test_a_transfer_without_a_reason_is_refused(center: CallCenter) -> None:
    chat = center.identified_chat()

    assert transfer(center, "ana", chat["id"], center.telco, reason="  ").status_code == 422


def test_a_supervisor_who_no_longer_sees_the_chat_lands_on_their_queue(center: CallCenter) -> None:
    """Sandra supervises banco_a only: once the chat is Telco's, its page is not hers, so the form takes her to the
    queue; a refused form goes back to the chat with the reason."""
    chat = center.identified_chat()
    sandra = TestClient(center.client.app, follow_redirects=False)
    assert log_in(sandra, "sandra").status_code == 303
    token = page_csrf_token(sandra.get(f"/chats/{chat['id']}").text)
    url = f"/chats/{chat['id']}/transfer"

    refused = sandra.post(url, data={"campaign_id": center.telco, "reason": "", "csrf_token": token})
    done = sandra.post(url, data={"campaign_id": center.telco, "reason": REASON, "csrf_token": token})
    center.settle()

    assert (refused.status_code, refused.headers["location"]) == (303, f"/chats/{chat['id']}")
    assert (done.status_code, done.headers["location"]) == (303, "/supervisor/queue")
    assert sandra.get(f"/chats/{chat['id']}").status_code == 403
