"""An agent's working day at the desk, in Chromium: a sound and a desktop notification for a new chat and for a
new customer message, unread counts in the tab title and on each chat, cleared once the chat is on screen; the
chat list naming the customer, showing the last message and how long they have waited, the longest wait first;
replies sent with Enter without reloading, their delivery status moving live, a failure explained in Spanish with a
retry that sends once however often it is clicked; the portfolio panel in pesos, dates formatted, fields named by
the file's own headers; and the keyboard focus kept on a chat when the list redraws.

Customers write over the real, signed webhook (despacho.simulator); the browser spies on the Notification and
WebAudio APIs (an init script records what the page asked them for) so the test can see what the agent heard."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from adapters.twilio_signatures import sign, webhook_url
from adapters.twilio_transport import FakeTransport, SentMessage
from despacho.simulator import WEBHOOK_PATH, signed_message
from domain.delivery_errors import explain
from projections import desk_queries
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_conversation import sign_in
from tests.e2e.test_browser_dashboards import screenshot

pytestmark = pytest.mark.browser

BANCO_A_NUMBER = "whatsapp:+5716000001"
DOCUMENT = "1020304050"  # María Pérez Gómez, banco_a's demo portfolio
phones = (f"whatsapp:+57300{n:07d}" for n in itertools.count(2390001))
BANCO_A_FILE = ("Tipo de documento;Documento;Nombres;Apellidos;Celular;Saldo;Fecha de vencimiento;Valor cuota;"
                "Producto\n"
                "CC;1020304050;María;Pérez Gómez;3001112233;1234567;2026-03-15;150000;Tarjeta Oro\n")

SPY = """
window.__notices = JSON.parse(sessionStorage.getItem("spy.notices") || "[]");
window.__tones = 0;
if (window.Notification) {
  const Original = window.Notification;
  window.Notification = class extends Original {
    constructor(title, options) {
      window.__notices.push({ title: title, body: (options || {}).body || "" });
      sessionStorage.setItem("spy.notices", JSON.stringify(window.__notices));
      super(title, options);
    }
  };
}
if (window.AudioContext) {
  const create = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () { window.__tones += 1; return create.call(this); };
}
"""
"""Records every desktop notification the desk asks for (kept across the tab's page loads) and every tone."""


def customer_writes(live_server: LiveServer, customer: str, body: str) -> None:
    params, headers = signed_message(live_server.despacho.settings, customer, BANCO_A_NUMBER, body)
    response = httpx.post(live_server.url(WEBHOOK_PATH), data=params, headers=headers, timeout=10)
    assert response.status_code == 200, response.text


def customer_reaches_an_agent(live_server: LiveServer, customer: str) -> None:
    for body in ("Hola", "1", DOCUMENT):
        customer_writes(live_server, customer, body)


def chat_of(live_server: LiveServer, customer: str) -> str:
    deadline = time.monotonic() + 15
    while True:
        chats = desk_queries.chats_of_customer(live_server.despacho.read_engine, customer)
        if chats and chats[-1]["status"] == "assigned":
            return str(chats[-1]["id"])
        assert time.monotonic() < deadline, "the chat was never assigned"
        time.sleep(0.05)


@pytest.fixture
def agent(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """Ana at her desk, available, in a browser that lets the desk notify (as after she said yes once)."""
    context = browser.new_context(locale="es-CO", timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    context.grant_permissions(["notifications"], origin=live_server.base_url)
    context.add_init_script(SPY)
    page = context.new_page()
    sign_in(page, live_server, "ana")
    page.wait_for_url("**/desk")
    page.click(".status-toggle button[value=available]")
    page.wait_for_selector("[data-agent-status=available]")
    page.click("h1")  # her first click on the page, which lets it play sounds
    yield page
    context.close()
    close_every_chat_of_ana(live_server)


def close_every_chat_of_ana(live_server: LiveServer) -> None:
    """The next test finds her with room for new chats (the server serves the whole module)."""
    despacho = live_server.despacho
    despacho.runner.catch_up()
    ana = next(i for i, name in desk_queries.agent_names(despacho.read_engine).items() if name == "Ana Asesora")
    for chat in desk_queries.open_chats_of(despacho.read_engine, ana):
        despacho.closing.close(chat["id"], "supervisor", disposition="informacion_entregada",
                               note="Fin de la prueba", actor="test")
    despacho.runner.catch_up()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DESPACHO_SCREENSHOTS=docs/screenshots saves the desk there for the docs; a test run never changes the tree."""
    folder = Path(os.environ.get("DESPACHO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def notices(page: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = page.evaluate("window.__notices")
    return found


def wait_for_notice(page: Any, title: str, count: int = 1) -> None:
    page.wait_for_function("([title, count]) => window.__notices.filter((n) => n.title === title).length >= count",
                           arg=[title, count])


def listed_chats(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(".chat-list li[data-chat-id]",
                                               "items => items.map((item) => item.dataset.chatId)")
    return ids


def test_new_chats_and_messages_notify_and_count_as_unread_until_seen(agent: Any, live_server: LiveServer) -> None:
    first_customer, second_customer = next(phones), next(phones)
    customer_reaches_an_agent(live_server, first_customer)
    first = chat_of(live_server, first_customer)

    wait_for_notice(agent, "Nuevo chat asignado")
    assert notices(agent)[0]["body"] == "María Pérez Gómez", "the notification names the customer"
    assert agent.evaluate("window.__tones") > 0, "and a sound was played"
    agent.locator(f"li[data-chat-id='{first}'] [data-unread-badge]").filter(has_text="3").wait_for()
    agent.wait_for_function("document.title === '(3) Mi escritorio · Despacho'")

    agent.click(f"#chat-link-{first}")  # on screen: her three messages are seen
    agent.wait_for_function("document.title === 'Mi escritorio · Despacho'")
    assert agent.locator(f"li[data-chat-id='{first}'] [data-unread-badge]").count() == 0

    customer_reaches_an_agent(live_server, second_customer)
    second = chat_of(live_server, second_customer)
    wait_for_notice(agent, "Nuevo chat asignado", count=2)
    customer_writes(live_server, second_customer, "¿Me pueden llamar más tarde?")
    wait_for_notice(agent, "Nuevo mensaje del cliente")
    agent.locator(f"li[data-chat-id='{second}'] [data-unread-badge]").filter(has_text="4").wait_for()
    agent.wait_for_function("document.title === '(4) Mi escritorio · Despacho'")

    customer_writes(live_server, first_customer, "Ya hice el pago")  # in the chat she is reading
    agent.locator(".timeline [data-author=customer]").filter(has_text="Ya hice el pago").wait_for()
    agent.locator(f"li[data-chat-id='{first}'] [data-last-message]").filter(has_text="Ya hice el pago").wait_for()
    agent.locator(f"li[data-chat-id='{first}'] [data-unread-badge]").wait_for(state="detached")  # seen on arrival
    agent.wait_for_function("document.title === '(4) Mi escritorio · Despacho'")
    assert [n["title"] for n in notices(agent)].count("Nuevo mensaje del cliente") == 1, "no notice for it"


def test_the_chat_list_shows_who_waits_longest_first_with_name_last_message_and_wait(
        agent: Any, live_server: LiveServer, screenshots: Path) -> None:
    first_customer, second_customer = next(phones), next(phones)
    customer_reaches_an_agent(live_server, first_customer)
    first = chat_of(live_server, first_customer)
    customer_reaches_an_agent(live_server, second_customer)
    second = chat_of(live_server, second_customer)
    customer_writes(live_server, second_customer, "Necesito un acuerdo de pago para la deuda de mi tarjeta, gracias")

    item = agent.locator(f"li[data-chat-id='{second}']")
    item.locator("[data-last-message]").filter(has_text="Necesito un acuerdo de pago").wait_for()
    assert item.locator(".chat-list-name").inner_text().startswith("María Pérez Gómez"), "the name, not the phone"
    assert item.locator("[data-waiting]").inner_text().startswith("esperando hace ")
    mine = [c for c in listed_chats(agent) if c in (first, second)]
    assert mine == [first, second], "the customer who has waited longer first"

    agent.click(f"#chat-link-{first}")
    agent.fill("#reply-body", "Buenos días, ya la atiendo.")
    agent.press("#reply-body", "Enter")
    agent.locator(f"li[data-chat-id='{first}'] [data-last-message]").filter(has_text="Tú: Buenos días").wait_for()
    agent.locator(f"li[data-chat-id='{first}']").filter(has_text="Respondido").wait_for()
    mine = [c for c in listed_chats(agent) if c in (first, second)]
    assert mine == [second, first], "an answered chat goes after those still waiting"
    agent.set_viewport_size({"width": 1400, "height": 900})
    screenshot(agent, screenshots, "desk.png")


def test_enter_sends_without_reloading_and_a_failure_is_explained_and_retried_once(
        agent: Any, live_server: LiveServer) -> None:
    first_customer = next(phones)
    customer_reaches_an_agent(live_server, first_customer)
    first = chat_of(live_server, first_customer)
    agent.click(f"#chat-link-{first}")
    agent.evaluate("window.__samePage = true")

    agent.click("#reply-body")
    agent.keyboard.type("Primera línea")
    agent.keyboard.press("Shift+Enter")
    agent.keyboard.type("segunda línea")
    agent.keyboard.press("Enter")
    message = agent.locator(".timeline [data-author=agent]").filter(has_text="segunda línea")
    message.wait_for()
    assert message.locator(".message-body").inner_text() == "Primera línea\nsegunda línea"
    assert agent.input_value("#reply-body") == ""
    reply = sent_reply(live_server, first_customer, "Primera línea\nsegunda línea")
    assert post_status(live_server, reply, "delivered") == 204
    message.locator("[data-delivery=delivered]").filter(has_text="Entregado").wait_for()

    agent.fill("#reply-body", "Le confirmo el acuerdo de pago.")
    agent.press("#reply-body", "Enter")
    refused = sent_reply(live_server, first_customer, "Le confirmo el acuerdo de pago.")
    assert post_status(live_server, refused, "undelivered", error_code="30003") == 204
    failed = agent.locator(".timeline [data-author=agent]").filter(has_text="Le confirmo el acuerdo").first
    failed.locator("[data-delivery=undelivered] .error-meaning").filter(has_text=explain("30003").meaning).wait_for()
    failed.locator("button:has-text('Reintentar')").dblclick()
    failed.locator("text=Reintentado").wait_for()
    agent.locator(".timeline [data-author=agent]").filter(has_text="Le confirmo el acuerdo").nth(1).wait_for()
    assert agent.evaluate("window.__samePage") is True, "no reload"

    sent_reply(live_server, first_customer, "Le confirmo el acuerdo de pago.", count=2)
    transport = live_server.despacho.transport
    assert isinstance(transport, FakeTransport)
    sent = [m for m in transport.sent_to(first_customer) if m.delivery.body == "Le confirmo el acuerdo de pago."]
    assert len(sent) == 2, "the failed message and one retry"
    assert agent.locator(".timeline [data-author=agent]").filter(has_text="Le confirmo el acuerdo").count() == 2


def test_the_portfolio_panel_shows_pesos_dates_and_the_files_headers(agent: Any, live_server: LiveServer) -> None:
    first_customer = next(phones)
    despacho = live_server.despacho
    campaigns = {name: cid for cid, name in desk_queries.campaign_names(despacho.read_engine).items()}
    despacho.portfolios.import_file(UUID(campaigns["Banco A — Cobranza"]), BANCO_A_FILE.encode(), "cartera.csv",
                                    actor="test")
    customer_reaches_an_agent(live_server, first_customer)
    agent.click(f"#chat-link-{chat_of(live_server, first_customer)}")

    panel = agent.locator(".customer-panel")
    assert panel.locator("[data-field=balance]").inner_text() == "$ 1.234.567"
    facts = dict(zip(panel.locator("dt").all_inner_texts(), panel.locator("dd").all_inner_texts(), strict=True))
    assert facts["Fecha de vencimiento"] == "15 mar 2026"
    assert facts["Valor cuota"] == "$ 150.000"
    assert facts["Producto"] == "Tarjeta Oro"
    assert not any("_" in label for label in facts), "no snake_case keys"


def test_keyboard_focus_stays_on_a_chat_when_the_list_redraws(agent: Any, live_server: LiveServer) -> None:
    first_customer = next(phones)
    customer_reaches_an_agent(live_server, first_customer)
    first = chat_of(live_server, first_customer)
    agent.locator(f"#chat-link-{first}").wait_for()
    agent.focus(f"#chat-link-{first}")

    customer_writes(live_server, first_customer, "¿Sigue ahí?")
    agent.locator(f"li[data-chat-id='{first}'] [data-last-message]").filter(has_text="¿Sigue ahí?").wait_for()

    assert agent.evaluate("document.activeElement.id") == f"chat-link-{first}"
    agent.keyboard.press("Enter")
    agent.wait_for_url(f"**/desk?chat={first}")


def test_desktop_notifications_are_asked_for_once_from_a_click(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(locale="es-CO", timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, live_server, "ana")
        page.wait_for_url("**/desk")
        ask = page.locator("[data-enable-notifications]")
        ask.filter(has_text="Activar avisos de escritorio").wait_for()
        ask.focus()
        page.keyboard.press("Enter")
        ask.wait_for(state="hidden")
        page.reload()
        page.wait_for_selector(".chat-list, .panel-title")
        assert not ask.is_visible(), "asked once: the browser remembers the answer, the desk that it asked"
    finally:
        context.close()


def sent_reply(live_server: LiveServer, customer: str, body: str, count: int = 1) -> SentMessage:
    """The `count`th message with this text the transport accepted, once the worker has recorded its SID."""
    transport = live_server.despacho.transport
    assert isinstance(transport, FakeTransport)
    deadline = time.monotonic() + 15
    while True:
        found = [m for m in transport.sent_to(customer) if m.delivery.body == body]
        if len(found) >= count and live_server.despacho.store.repository.get(
                UUID(found[count - 1].delivery.message_id)).sid == found[count - 1].sid:
            return found[count - 1]
        assert time.monotonic() < deadline, "the worker never sent the reply"
        time.sleep(0.05)


def post_status(live_server: LiveServer, reply: SentMessage, status: str, error_code: str = "") -> int:
    """One of Twilio's status callbacks, signed for the URL the app rebuilds from its public URL."""
    settings = live_server.despacho.settings
    params = {"AccountSid": settings.twilio_account_sid, "ApiVersion": "2010-04-01", "MessageSid": reply.sid,
              "SmsSid": reply.sid, "MessageStatus": status, "SmsStatus": status, "To": reply.delivery.to,
              "From": reply.delivery.sender, "ChannelPrefix": "whatsapp"}
    if error_code:
        params["ErrorCode"] = error_code
    path = f"/webhooks/twilio/status?mid={reply.delivery.message_id}"
    signature = sign(settings.twilio_auth_token.get_secret_value(), webhook_url(settings.public_url, path), params)
    response = httpx.post(live_server.url(path), data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
    return response.status_code
