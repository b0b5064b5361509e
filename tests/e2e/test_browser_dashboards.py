"""The dashboards in Chromium over the demo call center: customers of banco_a wait in its queue (no agent is
connected), the supervisor's and the admin's home pages draw the hourly chart from their tables, the supervisor's
queue updates live when one more customer writes. With DESPACHO_SCREENSHOTS=docs/screenshots each page is saved
there for the docs; otherwise into the test's temporary directory, so a test run never changes the tree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from despacho.simulator import WEBHOOK_PATH, random_phones, signed_message
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_login import sign_in

pytestmark = pytest.mark.browser
BANCO_NUMBER = "whatsapp:+5716000001"
WAITING = 3


def identified_customer(live_server: LiveServer, phone: str) -> None:
    """A customer says hello, chooses cédula and sends a document of banco_a's portfolio over the signed webhook."""
    for body in ("Hola", "1", "1020304050"):
        params, headers = signed_message(live_server.despacho.settings, f"whatsapp:{phone}", BANCO_NUMBER, body)
        httpx.post(live_server.url(WEBHOOK_PATH), data=params, headers=headers, timeout=10).raise_for_status()
        live_server.despacho.runner.catch_up()


@pytest.fixture(scope="module")
def phones() -> list[str]:
    return random_phones(WAITING + 1)


@pytest.fixture(scope="module")
def waiting_customers(live_server: LiveServer, phones: list[str]) -> list[str]:
    for phone in phones[:WAITING]:
        identified_customer(live_server, phone)
    return phones[:WAITING]


def chart_drawn(page: Any) -> None:
    page.wait_for_selector("#volume .chart svg")
    assert page.locator("#volume .chart").get_attribute("role") == "img"
    assert "Chats abiertos hoy por hora" in (page.locator("#volume .chart").get_attribute("aria-label") or "")
    assert page.locator("#volume-table tbody tr").count() == 24


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("DESPACHO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name), full_page=True)
    assert (folder / name).stat().st_size > 0


def test_the_supervisor_sees_the_queue_live_and_the_hourly_chart(
        browser_page: Any, live_server: LiveServer, waiting_customers: list[str], phones: list[str],
        screenshots: Path) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "supervisora")
    page.goto(live_server.url("/"))

    chart_drawn(page)
    banco_waiting = page.locator("#queue tbody tr", has_text="Banco A").locator("[data-waiting]")
    assert int(banco_waiting.get_attribute("data-waiting") or "0") >= WAITING
    before = int(banco_waiting.get_attribute("data-waiting") or "0")
    screenshot(page, screenshots, "dashboard-supervisor.png")

    identified_customer(live_server, phones[WAITING])

    page.wait_for_selector(f'#queue tr:has-text("Banco A") [data-waiting="{before + 1}"]')
    page.wait_for_selector("#volume .chart svg")  # drawn again after its section was refreshed


def test_the_admin_sees_every_campaign_and_todays_delivery(
        browser_page: Any, live_server: LiveServer, waiting_customers: list[str], screenshots: Path) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "admin")
    page.goto(live_server.url("/"))

    chart_drawn(page)
    assert page.locator("#campaigns tbody tr").count() >= 2
    assert page.locator("#delivery tbody tr", has_text="Banco A").locator("[data-requested]").get_attribute(
        "data-requested") != "0", "the bot answered the customers today"
    assert page.locator('a[href="/attendance"]').count() >= 1
    screenshot(page, screenshots, "dashboard-admin.png")


def test_the_agent_sees_their_own_day(browser_page: Any, live_server: LiveServer, screenshots: Path) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 720})
    sign_in(page, live_server, "ana")
    page.click('nav.mainnav a[href="/mi-dia"]')
    page.wait_for_selector("h1:has-text('Mi día')")

    assert page.locator("[data-total=chats_assigned]").count() == 1
    screenshot(page, screenshots, "dashboard-agent-day.png")


def test_without_the_chart_library_the_page_shows_the_table(
        browser_page: Any, live_server: LiveServer, waiting_customers: list[str], screenshots: Path) -> None:
    page = browser_page
    page.route("**/vendor/echarts.min.js*", lambda route: route.abort())
    sign_in(page, live_server, "supervisora")
    page.goto(live_server.url("/"))

    page.wait_for_selector("#volume-table")
    assert page.locator("#volume .chart").is_hidden()
    assert page.locator("#volume-table").is_visible()
    assert page.locator("#queue [data-waiting]").count() >= 1
