"""The risk pages in Chromium over the demo call center, after a few templates from Banco A's WhatsApp number: the
sender's charts are drawn (canvas, no console error) with exactly the numbers of the table beside each, the range
switches to seven days, and the overview draws each sender's week."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from domain.campaigns import Campaign
from domain.messages import OutboundMessage
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_login import sign_in

pytestmark = pytest.mark.browser
BANCO_NUMBER = "whatsapp:+5716000001"
CHARTS = ("risk-volume", "risk-reach", "risk-customers", "risk-blocks", "risk-failures")
PLOTTED = """(el) => window.echarts.getInstanceByDom(el).getOption().series.map((s) => s.data.map(Number))"""
TABULATED = """(table) => {
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  const columns = table.querySelectorAll("thead th[data-series]").length || 1;
  return Array.from({ length: columns }, (_, n) =>
    rows.map((row) => Number(row.querySelectorAll("td[data-value]")[n].dataset.value)));
}"""


@pytest.fixture(scope="module")
def templates_sent(live_server: LiveServer) -> None:
    despacho = live_server.despacho
    campaign_id = str(Campaign.create_id("banco_a"))
    for n in range(4):
        despacho.store.save(OutboundMessage.request(
            chat_id="", campaign_id=campaign_id, kind="template", channel="whatsapp", to=f"whatsapp:+5730022200{n}",
            sender=BANCO_NUMBER, content_sid="HX" + "d" * 32, actor="test", at=despacho.clock.now()))
    despacho.runner.catch_up()


@pytest.fixture
def console_errors(browser_page: Any) -> Iterator[list[str]]:
    errors: list[str] = []
    browser_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    yield errors


def charts_match_their_tables(page: Any, rows: int) -> None:
    for chart in CHARTS:
        page.wait_for_selector(f'[data-chart-table="{chart}-table"] canvas')
        plotted = page.locator(f'[data-chart-table="{chart}-table"]').evaluate(PLOTTED)
        tabulated = page.locator(f"#{chart}-table").evaluate(TABULATED)
        assert plotted == tabulated and len(tabulated[0]) == rows, chart


def test_the_sender_s_charts_are_drawn_from_their_tables_over_both_ranges(
        browser_page: Any, live_server: LiveServer, templates_sent: None, console_errors: list[str]) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "admin")
    page.goto(live_server.url(f"/risk/senders/{quote(BANCO_NUMBER)}"))

    charts_match_their_tables(page, 24)
    assert sum(page.locator('[data-chart-table="risk-volume-table"]').evaluate(PLOTTED)[0]) >= 4
    page.click("text=Últimos 7 días")
    page.wait_for_url("**range=7d")
    charts_match_their_tables(page, 28)
    assert console_errors == []


def test_the_overview_draws_a_week_of_volume_per_sender(
        browser_page: Any, live_server: LiveServer, templates_sent: None, console_errors: list[str]) -> None:
    page = browser_page
    sign_in(page, live_server, "supervisora")
    page.goto(live_server.url("/risk"))

    sparkline = page.locator("#risk-senders tr", has_text=BANCO_NUMBER).locator(".sparkline")
    sparkline.locator("canvas").wait_for()
    assert sum(sparkline.evaluate(PLOTTED)[0]) >= 4
    assert console_errors == []


def test_without_the_chart_library_the_sender_page_shows_the_tables(
        browser_page: Any, live_server: LiveServer, templates_sent: None) -> None:
    page = browser_page
    page.route("**/vendor/echarts.min.js*", lambda route: route.abort())
    sign_in(page, live_server, "admin")
    page.goto(live_server.url(f"/risk/senders/{quote(BANCO_NUMBER)}"))

    for chart in CHARTS:
        assert page.locator(f"#{chart}-table").is_visible()
        assert page.locator(f'[data-chart-table="{chart}-table"]').is_hidden()
