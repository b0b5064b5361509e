"""The desk's working tools in Chromium (issue 15, items 4, 8 and 11), on the demo call center: an admin keeps
banco_a's canned replies, and agent Ana inserts one with the keyboard alone by typing "/", filled with the
customer's portfolio data; a reply missing data is shown to her and refused, never sent with its {variable}.
Internal notes appear live on the chat, marked, for its staff and never for the customer; and a supervisor's
close, like an agent's, asks for the campaign's disposition and records it. With DESPACHO_SCREENSHOTS=docs/screenshots
the desk with the list open and the chat page with notes are saved there (the README links them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from projections import desk_queries
from projections.canned_reply_queries import campaign_replies
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_admin import campaign_ids
from tests.e2e.test_browser_conversation import BANCO_A_DOCUMENT, BANCO_A_NUMBER, sign_in
from tests.e2e.test_browser_dashboards import screenshot, screenshots

__all__ = ["screenshots"]  # the fixture, shared with the dashboards' browser tests

pytestmark = pytest.mark.browser

GREETING = "Hola {primer_nombre}, su saldo es {saldo}."
DEADLINE = "Tiene plazo hasta el {fecha_limite}."


def a_customer_reaches_ana(browser: Any, live_server: LiveServer, agent: Any, phone: str,
                           document: str = BANCO_A_DOCUMENT, name: str = "María") -> dict[str, Any]:
    """Ana signs in available; a simulated customer of banco_a identifies; Ana opens the chat on her desk."""
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
        for body in ("Hola", "1", document):
            customer.fill("#sim-phone", phone)
            customer.select_option("#sim-to", BANCO_A_NUMBER)
            customer.fill("#sim-body", body)
            customer.click(".simulator-form button[type=submit]")
            customer.wait_for_selector(f"#simulator-conversation [data-direction=in] >> text={body}")
    finally:
        context.close()
    [chat] = desk_queries.chats_of_customer(live_server.despacho.read_engine, "whatsapp:" + phone)
    agent.locator(f".chat-list a[data-chat-id='{chat['id']}']").click()
    agent.wait_for_selector(f"[data-field=full_name] >> text={name}")
    return chat


def write_canned_reply(page: Any, title: str, text: str) -> None:
    page.fill("#field-title", title)
    page.fill("#field-text", text)
    page.click(".canned-form button[type=submit]")
    page.wait_for_selector(".flashes >> text=Respuesta rápida guardada.")


def test_an_admin_keeps_a_campaigns_canned_replies(browser_page: Any, live_server: LiveServer) -> None:
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    banco = campaign_ids(live_server)["banco_a"]
    sign_in(page, live_server, "admin")
    page.goto(live_server.url(f"/admin/campaigns/{banco}"))
    page.click("#canned-replies-link")

    write_canned_reply(page, "Saludo", "Hola {nombre}")
    write_canned_reply(page, "Plazo", DEADLINE)
    write_canned_reply(page, "Despedida", "Hasta pronto")
    page.locator("tr", has_text="Saludo").locator("text=Editar").click()
    assert page.input_value("#field-text") == "Hola {nombre}"
    write_canned_reply(page, "Saludo", GREETING)
    page.locator("tr", has_text="Despedida").locator("button:has-text('Eliminar')").click()
    page.wait_for_selector(".flashes >> text=Respuesta rápida eliminada.")

    rows = page.locator(".data-table tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == ["Plazo", "Saludo"]
    assert {(r["title"], r["text"]) for r in campaign_replies(live_server.despacho.read_engine, banco)} == {
        ("Plazo", DEADLINE), ("Saludo", GREETING)}


def test_an_agent_inserts_a_canned_reply_filled_for_the_customer_with_the_keyboard_only(
        browser: Any, browser_page: Any, live_server: LiveServer, screenshots: Path) -> None:
    banco = campaign_ids(live_server)["banco_a"]
    canned = live_server.despacho.canned_replies
    if not campaign_replies(live_server.despacho.read_engine, banco):  # when run alone
        canned.write(banco, "Saludo", GREETING, actor="test")
        canned.write(banco, "Plazo", DEADLINE, actor="test")
    agent = browser_page
    chat = a_customer_reaches_ana(browser, live_server, agent, "+573001230101")
    composer = agent.locator("#reply-body")
    listing = agent.locator("#canned-replies")

    composer.focus()
    agent.keyboard.type("/")
    listing.wait_for(state="visible")
    agent.keyboard.press("Escape")
    listing.wait_for(state="hidden")
    assert composer.input_value() == "/", "Esc closes the list and leaves what was typed"

    agent.keyboard.type("sal")
    assert agent.locator("#canned-list [role=option]:visible").all_inner_texts()[0].startswith("Saludo")
    screenshot(agent, screenshots, "desk-canned-replies.png")
    agent.keyboard.press("Enter")
    listing.wait_for(state="hidden")
    assert composer.input_value() == "Hola María, su saldo es $ 1.250.000,50."

    agent.keyboard.type(" /")
    agent.keyboard.press("ArrowDown")  # the list is by name: Plazo, Saludo; Down wraps past the last one
    agent.keyboard.press("ArrowDown")
    assert agent.locator("#canned-list [aria-selected=true]").inner_text().startswith("Plazo")
    agent.keyboard.press("Enter")
    warning = agent.locator("#canned-missing")
    warning.wait_for(state="visible")
    assert "{fecha_limite}" in warning.inner_text()
    agent.click(".reply-form button[type=submit]")
    agent.locator("text=Complete o quite los datos que faltan").first.wait_for()  # refused by the server
    transport = live_server.despacho.transport
    sent = [m.delivery.body for m in transport.sent_to(chat["customer_address"])]  # type: ignore[attr-defined]
    assert not any("{" in body for body in sent), "no customer ever receives a {variable}"

    agent.fill("#reply-body", "")
    agent.locator("#reply-body").focus()
    agent.keyboard.type("/salu")
    agent.keyboard.press("Enter")
    agent.click(".reply-form button[type=submit]")
    agent.wait_for_selector(".timeline [data-author=agent] >> text=su saldo es $ 1.250.000,50")


def test_internal_notes_show_live_and_a_supervisors_close_records_a_disposition(
        browser: Any, browser_page: Any, live_server: LiveServer, screenshots: Path) -> None:
    agent = browser_page
    chat = a_customer_reaches_ana(browser, live_server, agent, "+573001230102")
    context = browser.new_context(locale="es-CO", timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    supervisor = context.new_page()
    supervisor.on("dialog", lambda dialog: dialog.accept())
    try:
        sign_in(supervisor, live_server, "supervisora")
        supervisor.goto(live_server.url(f"/chats/{chat['id']}"))

        agent.fill("#note-text", "Pide que la llamen en la tarde")
        agent.click(".note-form button[type=submit]")
        agent.wait_for_selector(".timeline [data-author=note] >> text=Pide que la llamen")
        note = supervisor.locator(".timeline [data-author=note]")  # live on the supervisor's open page, no reload
        note.locator("text=Pide que la llamen en la tarde").wait_for()
        assert "Nota interna" in note.inner_text() and "Ana Asesora" in note.inner_text()

        supervisor.fill("#note-text", "La llamo yo")
        supervisor.click(".note-form button[type=submit]")
        agent.locator(".timeline [data-author=note] >> text=La llamo yo").wait_for()
        supervisor.locator(".timeline [data-author=note] >> text=La llamo yo").wait_for()
        screenshot(supervisor, screenshots, "chat-internal-notes.png")

        supervisor.fill("#close-note", "Cliente atendido por teléfono")
        assert supervisor.locator("#close-disposition").get_attribute("required") is not None
        supervisor.click("#close-title ~ form button[type=submit]")
        assert supervisor.evaluate("document.querySelector('#close-disposition').validity.valueMissing")
        supervisor.select_option("#close-disposition", label="Promesa de pago")
        supervisor.click("#close-title ~ form button[type=submit]")
        supervisor.wait_for_selector("[data-field=disposition] >> text=Promesa de pago")
    finally:
        context.close()

    closed = desk_queries.chat(live_server.despacho.read_engine, chat["id"])
    assert closed is not None
    assert (closed["status"], closed["close_reason"], closed["disposition"]) == ("closed", "supervisor",
                                                                                 "promesa_de_pago")
    sent = [m.delivery.body for m in live_server.despacho.transport.sent_to(chat["customer_address"])]  # type: ignore[attr-defined]
    assert not any("llamen" in body or "La llamo yo" in body for body in sent), "notes never reach the customer"
