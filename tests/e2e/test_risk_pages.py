"""The risk pages as supervisors, admins and auditors open them: scoped to the caller's campaigns, in Spanish,
every level and signal named in words; the alert of a rise reaches the campaign's supervisor on /alerts."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from adapters.clock import FixedClock
from despacho.settings import Settings
from domain.messages import OutboundMessage
from tests.e2e.desk_world import BANCO_NUMBER, TELCO_NUMBER, CallCenter, call_center
from tests.e2e.test_pages_name_codes_in_spanish import raw_codes_in, signed_in, visible_text

TEMPLATE = "HX" + "b" * 32


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def two_templates_to_one_customer(center: CallCenter) -> None:
    for _ in range(2):
        center.despacho.store.save(OutboundMessage.request(
            chat_id="", campaign_id=center.banco, kind="template", channel="whatsapp", to="whatsapp:+573009990000",
            sender=BANCO_NUMBER, content_sid=TEMPLATE, actor="test", at=center.clock.now()))
    center.settle()


def sender_url(sender: str) -> str:
    return f"/risk/senders/{quote(sender)}"


def test_a_supervisor_sees_only_the_senders_of_their_campaigns(center: CallCenter) -> None:
    two_templates_to_one_customer(center)
    sandra = signed_in(center, "sandra")

    listing = visible_text(sandra.get("/risk").text)
    assert BANCO_NUMBER in listing and TELCO_NUMBER not in listing
    assert "Vigilancia" in listing and "Máximo de mensajes por iniciativa de la empresa a un cliente (24 h)" in listing
    assert "Banco Andino cobranza" in listing and "Telco Sur" not in listing  # the campaigns' own signals
    assert sandra.get(sender_url(TELCO_NUMBER)).status_code == 404
    tomas = signed_in(center, "tomas")
    assert BANCO_NUMBER not in tomas.get("/risk").text and tomas.get(sender_url(BANCO_NUMBER)).status_code == 404
    assert signed_in(center, "ana").get("/risk").status_code == 403


def test_the_sender_page_shows_its_signals_the_change_that_moved_it_and_the_alert(center: CallCenter) -> None:
    two_templates_to_one_customer(center)
    pages = {login: {url: signed_in(center, login).get(url) for url in ("/risk", sender_url(BANCO_NUMBER))}
             for login in ("sandra", "admin", "auditor")}
    pages["sandra"]["/alerts"] = signed_in(center, "sandra").get("/alerts")

    for login, seen in pages.items():
        for url, page in seen.items():
            assert (page.status_code, page.headers["content-language"]) == (200, "es"), (login, url)
            assert raw_codes_in(visible_text(page.text)) == [], (login, url)
    detail = visible_text(pages["sandra"][sender_url(BANCO_NUMBER)].text)
    assert "Cambios de nivel" in detail and "Normal" in detail and "Vigilancia" in detail
    assert "Tasa de respuesta de los clientes contactados" in detail and "Tráfico por hora" in detail
    assert "Ningún mensaje de este remitente falló en las últimas 24 horas." in detail
    assert "Riesgo del remitente" in visible_text(pages["sandra"]["/alerts"].text)
    assert TELCO_NUMBER in visible_text(pages["admin"]["/risk"].text)
