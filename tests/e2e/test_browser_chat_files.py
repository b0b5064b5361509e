"""Files in a chat, in Chromium: the image a customer sent shows in Ana's conversation, loaded from Despacho's own
address (never Twilio's), and Ana sends a PDF from the desk with the keyboard, which then shows in the timeline."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from application.media import FetchedMedia
from despacho.simulator import WEBHOOK_PATH, signed_message
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_conversation import sign_in
from tests.e2e.test_browser_desk_day import BANCO_A_NUMBER, chat_of, customer_reaches_an_agent, phones

pytestmark = pytest.mark.browser

PNG = bytes.fromhex(  # a 1×1 red pixel
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/AC00/Messages/MM00/Media/ME00"


class TwilioWithOnePhoto:
    """Stands in for Twilio's media API inside the embedded server (which has no Twilio to fetch from)."""

    def fetch(self, url: str, *, max_bytes: int) -> FetchedMedia:
        assert url == MEDIA_URL
        return FetchedMedia(PNG, "image/png")


def test_a_customers_photo_shows_from_despacho_and_the_agent_sends_a_pdf_with_the_keyboard(
        browser_page: Any, live_server: LiveServer) -> None:
    agent = browser_page
    sign_in(agent, live_server, "ana")
    agent.wait_for_url("**/desk")
    agent.click(".status-toggle button[value=available]")
    agent.wait_for_selector("[data-agent-status=available]")
    customer = next(phones)
    customer_reaches_an_agent(live_server, customer)
    chat = chat_of(live_server, customer)
    live_server.despacho.media.source = TwilioWithOnePhoto()
    params, headers = signed_message(live_server.despacho.settings, customer, BANCO_A_NUMBER, "Mi comprobante",
                                     [(MEDIA_URL, "image/png")])
    assert httpx.post(live_server.url(WEBHOOK_PATH), data=params, headers=headers, timeout=10).status_code == 200

    agent.goto(live_server.url(f"/desk?chat={chat}"))
    photo = agent.locator(".timeline img.message-image")
    photo.wait_for()
    assert photo.get_attribute("src").startswith(f"/chats/{chat}/attachments/")
    agent.wait_for_function("() => document.querySelector('.timeline img.message-image').naturalWidth === 1")
    assert "api.twilio.com" not in agent.content()

    agent.focus(".file-form summary")
    agent.keyboard.press("Enter")
    agent.set_input_files("#file-upload", files=[{"name": "acuerdo de pago.pdf", "mimeType": "application/pdf",
                                                  "buffer": PDF}])
    agent.focus("#file-caption")
    agent.keyboard.type("Su acuerdo firmado")
    agent.keyboard.press("Enter")
    agent.locator(".flashes").filter(has_text="Archivo enviado.").wait_for()
    sent = agent.locator(".timeline a", has_text="acuerdo-de-pago.pdf")
    sent.wait_for()
    assert agent.request.get(live_server.url(sent.get_attribute("href"))).body() == PDF
