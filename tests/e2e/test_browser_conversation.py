"""The whole conversation in real browsers: a simulated customer of campaign A reaches an agent of
campaign A only, the agent answers from the desk, and the customer sees the answer. Then Twilio's
signed status callbacks for that answer (sent, delivered, read, a duplicate and a late `sent`) move
its delivery status on the desk to "Entregado" and "Leído", never backwards; and a reply Twilio
refuses is marked "Fallido" on the desk with its reason and code."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import httpx
import pytest

from adapters.twilio_signatures import sign, webhook_url
from adapters.twilio_transport import FakeTransport, SentMessage
from application.ports import SendFailedError
from despacho.demo import DEMO_PASSWORD
from domain.delivery_errors import explain
from projections import desk_queries
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.browser

CUSTOMER_PHONE = "+573001230001"
CUSTOMER = "whatsapp:" + CUSTOMER_PHONE
BANCO_A_NUMBER = "whatsapp:+5716000001"
BANCO_A_DOCUMENT = "1020304050"  # in banco_a's demo portfolio only
FIRST_REPLY = "Hola María, soy Ana. ¿En qué le ayudo?"
REFUSED_REPLY = "Le envío el detalle de su deuda."
INVALID_NUMBER = SendFailedError("21211", "El número de destino no es válido.", retryable=False)


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

        # It arrives live, no reload; a locator, since the live list may be redrawn between finding and clicking.
        agent.locator(".chat-list a[data-chat-id]").first.click()
        agent.wait_for_selector("[data-field=full_name] >> text=María")
        agent.fill("#reply-body", FIRST_REPLY)
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

    reply = sent_reply(live_server, FIRST_REPLY)
    delivery = agent_message(agent, "soy Ana")
    for status in ("sent", "delivered"):
        assert post_status(live_server, reply, status) == 204
    delivery.locator("[data-delivery=delivered] >> text=Entregado").wait_for()  # live, no reload
    for status in ("read", "read", "sent"):  # a duplicate, then a late `sent` after `read`
        assert post_status(live_server, reply, status) == 204
    delivery.locator("[data-delivery=read] >> text=Leído").wait_for()
    assert stored_status(live_server, reply.delivery.message_id) == "read", "a late `sent` never moves it back"
    agent.reload()
    agent_message(agent, "soy Ana").locator("[data-delivery=read] >> text=Leído").wait_for()

    transport = live_server.despacho.transport
    assert isinstance(transport, FakeTransport)
    transport.fail_next(INVALID_NUMBER)
    agent.fill("#reply-body", REFUSED_REPLY)
    agent.click(".reply-form button[type=submit]")
    failed = agent_message(agent, REFUSED_REPLY).locator(".message-delivery.message-failed[data-delivery=failed]")
    failed.locator("text=Fallido").wait_for()
    assert failed.locator(".error-meaning").inner_text().strip() == explain("21211").meaning
    assert failed.locator(".error-action").inner_text().strip() == f"Número de destino. {explain('21211').action}"
    assert "(21211)" in failed.locator(".delivery-error").inner_text()
    assert failed.locator("button:has-text('Reintentar')").count() == 0, "an invalid number is not retried"
    assert all(m.delivery.body != REFUSED_REPLY for m in transport.sent_to(CUSTOMER)), "the customer got nothing"


def sent_reply(live_server: LiveServer, body: str) -> SentMessage:
    """The agent's reply as the transport accepted it, once the worker has recorded its SID."""
    transport = live_server.despacho.transport
    assert isinstance(transport, FakeTransport)
    [reply] = [m for m in transport.sent_to(CUSTOMER) if m.delivery.body == body]
    deadline = time.monotonic() + 10
    while live_server.despacho.store.repository.get(UUID(reply.delivery.message_id)).sid != reply.sid:
        assert time.monotonic() < deadline, "the worker never recorded the reply's SID"
        time.sleep(0.05)
    return reply


def post_status(live_server: LiveServer, reply: SentMessage, status: str) -> int:
    """One of Twilio's status callbacks over HTTP, signed for the URL the app rebuilds from its public URL."""
    settings = live_server.despacho.settings
    params = {"AccountSid": settings.twilio_account_sid, "ApiVersion": "2010-04-01", "MessageSid": reply.sid,
              "SmsSid": reply.sid, "MessageStatus": status, "SmsStatus": status, "To": reply.delivery.to,
              "From": reply.delivery.sender, "ChannelPrefix": "whatsapp"}
    if status in {"delivered", "read"}:
        params["EventType"] = status.upper()
    path = f"/webhooks/twilio/status?mid={reply.delivery.message_id}"
    signature = sign(settings.twilio_auth_token.get_secret_value(), webhook_url(settings.public_url, path), params)
    response = httpx.post(live_server.url(path), data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
    return response.status_code


def agent_message(page: Any, text: str) -> Any:
    """The agent's message in the desk timeline whose text contains `text`."""
    return page.locator(".timeline [data-author=agent]").filter(has_text=text)


def stored_status(live_server: LiveServer, message_id: str) -> str:
    status: str = live_server.despacho.store.repository.get(UUID(message_id)).status
    return status
