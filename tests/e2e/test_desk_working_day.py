"""The desk's chat list over HTTP, on SQLite and PostgreSQL: the customers waiting longest first and the answered
ones after, each with the customer's name, the last message and how many of the customer's messages the agent has
not seen; the read marker is the assigned agent's alone and never goes back; a failed reply is retried once
however often it is asked; the portfolio panel names fields by the file's headers, in pesos and formatted dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.clock import FixedClock
from adapters.twilio_transport import FakeTransport
from application.ports import SendFailedError
from despacho.settings import Settings
from projections import desk_queries
from tests.e2e.desk_world import CallCenter, call_center, phones


@pytest.fixture
def center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(settings, clock) as built:
        yield built


def my_chats(center: CallCenter, login: str = "ana") -> list[dict[str, object]]:
    return desk_queries.open_chats_of(center.despacho.read_engine, center.ids[login])


def test_the_customer_waiting_longest_comes_first_and_answered_chats_after(center: CallCenter) -> None:
    first = center.identified_chat()
    center.clock.advance(timedelta(minutes=3))
    second = center.identified_chat()
    assert [c["id"] for c in my_chats(center)] == [first["id"], second["id"]]
    waiting = center.get("ana", "/desk/fragments/chats").text
    assert "María Pérez" in waiting and "esperando hace 3 min" in waiting and "esperando hace 0 s" in waiting

    reply = center.post("ana", f"/api/chats/{first['id']}/replies", {"body": "Ya la atiendo, señora María."})
    assert reply.status_code == 201, reply.text

    listed = my_chats(center)
    assert [c["id"] for c in listed] == [second["id"], first["id"]]
    assert listed[1]["unanswered_since"] is None
    assert (listed[1]["last_message_body"], listed[1]["last_message_author"]) == ("Ya la atiendo, señora María.",
                                                                                  "agent")
    page = center.get("ana", "/desk/fragments/chats").text
    assert page.index(f'data-chat-id="{second["id"]}"') < page.index(f'data-chat-id="{first["id"]}"')
    assert "Tú: Ya la atiendo" in page and "Respondido" in page


def test_a_long_last_message_is_shown_on_one_trimmed_line(center: CallCenter) -> None:
    customer = next(phones)
    for body in ("Hola", "1", "1020304050"):
        center.customer_writes(customer, body)
    center.customer_writes(customer, "Buenas tardes.\nQuiero saber " + "cuánto debo " * 30)

    [chat] = my_chats(center)
    shown = str(chat["last_message_body"])
    assert len(shown) == 160 and shown.endswith("…") and "\n" not in shown
    assert shown.startswith("Buenas tardes. Quiero saber cuánto debo")


def test_unread_counts_the_customers_messages_the_agent_has_not_seen(center: CallCenter) -> None:
    customer = next(phones)
    for body in ("Hola", "1", "1020304050"):
        center.customer_writes(customer, body)
    [chat] = my_chats(center)
    assert chat["unread"] == 3

    assert center.post("ana", f"/api/chats/{chat['id']}/seen", {"customer_messages": 2}).status_code == 204
    assert my_chats(center)[0]["unread"] == 1
    center.customer_writes(customer, "¿Hola?")
    assert my_chats(center)[0]["unread"] == 2

    assert center.post("ana", f"/api/chats/{chat['id']}/seen", {"customer_messages": 1}).status_code == 204
    assert my_chats(center)[0]["unread"] == 2, "a marker never goes back"
    assert center.post("ana", f"/api/chats/{chat['id']}/seen", {"customer_messages": 99}).status_code == 204
    assert my_chats(center)[0]["unread"] == 0, "seen up to what the customer wrote, no further"
    center.customer_writes(customer, "Tengo una pregunta")
    assert my_chats(center)[0]["unread"] == 1


def test_only_the_assigned_agent_moves_the_read_marker(center: CallCenter) -> None:
    chat = center.identified_chat()
    center.set_status("carla", "available")

    refused = center.post("carla", f"/api/chats/{chat['id']}/seen", {"customer_messages": 3})

    assert refused.status_code in (403, 404, 422)
    assert my_chats(center)[0]["unread"] == 3


def test_a_failed_reply_retried_twice_is_sent_again_once(center: CallCenter) -> None:
    chat = center.identified_chat()
    transport = center.transport
    assert isinstance(transport, FakeTransport)
    transport.fail_next(SendFailedError("30003", "Unreachable destination handset", retryable=False))
    failed = center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Le envío el acuerdo."}).json()

    again = center.post("ana", f"/api/chats/{chat['id']}/messages/{failed['message_id']}/retry", {})
    twice = center.post("ana", f"/api/chats/{chat['id']}/messages/{failed['message_id']}/retry", {})

    assert again.status_code == 201, again.text
    assert twice.status_code == 422 and twice.json()["detail"] == "Este mensaje ya se reintentó"
    sent = [m for m in transport.sent_to(chat["customer_address"]) if m.delivery.body == "Le envío el acuerdo."]
    assert [m.delivery.message_id for m in sent] == [again.json()["message_id"]]
    timeline = center.get("ana", f"/fragments/chats/{chat['id']}/timeline").text
    assert "El teléfono del cliente no está disponible" in timeline and "Reintentado" in timeline


def test_the_portfolio_panel_names_fields_by_the_files_headers_in_pesos_and_dates(center: CallCenter) -> None:
    file = ("Documento;Nombres;Celular;Saldo;Fecha de vencimiento;Valor cuota;Días de mora;Producto\n"
            "1020304050;María Pérez;3001112233;1234567;15/03/2026;150000;45;Tarjeta Oro\n")
    center.despacho.portfolios.import_file(UUID(center.banco), file.encode(), "cartera.csv", actor="test")
    center.settle()
    chat = center.identified_chat()

    customer = center.get("ana", f"/api/chats/{chat['id']}").json()["customer"]
    page = center.get("ana", f"/desk?chat={chat['id']}").text

    assert customer["field_labels"] == {"dias_mora": "Días de mora", "fecha_de_vencimiento": "Fecha de vencimiento",
                                        "valor_cuota": "Valor cuota", "producto": "Producto"}
    assert '<dd data-field="balance">$ 1.234.567</dd>' in page
    assert "<dt>Fecha de vencimiento</dt><dd data-field=\"fecha_de_vencimiento\">15 mar 2026</dd>" in page
    assert "<dt>Valor cuota</dt><dd data-field=\"valor_cuota\">$ 150.000</dd>" in page
    assert "<dt>Días de mora</dt>" in page and "dias_mora</dt>" not in page
