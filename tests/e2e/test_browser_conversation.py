"""The whole conversation in real browsers: a simulated customer of campaign A reaches an agent of
campaign A only, the agent answers from the desk, and the customer sees the answer."""

from __future__ import annotations

from typing import Any

import pytest

from despacho.demo import DEMO_PASSWORD
from projections import desk_queries
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.browser

CUSTOMER_PHONE = "+573001230001"
CUSTOMER = "whatsapp:" + CUSTOMER_PHONE
BANCO_A_NUMBER = "whatsapp:+5716000001"
BANCO_A_DOCUMENT = "1020304050"  # in banco_a's demo portfolio only


def sign_in(page: Any, live_server: LiveServer, login: str) -> None:
    page.goto(live_server.url("/login"))
    page.fill("#field-login", login)
    page.fill("#field-password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("nav.mainnav")


def customer_writes(page: Any, body: str) -> None:
    page.fill("#sim-phone", CUSTOMER_PHONE)
    page.select_option("#sim-to", BANCO_A_NUMBER)
    page.fill("#sim-body", body)
    page.click(".simulator-form button[type=submit]")
    page.wait_for_selector(f"#simulator-conversation [data-direction=in] >> text={body}")


def test_a_customer_of_campaign_a_talks_with_an_agent_of_campaign_a(browser: Any, browser_page: Any,
                                                                    live_server: LiveServer) -> None:
    agent = browser_page
    sign_in(agent, live_server, "ana")
    agent.wait_for_url("**/desk")
    agent.click(".status-toggle button[value=available]")
    agent.wait_for_selector("[data-agent-status=available]")

    context = browser.new_context(locale="es-CO", timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    customer = context.new_page()
    try:
        sign_in(customer, live_server, "supervisora")
        customer.goto(live_server.url("/simulator"))
        customer_writes(customer, "Hola")
        customer.wait_for_selector("#simulator-conversation >> text=Banco A")
        customer_writes(customer, "1")
        customer_writes(customer, BANCO_A_DOCUMENT)

        chat_link = agent.wait_for_selector(".chat-list a[data-chat-id]")  # arrives live, no reload
        chat_link.click()
        agent.wait_for_selector("[data-field=full_name] >> text=María")
        agent.fill("#reply-body", "Hola María, soy Ana. ¿En qué le ayudo?")
        agent.click(".reply-form button[type=submit]")
        agent.wait_for_selector(".timeline [data-author=agent] >> text=soy Ana")

        customer.wait_for_selector("#simulator-conversation [data-direction=out] >> text=Hola María, soy Ana")
    finally:
        context.close()

    engine = live_server.despacho.read_engine
    [chat] = desk_queries.chats_of_customer(engine, CUSTOMER)
    campaigns = {name: cid for cid, name in desk_queries.campaign_names(engine).items()}
    banco_a = campaigns["Banco A — Cobranza"]
    assert chat["campaign_id"] == banco_a
    assert desk_queries.agent_names(engine)[chat["agent_id"]] == "Ana Asesora"
    assert banco_a in desk_queries.campaigns_of(engine, chat["agent_id"]), "only an agent of campaign A"
