"""A customer's attachments: copied from Twilio (the local fake of its API, behind the account's basic auth
and a redirect, as Twilio serves them) into Despacho's storage, shown in the chat from Despacho's own address
to whoever may see the chat, and never with Twilio's address or credentials in the browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.clock import FixedClock
from adapters.fake_twilio_api import FakeTwilio, serve_fake_twilio
from despacho.settings import Settings
from despacho.simulator import WEBHOOK_PATH, signed_message
from projections import desk_queries
from tests.e2e.desk_world import BANCO_NUMBER, CallCenter, call_center

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40
PDF = b"%PDF-1.4\n% a statement of account\n%%EOF\n"


@pytest.fixture
def twilio(settings: Settings) -> FakeTwilio:
    return FakeTwilio(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value())


@pytest.fixture
def center(settings: Settings, clock: FixedClock, twilio: FakeTwilio) -> Iterator[CallCenter]:
    with serve_fake_twilio(twilio) as server, call_center(
            settings.model_copy(update={"twilio_api_base_url": server.url}), clock) as world:
        yield world


def sends_attachments(center: CallCenter, media: list[tuple[str, str]], body: str = "") -> dict[str, str]:
    """An identified customer of banco_a, assigned to ana, sends the attachments; returns the chat."""
    chat = center.identified_chat()
    params, headers = signed_message(center.despacho.settings, chat["customer_address"], BANCO_NUMBER, body, media)
    assert center.client.post(WEBHOOK_PATH, data=params, headers=headers).status_code == 200
    center.settle()
    return chat


def shown_attachments(center: CallCenter, chat_id: str) -> list[dict[str, str]]:
    return [m for row in desk_queries.timeline(center.despacho.read_engine, chat_id) for m in row["media"]]


def test_a_customers_image_and_pdf_are_kept_by_despacho_and_served_from_its_own_address(
        center: CallCenter, twilio: FakeTwilio) -> None:
    image, statement = twilio.add_media(PNG, "image/png"), twilio.add_media(PDF, "application/pdf")
    chat = sends_attachments(center, [(image, "image/png"), (statement, "application/pdf")], "Mi comprobante")

    page = center.get("ana", f"/chats/{chat['id']}")
    assert page.status_code == 200
    assert "api.twilio.com" not in page.text
    shown = shown_attachments(center, chat["id"])
    assert [(m["status"], m["kind"]) for m in shown] == [("kept", "image"), ("kept", "file")]
    assert all(m["url"] in page.text for m in shown)

    served = center.get("ana", shown[0]["url"])
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert center.get("ana", shown[1]["url"]).content == PDF
    assert center.get("sandra", shown[0]["url"]).status_code == 200  # banco_a's supervisor


def test_an_attachment_is_not_served_outside_its_chats_campaign_nor_under_another_chat(
        center: CallCenter, twilio: FakeTwilio) -> None:
    chat = sends_attachments(center, [(twilio.add_media(PNG, "image/png"), "image/png")])
    [kept] = shown_attachments(center, chat["id"])
    other = center.identified_chat()
    message_sid = kept["url"].split("/")[-2]

    assert center.get("bruno", kept["url"]).status_code in (403, 404)  # telco_b's agent
    assert center.get("tomas", kept["url"]).status_code in (403, 404)  # telco_b's supervisor
    assert center.get("ana", f"/chats/{other['id']}/attachments/{message_sid}/0").status_code == 404
    assert center.get("ana", kept["url"][:-1] + "1").status_code == 404
    assert center.client.get(kept["url"]).status_code in (401, 303)  # nobody signed in


def test_an_attachment_twilio_no_longer_has_or_may_not_be_opened_is_shown_lost_with_its_reason(
        center: CallCenter, twilio: FakeTwilio) -> None:
    gone = twilio.add_media(PNG, "image/png")[:-8] + "00000000"
    page_file = twilio.add_media(b"<script>alert(1)</script>", "text/html")
    chat = sends_attachments(center, [(gone, "image/png"), (page_file, "text/html")])

    shown = shown_attachments(center, chat["id"])
    assert [(m["status"], m["reason"]) for m in shown] == [
        ("lost", "Twilio ya no tiene el adjunto"), ("lost", "Tipo de archivo no admitido (text/html)")]
    page = center.get("ana", f"/chats/{chat['id']}").text
    assert "Adjunto no disponible: Twilio ya no tiene el adjunto" in page


def test_an_address_outside_the_accounts_media_is_never_fetched(center: CallCenter) -> None:
    chat = sends_attachments(center, [("http://169.254.169.254/latest/meta-data/", "image/png")])

    [shown] = shown_attachments(center, chat["id"])
    assert (shown["status"], shown["reason"]) == ("lost", "El adjunto no es un archivo de Twilio de esta cuenta")


def test_a_webhook_retried_by_twilio_keeps_its_attachment_once(center: CallCenter, twilio: FakeTwilio) -> None:
    chat = center.identified_chat()
    params, headers = signed_message(center.despacho.settings, chat["customer_address"], BANCO_NUMBER, "",
                                     [(twilio.add_media(PNG, "image/png"), "image/png")])
    for _ in range(3):
        assert center.client.post(WEBHOOK_PATH, data=params, headers=headers).status_code == 200
    center.settle()

    assert [m["status"] for m in shown_attachments(center, chat["id"])] == ["kept"]
