"""The chat search in Chromium over the demo call center, driven from the keyboard: a supervisor types a customer's
document, presses Enter, finds their chats (with the focus visible on the way) and opens one, whose page lists the
customer's other chats. With DESPACHO_SCREENSHOTS=docs/screenshots the search page is saved there for the docs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from despacho.simulator import random_phones
from projections import desk_queries
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_dashboards import identified_customer, screenshot, screenshots
from tests.e2e.test_browser_login import sign_in

pytestmark = pytest.mark.browser
DOCUMENT = "1020304050"  # banco_a's María in the demo portfolio
CHATS = 2

__all__ = ["screenshots"]  # the fixture, shared with the dashboards' browser test


@pytest.fixture(scope="module")
def marias_chats(live_server: LiveServer) -> list[str]:
    """María writes from two phones; each chat is identified and waits in banco_a's queue, and a supervisor closes
    the first one, whose transcript the worker then stores."""
    phones = random_phones(CHATS)
    for phone in phones:
        identified_customer(live_server, phone)
    despacho = live_server.despacho
    [first] = desk_queries.chats_of_customer(despacho.read_engine, f"whatsapp:{phones[0]}")
    despacho.closing.close(first["id"], "supervisor", disposition="informacion_entregada",
                           note="Atendida por teléfono", actor="test")
    for _ in range(300):
        despacho.runner.catch_up()
        if desk_queries.transcript_location(despacho.read_engine, first["id"]):
            break
        threading.Event().wait(0.1)
    return phones


def focus_is_visible(page: Any) -> bool:
    return bool(page.evaluate("getComputedStyle(document.activeElement).outlineStyle !== 'none'"))


def test_a_supervisor_finds_a_customers_chats_by_document_from_the_keyboard(
        browser_page: Any, live_server: LiveServer, marias_chats: list[str], screenshots: Path) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "supervisora")
    page.goto(live_server.url("/search"))

    page.focus("#s-document")
    page.keyboard.type(DOCUMENT)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "s-phone" and focus_is_visible(page)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/search?**document={DOCUMENT}**")

    rows = page.locator("#search-results tbody tr")
    assert rows.count() == CHATS
    assert all(DOCUMENT in text and "Banco A" in text for text in rows.all_inner_texts())
    assert rows.last.locator("a[data-transcript]").count() == 1, "the closed chat links its PDF"
    assert page.locator("#results-title").inner_text().startswith(f"{CHATS} chat(s)")
    screenshot(page, screenshots, "search.png")

    first = rows.first.locator("a").first
    first.focus()
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_selector("#customer-history")
    history = page.locator("#customer-history li")
    assert history.count() == CHATS - 1, "the customer's other chat, not this one"
    assert page.locator("#customer-history a[data-transcript]").count() == 1, "the closed one's PDF"
