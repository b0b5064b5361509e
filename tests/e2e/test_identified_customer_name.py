"""Once the bot identifies the customer, staff see the portfolio's name everywhere (desk list, queue, alerts, chat
page, closing PDF), with the WhatsApp profile name beside it; before that, the profile name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from despacho.settings import Settings
from domain.chats import Chat
from projections import desk_queries
from tests.e2e.desk_world import CallCenter, call_center, phones
from tests.e2e.test_api_auth import log_in
from tests.e2e.test_pages_name_codes_in_spanish import visible_text
from tests.services import require_binary
from tests.unit.test_transcript_pdf import flat, pdf_text

PORTFOLIO_NAME = "María Pérez"
BESIDE = "(WhatsApp: Cliente simulado)"


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def signed_in(center: CallCenter, login: str) -> TestClient:
    client = TestClient(center.client.app, follow_redirects=False)
    assert log_in(client, login).status_code == 303
    return client


def shown(client: TestClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, url
    return " ".join(visible_text(page.text).split())


def test_the_identification_records_the_portfolio_name_for_staff(center: CallCenter) -> None:
    chat = center.identified_chat()

    [identified] = [e for e in center.despacho.store.events.get(UUID(chat["id"]))
                    if isinstance(e, Chat.CustomerIdentified)]

    assert identified.customer_name == PORTFOLIO_NAME
    assert chat["customer_name"] == PORTFOLIO_NAME and chat["profile_name"] == "Cliente simulado"
    bot_said = " ".join(m.delivery.body for m in center.transport.sent_to(chat["customer_address"]))
    assert PORTFOLIO_NAME not in bot_said, "the bot never shows portfolio data to the customer"


def test_desk_chat_page_and_alerts_show_the_portfolio_name_with_the_profile_name_beside(center: CallCenter) -> None:
    chat = center.identified_chat()
    center.customer_writes(chat["customer_address"], "¿Me ayuda?")
    center.clock.advance(timedelta(minutes=31))
    center.despacho.timers.run(center.clock.now())
    center.settle()
    ana, sandra = signed_in(center, "ana"), signed_in(center, "sandra")

    for client, url in ((ana, "/desk"), (ana, f"/desk?chat={chat['id']}"), (sandra, f"/chats/{chat['id']}"),
                        (sandra, "/supervisor/agents"), (sandra, "/alerts"), (ana, "/alerts")):
        assert f"{PORTFOLIO_NAME} {BESIDE}" in shown(client, url), url


def test_the_queue_shows_a_waiting_customer_by_the_portfolio_name(center: CallCenter) -> None:
    center.set_status("ana", "break")
    center.identified_chat()

    assert f"{PORTFOLIO_NAME} {BESIDE}" in shown(signed_in(center, "sandra"), "/supervisor/queue")


def test_a_customer_still_in_the_bot_is_shown_by_the_profile_name(center: CallCenter) -> None:
    customer = next(phones)
    center.customer_writes(customer, "Hola")
    [chat] = desk_queries.chats_of_customer(center.despacho.read_engine, customer)

    page = shown(signed_in(center, "admin"), f"/chats/{chat['id']}")

    assert "Cliente simulado" in page and PORTFOLIO_NAME not in page and "WhatsApp:" not in page


def test_the_closing_pdf_names_the_customer_by_the_portfolio_with_the_profile_name(center: CallCenter,
                                                                                   tmp_path: Path) -> None:
    require_binary("pdftotext", "poppler-utils")
    chat = center.identified_chat()
    assert center.post("ana", f"/api/chats/{chat['id']}/close",
                       {"disposition": "promesa_de_pago", "note": ""}).status_code == 204

    pdf = center.get("sandra", f"/chats/{chat['id']}/transcript.pdf")
    text = flat(pdf_text(pdf.content, tmp_path))

    assert f"Cliente {PORTFOLIO_NAME}" in text and "WhatsApp: Cliente simulado" in text
    assert f"Cliente · {PORTFOLIO_NAME}" in text, "the customer's messages carry the portfolio name too"
