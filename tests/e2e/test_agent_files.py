"""An agent sends an image or a PDF: kept with the message, fetched by Twilio from a signed address that
expires and opens nothing else, shown in the chat to whoever may see it, refused when it is not what it says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from adapters.clock import FixedClock
from adapters.file_links import LinkedFile, SignedFileLinks
from despacho.settings import Settings
from projections import desk_queries
from tests.e2e.desk_world import CallCenter, call_center

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% acuerdo de pago\n%%EOF\n"


@pytest.fixture
def center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(settings, clock) as world:
        yield world


def send(center: CallCenter, login: str, chat_id: str, content: bytes, name: str, caption: str = "") -> object:
    response = center.client.post(f"/api/chats/{chat_id}/files", files={"file": (name, content)},
                                  data={"caption": caption}, headers=center.as_user(login))
    center.settle()
    return response


def test_a_sent_image_reaches_twilio_as_a_signed_address_that_serves_exactly_that_file(center: CallCenter) -> None:
    chat = center.identified_chat()
    response = send(center, "ana", chat["id"], PNG, "comprobante de pago.png", "Su comprobante")
    assert response.status_code == 201, response.text

    delivery = center.transport.sent[-1].delivery
    assert (delivery.to, delivery.body) == (chat["customer_address"], "Su comprobante")
    link = urlsplit(delivery.media_url)
    assert delivery.media_url.startswith(center.despacho.settings.public_url)
    fetched = center.client.get(link.path)  # Twilio: no session, no credentials
    assert (fetched.status_code, fetched.content, fetched.headers["content-type"]) == (200, PNG, "image/png")
    assert center.client.get(link.path[:-3] + "xyz").status_code == 404  # altered


def test_the_sent_file_shows_in_the_chat_for_its_campaign_only(center: CallCenter) -> None:
    chat = center.identified_chat()
    assert send(center, "ana", chat["id"], PDF, "acuerdo.pdf").status_code == 201

    [shown] = [m for row in desk_queries.timeline(center.despacho.read_engine, chat["id"]) for m in row["media"]]
    assert (shown["file_name"], shown["content_type"]) == ("acuerdo.pdf", "application/pdf")
    assert center.get("ana", shown["url"]).content == PDF
    assert center.get("sandra", shown["url"]).status_code == 200
    assert center.get("bruno", shown["url"]).status_code in (403, 404)
    page = center.get("ana", f"/chats/{chat['id']}").text
    assert "acuerdo.pdf" in page and "/media/outbound/" not in page


@pytest.mark.parametrize(("content", "name"), [(b"MZ\x90\x00 not an image", "foto.png"),
                                                (b"<html><script>alert(1)</script>", "cuenta.pdf")])
def test_a_file_that_is_not_a_jpg_png_or_pdf_is_refused_whatever_its_name(center: CallCenter, content: bytes,
                                                                           name: str) -> None:
    chat = center.identified_chat()
    response = send(center, "ana", chat["id"], content, name)
    assert response.status_code == 422
    assert "Solo se pueden enviar imágenes JPG o PNG y documentos PDF" in response.text
    assert center.transport.sent_to(chat["customer_address"])[-1].delivery.media_url == ""


def test_only_the_assigned_agent_sends_and_never_outside_the_whatsapp_window(center: CallCenter,
                                                                            clock: FixedClock) -> None:
    chat = center.identified_chat()
    assert send(center, "carla", chat["id"], PNG, "x.png").status_code in (403, 404, 409, 422)
    clock.advance(timedelta(hours=25))
    refused = send(center, "ana", chat["id"], PNG, "x.png")
    assert refused.status_code in (409, 422)
    assert "24 h" in refused.text


def test_a_link_expires_and_a_forged_one_opens_nothing(clock: FixedClock) -> None:
    links = SignedFileLinks("secret", "https://despacho.example", clock, lifetime=timedelta(hours=1))
    url = links.url_for(LinkedFile("media/outbound/m/x.png", "image/png", "x.png"))
    token = url.rsplit("/", 1)[1]
    assert links.opened(token).location == "media/outbound/m/x.png"
    forged = SignedFileLinks("another secret", "https://despacho.example", clock).url_for(
        LinkedFile("transcripts/other.pdf", "application/pdf", "x.pdf")).rsplit("/", 1)[1]
    with pytest.raises(Exception, match="inválido"):
        links.opened(forged)
    clock.advance(timedelta(hours=1, seconds=1))
    with pytest.raises(Exception, match="venció"):
        links.opened(token)


def test_a_missing_file_where_no_session_is_read_is_a_plain_not_found(center: CallCenter) -> None:
    for path in ("/static/no-existe.css", "/media/outbound/no-es-un-enlace"):
        response = center.client.get(path)
        assert response.status_code == 404, (path, response.text)
