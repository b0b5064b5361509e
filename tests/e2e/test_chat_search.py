"""History and search of chats over HTTP, on SQLite and PostgreSQL: the chat page lists the customer's previous
chats with their outcome and PDF, and the search finds chats by document, phone, name, disposition, agent and date,
each viewer only within their scope (supervisors their campaigns, agents the chats they handled, admins all)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.clock import FixedClock
from despacho.settings import Settings
from tests.e2e.desk_world import TELCO_NUMBER, CallCenter, call_center

MARIA = "1020304050"


@pytest.fixture
def center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(settings, clock) as built:
        yield built


def closed_chat(center: CallCenter, agent: str, disposition: str, to: str | None = None) -> dict[str, Any]:
    """María writes from a new phone, is identified, and the agent who takes her chat closes it."""
    chat = center.identified_chat(MARIA, to) if to else center.identified_chat(MARIA)
    assert chat["agent_id"] == center.ids[agent]
    closed = center.post(agent, f"/api/chats/{chat['id']}/close", {"disposition": disposition, "note": "listo"})
    assert closed.status_code == 204, closed.text
    center.clock.advance(timedelta(hours=1))
    return chat


def found_ids(center: CallCenter, login: str, query: str) -> list[str]:
    response = center.get(login, f"/api/search/chats?fresh=false&{query}")
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["chats"]]


def test_the_chat_page_shows_the_customers_previous_chats_with_outcome_and_transcript(center: CallCenter) -> None:
    center.set_status("bruno", "available")
    earlier = closed_chat(center, "ana", "promesa_de_pago")
    elsewhere = closed_chat(center, "bruno", "no_interesado", TELCO_NUMBER)
    current = center.identified_chat(MARIA)

    page = center.get("sandra", f"/chats/{current['id']}")

    assert page.status_code == 200
    history = page.text.split('id="customer-history"')[1].split("</section>")[0]
    assert f'data-chat-id="{earlier["id"]}"' in history, "the same document from another phone is the same customer"
    assert "Banco Andino cobranza" in history and "Ana" in history and "Promesa de pago" in history
    assert f'/chats/{earlier["id"]}/transcript.pdf' in history
    assert elsewhere["id"] not in history, "another campaign's chat is not the supervisor's to see"
    assert current["id"] not in history, "the current chat is not its own history"
    admin_history = center.get("admin", f"/chats/{current['id']}").text.split('id="customer-history"')[1]
    assert elsewhere["id"] in admin_history.split("</section>")[0]


def test_an_unidentified_customers_history_is_their_phones(center: CallCenter) -> None:
    earlier = closed_chat(center, "ana", "informacion_entregada")
    center.customer_writes(earlier["customer_address"], "Hola otra vez")

    page = center.get("admin", "/api/search/chats?fresh=false&phone=" + earlier["customer_address"][-10:])

    [again] = [c for c in page.json()["chats"] if c["id"] != earlier["id"]]
    assert again["status"] == "bot" and again["document_number"] is None
    assert earlier["id"] in center.get("admin", f"/chats/{again['id']}").text.split('id="customer-history"')[1]


def test_the_search_finds_chats_by_each_filter_within_the_supervisors_campaigns(center: CallCenter) -> None:
    center.set_status("bruno", "available")
    promised = closed_chat(center, "ana", "promesa_de_pago")
    informed = closed_chat(center, "ana", "informacion_entregada")
    telco = closed_chat(center, "bruno", "no_interesado", TELCO_NUMBER)
    nubia = center.identified_chat("900100200")

    assert found_ids(center, "sandra", f"document={MARIA}") == [informed["id"], promised["id"]], "newest first"
    assert found_ids(center, "admin", "document=1.020.304.050") == [telco["id"], informed["id"], promised["id"]]
    local_phone = promised["customer_address"].removeprefix("whatsapp:+57")
    assert found_ids(center, "sandra", f"phone={local_phone[:3]} {local_phone[3:]}") == [promised["id"]]
    assert found_ids(center, "sandra", "name=nubia") == [nubia["id"]]
    assert found_ids(center, "sandra", "disposition=promesa_de_pago") == [promised["id"]]
    assert found_ids(center, "sandra", "state=open") == [nubia["id"]]
    assert found_ids(center, "tomas", f"document={MARIA}") == [telco["id"]]
    assert found_ids(center, "sandra", f"campaign_id={center.telco}") == [], "a campaign not theirs finds nothing"
    assert found_ids(center, "admin", f"agent_id={center.ids['bruno']}") == [telco["id"]]
    tomorrow = (center.clock.now() + timedelta(days=1)).date().isoformat()
    assert found_ids(center, "admin", f"date_from={tomorrow}") == []


def test_an_agent_finds_only_the_chats_they_handled(center: CallCenter) -> None:
    mine = closed_chat(center, "ana", "promesa_de_pago")
    center.set_status("ana", "offline")
    center.set_status("carla", "available")
    carlas = closed_chat(center, "carla", "informacion_entregada")

    assert found_ids(center, "ana", f"document={MARIA}") == [mine["id"]]
    assert found_ids(center, "carla", f"document={MARIA}") == [carlas["id"]]
    assert found_ids(center, "bruno", f"document={MARIA}") == []
    history = center.get("carla", f"/chats/{carlas['id']}").text.split('id="customer-history"')[1]
    assert mine["id"] not in history.split("</section>")[0], "ana's chat is not carla's to open"


def test_the_search_page_paginates_links_each_chat_and_exports_the_results(center: CallCenter) -> None:
    chats = [closed_chat(center, "ana", "promesa_de_pago") for _ in range(3)]

    first = center.get("sandra", "/search")
    assert first.status_code == 200
    assert all(f'href="/chats/{c["id"]}"' in first.text for c in chats), "a first visit shows the last 30 days"
    assert all(f'/chats/{c["id"]}/transcript.pdf' in first.text for c in chats)
    [newest, *_] = center.get("sandra", f"/api/search/chats?fresh=false&document={MARIA}").json()["chats"]
    assert newest["url"] == f"/chats/{chats[-1]['id']}"
    assert center.get("sandra", newest["transcript_url"]).content.startswith(b"%PDF")
    paged = center.get("sandra", f"/api/search/chats?fresh=false&document={MARIA}&page=2")
    assert paged.json()["total"] == 3 and paged.json()["pages"] == 1 and paged.json()["chats"] == []

    exported = center.get("sandra", f"/search.csv?fresh=false&document={MARIA}")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Abierto", "Cerrado", "Estado"]
    assert len(rows) == 4 and all(r[2] == "Cerrado" and r[-1] == "Promesa de pago" and r[7] == "Ana"
                                  for r in rows[1:])
