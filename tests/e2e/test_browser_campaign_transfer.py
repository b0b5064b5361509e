"""Transfer to another campaign in Chromium (issue 15, item 12), on the demo call center: Juan Gómez (52123456) is in
banco_a's and telco_b's portfolios; he writes to banco_a's number and reaches Ana, who moves the chat to Telco B with
the keyboard alone, giving a reason. The chat leaves her desk and waits in telco_b's queue, and the supervisor sees
the transfer, where from and to and why, on the chat's assignment history. With DESPACHO_SCREENSHOTS=docs/screenshots
the filled form and the chat's history are saved there (the README links them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from projections import desk_queries
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_admin import campaign_ids
from tests.e2e.test_browser_conversation import sign_in
from tests.e2e.test_browser_dashboards import screenshot, screenshots
from tests.e2e.test_browser_desk_tools import a_customer_reaches_ana

__all__ = ["screenshots"]  # the fixture, shared with the dashboards' browser tests

pytestmark = pytest.mark.browser

IN_BOTH_CAMPAIGNS = "52123456"
REASON = "Quiere negociar su deuda con Telco B"


def test_an_agent_transfers_a_chat_to_another_campaign_with_the_keyboard(
        browser: Any, browser_page: Any, live_server: LiveServer, screenshots: Path) -> None:
    agent = browser_page
    agent.on("dialog", lambda dialog: dialog.accept())
    chat = a_customer_reaches_ana(browser, live_server, agent, "+573001230201", IN_BOTH_CAMPAIGNS, "Juan")
    telco = campaign_ids(live_server)["telco_b"]
    options = agent.locator("#transfer-campaign option")
    assert options.all_inner_texts() == ["Telco B"], "only the other campaign holding Juan"

    agent.locator("#transfer-campaign").focus()
    agent.keyboard.press("Tab")
    assert agent.evaluate("document.activeElement.id") == "transfer-reason"
    agent.keyboard.type(REASON)
    agent.keyboard.press("Tab")
    assert agent.evaluate("document.activeElement.textContent.trim()") == "Transferir"
    agent.evaluate("window.scrollTo(0, 0)")  # a full-page picture, the sticky header at the top
    screenshot(agent, screenshots, "desk-transfer.png")
    agent.keyboard.press("Enter")

    agent.wait_for_selector(".flashes >> text=Chat transferido a la otra campaña.")
    assert agent.locator(f".chat-list a[data-chat-id='{chat['id']}']").count() == 0
    moved = desk_queries.chat(live_server.despacho.read_engine, chat["id"])
    assert moved is not None and (moved["campaign_id"], moved["status"], moved["agent_id"]) == (
        telco, "waiting_queue", None)

    context = browser.new_context(locale="es-CO", timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    supervisor = context.new_page()
    try:
        sign_in(supervisor, live_server, "supervisora")
        supervisor.goto(live_server.url(f"/chats/{chat['id']}"))
        row = supervisor.locator("#assignments-title ~ * tr", has_text="Transferencia a otra campaña")
        row.wait_for()
        assert REASON in row.inner_text()
        assert "Telco B" in row.inner_text() and "Ana Asesora" in row.inner_text()
        screenshot(supervisor, screenshots, "chat-transfer-history.png")
    finally:
        context.close()
