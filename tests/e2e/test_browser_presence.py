"""An agent in a real browser: signs in, takes a break with a reason, comes back available; then every tab is left
alone past the idle limit (the injected clock moves on), the idle-session job expires the session, and the page's
own heartbeat finds its cookie refused and goes back to the login page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from adapters.clock import FixedClock
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.runtime import background
from despacho.settings import Settings
from projections.queries import AGENTS
from tests.conftest import START
from tests.e2e.conftest import LiveServer, _wait_until_serving
from tests.e2e.test_api_auth import PASSWORD, QUICK_PASSWORDS
from tests.services import free_port

pytestmark = pytest.mark.browser
IDLE_MINUTES = 45


@pytest.fixture
def clocked_server(tmp_path: Path) -> Iterator[tuple[LiveServer, FixedClock]]:
    """Despacho over real HTTP on a clock the test moves, with agent ana of a campaign whose sessions idle out
    after 45 minutes."""
    clock = FixedClock(START)
    despacho = build(Settings(mode="embedded", var_dir=tmp_path / "var"), clock=clock, passwords=QUICK_PASSWORDS)
    campaign = despacho.campaigns.register("banco_a", "Banco A", "Banco A",
                                           {"session_idle_minutes": IDLE_MINUTES}, actor="t")
    despacho.staff.register("ana", "Ana Asesora", "agent", password=PASSWORD, actor="t",
                            campaign_ids=frozenset({str(campaign)}))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(despacho), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    with background(despacho, projector=True, worker=True, scheduler=False):
        thread = threading.Thread(target=server.run, name="clocked-server", daemon=True)
        thread.start()
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_serving(server, thread, base_url)
            yield LiveServer(base_url, despacho), clock
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    despacho.close()


def sessions(despacho: Despacho) -> list[dict[str, Any]]:
    despacho.runner.catch_up()
    with despacho.read_engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(AGENTS.sessions)).mappings()]


def test_login_break_with_a_reason_available_then_idle_expiry_refuses_the_cookie(
        browser_page: Any, clocked_server: tuple[LiveServer, FixedClock]) -> None:
    server, clock = clocked_server
    page = browser_page
    page.goto(server.url("/login"))
    page.fill("#field-login", "ana")
    page.fill("#field-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/desk")
    assert page.locator("body").get_attribute("data-heartbeat-seconds") == "60"

    page.select_option("#break-reason-choice", "capacitación")
    page.click("form.break-form button[type=submit]")
    page.wait_for_selector("#break-reason")
    assert page.locator("#break-reason").inner_text() == "(capacitación)"
    assert page.locator(".status-toggle [data-agent-status]").get_attribute("data-agent-status") == "break"

    clock.advance(timedelta(minutes=10))
    page.click("form button[value=available]")
    page.wait_for_selector(".status-toggle [data-agent-status=available]")
    assert page.locator("#break-reason").count() == 0
    last_activity = clock.now()

    clock.advance(timedelta(minutes=IDLE_MINUTES + 1))  # every tab left alone past the campaign's idle limit
    server.despacho.actors.expire_sessions.fn()
    page.evaluate("window.Despacho.heartbeat()")
    page.wait_for_url("**/login**")

    [closed] = sessions(server.despacho)
    assert (closed["close_reason"], closed["closed_at"]) == ("expired", last_activity)
    page.goto(server.url("/desk"))
    assert "/login" in page.url, "the cookie is refused: back to the login page"
    assert page.context.cookies() == [] or all(c["name"] != "despacho_session" for c in page.context.cookies())
