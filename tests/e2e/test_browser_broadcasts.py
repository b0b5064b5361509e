"""A supervisor, in a real browser, creates a proactive send for the demo's banco_a (customers 100 days or more past
due: Juan only), sees the preview, schedules it and watches it run to the end."""

from __future__ import annotations

from typing import Any

import pytest

from projections.queries import list_campaigns
from projections.runner import wait_until_projected
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_login import sign_in

pytestmark = pytest.mark.browser


def test_a_supervisor_creates_a_broadcast_sees_its_preview_and_watches_it_finish(browser_page: Any,
                                                                                 live_server: LiveServer) -> None:
    page = browser_page
    banco = next(c["id"] for c in list_campaigns(live_server.despacho.read_engine) if c["code"] == "banco_a")
    sign_in(page, live_server, "supervisora")
    page.click("nav.mainnav >> text=Envíos proactivos")
    page.select_option("#field-campaign", banco)
    page.click("text=Filtrar")
    page.click("text=Nuevo envío")

    page.fill("#field-name", "Mora de más de 100 días")
    page.fill("#field-min_days_past_due", "100")
    page.click("button:has-text('Calcular vista previa')")
    page.wait_for_selector("#preview")
    assert page.locator("[data-figure=selected]").inner_text() == "1"
    assert page.locator("[data-excluded=opted_out]").inner_text() == "0"

    page.click("button:has-text('Programar envío')")
    page.wait_for_url("**/broadcasts/*")
    assert "Envío programado." in page.locator(".flashes").inner_text()
    for _ in range(3):  # the worker and the projector finish what the schedule started, then the page is read again
        live_server.despacho.broker.join("default")  # type: ignore[attr-defined]
        wait_until_projected(live_server.despacho.runner)
    page.reload()
    assert page.locator("h1 [data-state]").inner_text() == "Terminado"
    assert page.locator("[data-figure=selected]").inner_text() == "1"
    assert page.locator("[data-figure=remaining]").inner_text() == "0"
