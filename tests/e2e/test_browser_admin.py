"""An admin, in a real browser, uploads a portfolio for a chosen campaign and creates an agent
with two campaigns (demo data: banco_a and telco_b)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from projections.admin_queries import agent_row
from projections.queries import list_campaigns
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_login import sign_in

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parents[1] / "fixtures" / "portfolios"


def campaign_ids(live_server: LiveServer) -> dict[str, str]:
    return {c["code"]: c["id"] for c in list_campaigns(live_server.despacho.read_engine)}


def test_an_admin_uploads_a_portfolio_for_the_chosen_campaign(browser_page: Any, live_server: LiveServer) -> None:
    page = browser_page
    sign_in(page, live_server, "admin")
    page.goto(live_server.url("/admin/portfolios"))

    page.select_option("#field-campaign_id", campaign_ids(live_server)["telco_b"])
    page.set_input_files("#field-file", str(FIXTURES / "cartera_con_errores.csv"))
    page.click("text=Revisar archivo")

    assert page.locator("[data-count=valid]").inner_text() == "30"
    assert page.locator("[data-count=invalid]").inner_text() == "10"
    with page.expect_download() as download:
        page.click("#error-report")
    assert download.value.suggested_filename == "errores_cartera_con_errores.csv"

    page.click("text=Confirmar importación")
    page.wait_for_selector("#job-progress[data-status=completed]", timeout=30_000)
    assert "30 clientes importados" in page.locator("#job-progress").inner_text()
    page.goto(live_server.url("/admin/portfolios"))
    assert "cartera_con_errores.csv" in page.locator("main").inner_text()


def test_an_admin_creates_an_agent_with_two_campaigns(browser_page: Any, live_server: LiveServer) -> None:
    page = browser_page
    ids = campaign_ids(live_server)
    sign_in(page, live_server, "admin")
    page.goto(live_server.url("/admin/agents/new"))

    page.fill("#field-login", "diana")
    page.fill("#field-password", "una-clave-segura")
    page.fill("#field-name", "Diana Asesora")
    page.fill("#field-capacity", "3")
    page.select_option("#field-campaign_ids", [ids["banco_a"], ids["telco_b"]])
    page.click("text=Crear usuario")

    page.wait_for_url("**/admin/agents/*")
    assert "Usuario creado." in page.locator(".flashes").inner_text()
    live_server.despacho.runner.catch_up()
    agent_id = page.url.rsplit("/", 1)[1]
    row = agent_row(live_server.despacho.read_engine, agent_id)
    assert row is not None and row["campaigns"] == sorted([ids["banco_a"], ids["telco_b"]])
    page.goto(live_server.url("/admin/agents"))
    assert "Diana Asesora" in page.locator("main").inner_text()
