"""An admin, in a real browser, turns on the satisfaction survey of a campaign with its own question and answer
window (demo data: banco_a)."""

from __future__ import annotations

from typing import Any

import pytest

from projections.admin_queries import campaign_row
from projections.queries import list_campaigns
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_login import sign_in

pytestmark = pytest.mark.browser


def test_an_admin_turns_on_the_campaigns_survey(browser_page: Any, live_server: LiveServer) -> None:
    page = browser_page
    banco_a = next(c["id"] for c in list_campaigns(live_server.despacho.read_engine) if c["code"] == "banco_a")
    sign_in(page, live_server, "admin")
    page.goto(live_server.url(f"/admin/campaigns/{banco_a}"))

    page.check("#survey input[name=survey_enabled]")
    page.fill("#field-survey_question", "Del 1 al 5, ¿cómo lo atendimos hoy?")
    page.fill("#field-survey_answer_hours", "12")
    page.click("text=Guardar cambios")

    page.wait_for_url(f"**/admin/campaigns/{banco_a}")
    assert "Cambios guardados." in page.locator(".flashes").inner_text()
    assert page.locator("#survey input[name=survey_enabled]").is_checked()
    live_server.despacho.runner.catch_up()
    row = campaign_row(live_server.despacho.read_engine, banco_a)
    assert row is not None
    assert (row["survey_enabled"], row["survey_question"], row["survey_answer_hours"]) == (
        True, "Del 1 al 5, ¿cómo lo atendimos hoy?", 12)
