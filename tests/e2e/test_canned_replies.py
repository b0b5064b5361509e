"""Canned replies over HTTP (issue 15, item 4): only admins keep them; the desk offers a campaign's own, filled for
the chat's customer; a reply still holding a {variable} is refused; outside the WhatsApp window none is offered
and the existing rule refuses free text, a canned reply included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.clock import FixedClock
from despacho.settings import Settings
from tests.e2e.desk_world import CallCenter, call_center
from tests.e2e.test_delivery_pages import signed_in


@pytest.fixture
def center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(settings, clock) as built:
        yield built


def test_the_desk_offers_the_chats_campaign_replies_filled_for_its_customer(center: CallCenter) -> None:
    canned = center.despacho.canned_replies
    canned.write(center.banco, "Saldo", "Hola {nombre}, su saldo es {saldo}.", actor="test")
    canned.write(center.banco, "Plazo", "Paga antes del {fecha_limite}", actor="test")
    canned.write(center.telco, "Telco", "Solo para Telco", actor="test")
    chat = center.identified_chat()

    desk = signed_in(center, "ana").get(f"/desk?chat={chat['id']}").text

    assert 'data-text="Hola María Pérez, su saldo es $ 1.250.000."' in desk
    assert 'data-text="Paga antes del {fecha_limite}"' in desk and 'data-missing="fecha_limite"' in desk
    assert "Solo para Telco" not in desk, "another campaign's replies are not offered"


def test_a_reply_still_holding_a_variable_is_refused_and_nothing_is_sent(center: CallCenter) -> None:
    chat = center.identified_chat()
    sent_before = len(center.transport.sent_to(chat["customer_address"]))

    refused = center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Paga antes del {fecha_limite}"})

    assert refused.status_code == 422
    assert "{fecha_limite}" in refused.json()["detail"]
    assert len(center.transport.sent_to(chat["customer_address"])) == sent_before


def test_outside_the_whatsapp_window_no_canned_reply_is_offered_nor_sent(center: CallCenter) -> None:
    center.despacho.canned_replies.write(center.banco, "Saludo", "Hola {nombre}", actor="test")
    chat = center.identified_chat()
    center.clock.advance(timedelta(hours=25))

    desk = signed_in(center, "ana").get(f"/desk?chat={chat['id']}").text
    refused = center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Hola María Pérez"})

    assert 'id="canned-replies"' not in desk, "templates only, as before"
    assert refused.status_code == 422 and "plantilla aprobada" in refused.json()["detail"]


def test_only_admins_keep_canned_replies_and_each_under_its_own_campaign(center: CallCenter) -> None:
    reply_id = center.despacho.canned_replies.write(center.banco, "Saludo", "Hola", actor="test")
    center.settle()
    page = f"/admin/campaigns/{center.banco}/canned-replies"

    assert signed_in(center, "admin").get(page).status_code == 200
    assert signed_in(center, "sandra").get(page).status_code == 403
    assert signed_in(center, "ana").get(page).status_code == 403
    admin = signed_in(center, "admin")
    assert admin.get(f"{page}/{reply_id}").status_code == 200
    assert admin.get(f"/admin/campaigns/{center.telco}/canned-replies/{reply_id}").status_code == 404
