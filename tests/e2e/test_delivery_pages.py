"""Delivery over HTTP: the message audit and its CSV, delivery alerts, failed marks and retries on the desk,
and the WhatsApp window (R12)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from adapters.twilio_signatures import sign, webhook_url
from despacho.logs import JsonFormatter
from despacho.settings import Settings
from domain.delivery_errors import explain
from projections import desk_queries
from tests.e2e.desk_world import CallCenter, call_center
from tests.e2e.test_api_auth import log_in, page_csrf_token

CLOSING_TEMPLATE = "HX" + "1" * 32


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def signed_in(center: CallCenter, login: str) -> TestClient:
    client = TestClient(center.client.app, follow_redirects=False)
    assert log_in(client, login).status_code == 303
    return client


def status_callback(center: CallCenter, message_id: str, status: str, error_code: str = "",
                    error_message: str = "") -> None:
    sid = next(m.sid for m in center.transport.sent if m.delivery.message_id == message_id)
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": center.despacho.settings.twilio_account_sid}
    if error_code:
        params["ErrorCode"] = error_code
    if error_message:
        params["ErrorMessage"] = error_message
    path = f"/webhooks/twilio/status?mid={message_id}"
    url = webhook_url(center.despacho.settings.public_url, path)
    token = center.despacho.settings.twilio_auth_token.get_secret_value()
    response = center.client.post(path, data=params, headers={"X-Twilio-Signature": sign(token, url, params)})
    assert response.status_code == 204
    center.settle()


def a_failed_reply(center: CallCenter, error_code: str = "30003",
                   error_message: str = "Unreachable destination handset") -> tuple[dict[str, Any], str]:
    chat = center.identified_chat()
    response = center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Su saldo es 1.250.000"})
    assert response.status_code == 201, response.text
    message_id = response.json()["message_id"]
    status_callback(center, message_id, "undelivered", error_code, error_message)
    return chat, message_id


def test_the_audit_shows_each_message_with_its_history_to_auditors_and_own_supervisors_only(
        center: CallCenter) -> None:
    chat, message_id = a_failed_reply(center)

    audit = center.get("auditor", f"/api/audit/messages?chat_id={chat['id']}&status=undelivered").json()
    assert [m["id"] for m in audit] == [message_id]
    assert audit[0]["error_code"] == "30003" and audit[0]["agent_name"] == "Ana"
    assert [h["event"] for h in audit[0]["history"]][-1] == "status_reported"
    assert [m["id"] for m in center.get("sandra", "/api/audit/messages?error_code=30003").json()] == [message_id]
    assert center.get("tomas", "/api/audit/messages?error_code=30003").json() == [], "not tomas's campaign"
    assert center.get("ana", "/api/audit/messages").status_code == 403
    assert center.get("auditor", "/api/audit/messages?date_from=ayer").status_code == 422
    page = signed_in(center, "sandra").get(f"/audit/messages?phone={chat['customer_address'][-10:]}")
    assert page.status_code == 200 and "30003" in page.text and "Unreachable destination handset" in page.text


def test_a_supervisors_audit_of_their_campaign_shows_every_message_of_the_chat(center: CallCenter) -> None:
    chat = center.identified_chat()  # the bot's greeting and questions, the identification and the hand-off
    assert center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Hola María, soy Ana."}).status_code == 201
    closed = center.post("ana", f"/api/chats/{chat['id']}/close", {"disposition": "promesa_de_pago"})
    assert closed.status_code == 204

    received = [m.delivery.message_id for m in center.transport.sent_to(chat["customer_address"])]
    audit = center.get("sandra", f"/api/audit/messages?chat_id={chat['id']}").json()

    assert len(received) >= 5 and sorted(m["id"] for m in audit) == sorted(received)
    assert {m["kind"] for m in audit} == {"bot", "agent", "closing"}
    assert {m["campaign_id"] for m in audit} == {center.banco}
    assert center.get("tomas", f"/api/audit/messages?chat_id={chat['id']}").json() == [], "not tomas's campaign"


def test_the_csv_export_has_the_filtered_messages_and_no_formulas(center: CallCenter) -> None:
    _, message_id = a_failed_reply(center, "30008", '=HYPERLINK("http://x.test","clic")')

    response = center.get("auditor", "/api/audit/messages.csv?status=undelivered")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["id"] for r in rows] == [message_id]
    assert rows[0]["error_message"].startswith("'=HYPERLINK"), "a formula is neutralised"
    assert rows[0]["error_code"] == "30008" and "undelivered" in rows[0]["history"]


def test_a_callback_with_only_an_error_code_is_explained_in_the_audit_api_csv_and_page(center: CallCenter) -> None:
    chat, message_id = a_failed_reply(center, "63016", error_message="")  # Twilio usually sends the code alone
    window = explain("63016")

    [row] = center.get("sandra", f"/api/audit/messages?chat_id={chat['id']}&status=undelivered").json()
    assert row["id"] == message_id and row["error_message"] is None
    assert row["error"] == {"code": "63016", "category": "window", "category_label": "Ventana de 24 horas de WhatsApp",
                            "meaning": window.meaning, "action": window.action}
    [line] = csv.DictReader(io.StringIO(center.get("sandra", "/api/audit/messages.csv?error_code=63016").text
                                        .lstrip("\ufeff")))
    assert (line["error_category"], line["error_meaning"], line["error_action"]) == (
        "Ventana de 24 horas de WhatsApp", window.meaning, window.action)
    sandra = signed_in(center, "sandra")
    spanish = sandra.get(f"/audit/messages?chat_id={chat['id']}").text
    assert window.meaning in spanish and window.action in spanish
    chose = sandra.post("/preferences/language",
                        data={"lang": "en", "next": "/", "csrf_token": page_csrf_token(spanish)})
    assert chose.status_code == 303
    english = sandra.get(f"/audit/messages?chat_id={chat['id']}").text
    assert "WhatsApp only accepts an approved template" in english and window.meaning not in english


def test_the_desk_badge_of_a_failed_message_says_what_happened_and_what_to_do(center: CallCenter) -> None:
    chat, _ = a_failed_reply(center, "30005", error_message="")
    desk = signed_in(center, "ana").get(f"/desk?chat={chat['id']}").text
    assert explain("30005").meaning in desk and explain("30005").action in desk
    assert "No se pudo entregar" not in desk


def test_a_spam_filtered_message_raises_an_alert_that_says_so(center: CallCenter) -> None:
    a_failed_reply(center, "30007", error_message="")
    alerts = {a["kind"]: a for a in center.get("sandra", "/api/delivery-alerts").json()}
    assert set(alerts) == {"message_failed", "spam_or_block"}
    assert alerts["message_failed"]["detail"] == explain("30007").sentence
    assert alerts["spam_or_block"]["detail"].startswith("Posible spam o bloqueo del remitente whatsapp:+5716000001.")
    assert alerts["spam_or_block"]["error"]["category"] == "spam"
    page = signed_in(center, "sandra").get("/alerts").text
    assert "Spam o bloqueo" in page and explain("30007").meaning in page
    assert "El mensaje no se pudo entregar" not in page


def test_a_suspended_account_raises_an_account_alert_that_says_so(center: CallCenter) -> None:
    a_failed_reply(center, "30002", error_message="")
    alerts = {a["kind"]: a for a in center.get("sandra", "/api/delivery-alerts").json()}
    assert set(alerts) == {"message_failed", "account"}
    assert alerts["account"]["detail"].startswith("Cuenta de Twilio (30002): La cuenta de Twilio está suspendida.")


def test_a_failed_message_raises_a_delivery_alert_its_supervisor_acknowledges(center: CallCenter) -> None:
    a_failed_reply(center)
    [alert] = center.get("sandra", "/api/delivery-alerts").json()
    assert alert["kind"] == "message_failed" and alert["error_code"] == "30003"
    assert center.get("tomas", "/api/delivery-alerts").json() == []
    assert "Mensaje fallido" in signed_in(center, "sandra").get("/alerts").text

    assert center.post("tomas", f"/api/delivery-alerts/{alert['id']}/acknowledge", {}).status_code == 404
    assert center.post("sandra", f"/api/delivery-alerts/{alert['id']}/acknowledge", {}).status_code == 204
    assert center.get("sandra", "/api/delivery-alerts").json() == []
    [seen] = center.get("sandra", "/api/delivery-alerts?state=acknowledged").json()
    assert seen["acknowledged_by"] == f"user:{center.ids['sandra']}"


def test_the_desk_marks_a_failed_message_and_the_agent_retries_it_as_a_new_message(center: CallCenter) -> None:
    chat, failed = a_failed_reply(center)
    ana = signed_in(center, "ana")
    desk = ana.get(f"/desk?chat={chat['id']}").text
    assert 'data-delivery="undelivered"' in desk and f"/messages/{failed}/retry" in desk

    response = ana.post(f"/chats/{chat['id']}/messages/{failed}/retry", data={"csrf_token": page_csrf_token(desk)})
    center.settle()

    assert response.status_code == 303
    deliveries = [m.delivery for m in center.transport.sent_to(chat["customer_address"])]
    assert [d.body for d in deliveries].count("Su saldo es 1.250.000") == 2
    assert deliveries[-1].message_id != failed, "a new message, never the failed one again"
    assert f"/messages/{failed}/retry" not in ana.get(f"/fragments/chats/{chat['id']}/timeline").text
    again = center.post("ana", f"/api/chats/{chat['id']}/messages/{failed}/retry", {})
    assert again.status_code == 422 and "ya se reintentó" in again.json()["detail"]


def test_no_retry_is_offered_for_an_opted_out_customer(center: CallCenter) -> None:
    chat, failed = a_failed_reply(center, "21610", "Attempt to send to unsubscribed recipient")
    assert f"/messages/{failed}/retry" not in signed_in(center, "ana").get(f"/desk?chat={chat['id']}").text
    response = center.post("ana", f"/api/chats/{chat['id']}/messages/{failed}/retry", {})
    assert response.status_code == 422


def test_outside_the_whatsapp_window_free_text_is_refused_and_templates_are_offered(center: CallCenter) -> None:
    center.despacho.campaigns.edit(UUID(center.banco), "Banco Andino cobranza", "Banco Andino",
                                   {"closing_template_sid": CLOSING_TEMPLATE}, actor="test")
    chat = center.identified_chat()
    center.clock.advance(timedelta(hours=25))

    refused = center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "¿Sigue ahí?"})

    assert refused.status_code == 422
    assert "solo se puede enviar una plantilla aprobada" in refused.json()["detail"]
    ana = signed_in(center, "ana")
    desk = ana.get(f"/desk?chat={chat['id']}").text
    assert CLOSING_TEMPLATE in desk and 'name="body"' not in desk, "templates instead of free text"

    sent = ana.post(f"/chats/{chat['id']}/template-replies",
                    data={"content_sid": CLOSING_TEMPLATE, "csrf_token": page_csrf_token(desk)})
    center.settle()
    assert sent.status_code == 303
    assert center.transport.sent_to(chat["customer_address"])[-1].delivery.content_sid == CLOSING_TEMPLATE
    unknown = center.post("ana", f"/api/chats/{chat['id']}/replies", {"content_sid": "HX" + "2" * 32})
    assert unknown.status_code == 422 and "no está aprobada" in unknown.json()["detail"]


def test_sends_and_callbacks_are_logged_with_ids_and_a_masked_phone(center: CallCenter,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    chat, message_id = a_failed_reply(center)

    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    sent = [line for line in lines if line["message"] == "message sent" and line.get("message_id") == message_id]
    callbacks = [line for line in lines if line["message"] == "status callback"
                 and line.get("message_id") == message_id]
    assert sent and callbacks
    for line in (sent[0], callbacks[0]):
        assert line["chat_id"] == chat["id"] and line["sid"].startswith("SM")
        assert line["to"].endswith("****" + chat["customer_address"][-3:])
    token = center.despacho.settings.twilio_auth_token.get_secret_value()
    everything = json.dumps(lines)
    assert chat["customer_address"].split("+")[1] not in everything and token not in everything


def test_an_agent_sends_one_of_the_campaigns_templates_with_its_variables(center: CallCenter) -> None:
    reminder = "HX" + "3" * 32
    edited = center.client.put(f"/api/campaigns/{center.banco}", headers=center.as_user("admin"), json={
        "name": "Banco Andino cobranza", "display_name": "Banco Andino",
        "settings": {"templates": [{"name": "Recordatorio", "content_sid": reminder, "variables": ["1"]}]}})
    assert edited.status_code in (200, 204), edited.text
    center.settle()
    chat = center.identified_chat()
    center.clock.advance(timedelta(hours=30))
    ana = signed_in(center, "ana")
    desk = ana.get(f"/desk?chat={chat['id']}").text
    assert "Recordatorio" in desk and reminder in desk

    ana.post(f"/chats/{chat['id']}/template-replies", data={
        "content_sid": reminder, "variable_names": ["1"], "variables": ["María"], "csrf_token": page_csrf_token(desk)})
    center.settle()

    delivery = center.transport.sent_to(chat["customer_address"])[-1].delivery
    assert (delivery.content_sid, delivery.content_variables, delivery.body) == (reminder, {"1": "María"}, "")


def test_a_supervisor_sees_a_lost_closing_confirmation_and_sends_it_again_until_twilio_accepts_it(
        center: CallCenter) -> None:
    chat = center.identified_chat()
    closed = center.post("sandra", f"/api/chats/{chat['id']}/close",
                         {"disposition": "informacion_entregada", "note": "Atendido por teléfono"})
    assert closed.status_code == 204
    confirmation = desk_queries.chat(center.despacho.read_engine, chat["id"])["confirmation_message_id"]
    status_callback(center, confirmation, "undelivered", "30003", "Unreachable destination handset")
    center.despacho.actors.follow_confirmations.fn()
    center.settle()

    [alert] = [a for a in center.get("sandra", "/api/alerts").json() if a["kind"] == "confirmation_failed"]
    page = signed_in(center, "sandra").get("/alerts").text
    assert "Confirmación de cierre no enviada" in page and "Reenviar confirmación" in page
    assert center.post("tomas", f"/api/alerts/{alert['id']}/resend-confirmation", {}).status_code == 403
    assert center.post("sandra", f"/api/alerts/{alert['id']}/acknowledge", {}).status_code == 422
    assert center.post("sandra", f"/api/alerts/{alert['id']}/resend-confirmation", {}).status_code == 202
    center.despacho.actors.follow_confirmations.fn()
    center.settle()

    [resolved] = [a for a in center.get("sandra", "/api/alerts?state=resolved").json() if a["id"] == alert["id"]]
    assert resolved["resolved_by"] == "system:closing"
    assert len(center.transport.sent_to(chat["customer_address"])) >= 2, "the confirmation went out again"
