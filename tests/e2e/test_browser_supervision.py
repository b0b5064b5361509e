"""Supervision in Chromium over the demo call center, from the keyboard: a supervisor reassigns a chat from the
agents page to an agent on a break (the form says so, and that it takes the recorded exception), acknowledges two
alerts in one action, and an admin reads each flow's test results. With DESPACHO_SCREENSHOTS=docs/screenshots the
agents page with its reassign form is saved there for the docs."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from despacho.simulator import random_phones
from domain.agents import Agent
from projections import alert_queries, desk_queries
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_dashboards import identified_customer, screenshot, screenshots
from tests.e2e.test_browser_login import sign_in

pytestmark = pytest.mark.browser
CUSTOMERS = 3

__all__ = ["screenshots"]  # the fixture, shared with the dashboards' browser test


def agent_id(login: str) -> UUID:
    return Agent.create_id(login)


@pytest.fixture(scope="module")
def floor(live_server: LiveServer) -> list[str]:
    """Ana is available and takes three customers of banco_a, whom she leaves unanswered past the campaign's 30
    minutes; Bruno, of banco_a too, is on a lunch break."""
    despacho = live_server.despacho
    for login, status, reason in (("ana", "available", ""), ("bruno", "break", "almuerzo")):
        agent = agent_id(login)
        session = despacho.staff.open_session(agent, "browser-test")
        despacho.staff.change_status(agent, status, session_id=session, reason=reason, actor="test")
    despacho.runner.catch_up()
    phones = random_phones(CUSTOMERS)
    for phone in phones:
        identified_customer(live_server, phone)
    chat_ids = [desk_queries.chats_of_customer(despacho.read_engine, f"whatsapp:{p}")[0]["id"] for p in phones]
    for _ in range(300):  # the routing follower assigns them in the background
        despacho.runner.catch_up()
        if all(desk_queries.chat(despacho.read_engine, c)["status"] == "assigned" for c in chat_ids):  # type: ignore[index]
            break
        threading.Event().wait(0.1)
    despacho.timers.run(despacho.clock.now() + timedelta(minutes=31))
    despacho.runner.catch_up()
    return chat_ids


def focus_is_visible(page: Any) -> bool:
    return bool(page.evaluate("getComputedStyle(document.activeElement).outlineStyle !== 'none'"))


def test_a_supervisor_reassigns_to_an_agent_on_a_break_as_the_recorded_exception(
        browser_page: Any, live_server: LiveServer, floor: list[str], screenshots: Path) -> None:
    page, chat_id = browser_page, floor[0]
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "supervisora")
    page.goto(live_server.url("/supervisor/agents"))

    page.focus(f'details[data-chat-id="{chat_id}"] summary')
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    select = page.locator(f"#reassign-agent-{chat_id}")
    bruno = select.locator("option", has_text="Bruno")
    assert bruno.get_attribute("data-fit") == "exception"
    label = (bruno.text_content() or "").strip()  # an option's innerText is empty until its <select> is drawn
    assert "En pausa (Almuerzo)" in label and "solo como excepción" in label
    select.select_option(value=bruno.get_attribute("value"))
    screenshot(page, screenshots, "supervisor-agents.png")
    form = page.locator(f'details[data-chat-id="{chat_id}"] form')
    form.locator('input[name="to_unavailable"]').focus()
    page.keyboard.press("Space")
    form.locator('input[name="reason"]').focus()
    page.keyboard.type("Cubre a Ana mientras vuelve de la reunión")
    page.keyboard.press("Enter")

    page.wait_for_selector("text=Chat reasignado.")
    chat = desk_queries.chat(live_server.despacho.read_engine, chat_id)
    assert chat is not None and chat["agent_id"] == str(agent_id("bruno"))


def test_a_supervisor_acknowledges_two_alerts_in_one_action(browser_page: Any, live_server: LiveServer,
                                                            floor: list[str]) -> None:
    page = browser_page
    sign_in(page, live_server, "supervisora")
    page.goto(live_server.url("/alerts"))
    alerts = {a["chat_id"]: a["id"] for a in alert_queries.alerts(live_server.despacho.read_engine,
                                                                    campaign_ids=None, states=("open",))}
    chosen = [alerts[chat_id] for chat_id in floor[1:]]

    for alert_id in chosen:
        page.focus(f"#select-alert-{alert_id}")
        assert focus_is_visible(page)
        page.keyboard.press("Space")
    page.focus("#bulk-acknowledge button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_selector("text=2 alerta(s) marcadas como vistas.")
    seen = alert_queries.alerts(live_server.despacho.read_engine, campaign_ids=None, states=("acknowledged",))
    assert {a["id"] for a in seen} == set(chosen)
    assert page.locator(f"#select-alert-{alerts[floor[0]]}").count() == 1, "the one not chosen is still open"


def test_an_admin_reads_each_flows_test_results(browser_page: Any, live_server: LiveServer) -> None:
    page = browser_page
    sign_in(page, live_server, "admin")
    page.goto(live_server.url("/admin/flows"))

    for flow in ("default", "autoservicio_pagos"):
        cell = page.locator(f'td[data-flow-tests="{flow}"]')
        assert "pasan" in cell.inner_text() and "Falla" not in cell.inner_text()
    page.locator('td[data-flow-tests="default"] summary').first.focus()
    page.keyboard.press("Enter")
    assert page.locator('td[data-flow-tests="default"] [data-scenario-passed="true"]').first.is_visible()


def test_a_reassign_panel_the_supervisor_opened_stays_open_when_the_agents_list_is_drawn_again(
        browser_page: Any, live_server: LiveServer, floor: list[str]) -> None:
    page, chat_id = browser_page, floor[0]
    sign_in(page, live_server, "supervisora")
    page.goto(live_server.url("/supervisor/agents"))
    panel = f'details[data-chat-id="{chat_id}"]'
    page.click(f"{panel} summary")
    page.evaluate("""() => { window.redrawn = false; document.getElementById("agents")
        .addEventListener("despacho:updated", () => { window.redrawn = true; }, { once: true }); }""")

    for _ in range(60):  # what any agent's change sends, until the page's stream is up and the list is redrawn
        live_server.despacho.live.publish(["agents"])
        if page.evaluate("window.redrawn"):
            break
        page.wait_for_timeout(250)

    assert page.evaluate("window.redrawn"), "the agents list was fetched and drawn again"
    assert page.locator(panel).evaluate("details => details.open"), "the open panel survived the redraw"
    assert page.locator(f"#reassign-agent-{chat_id}").is_visible()
