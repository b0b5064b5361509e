"""Closing end to end (R8): bot → agent → the agent closes with a disposition → the customer gets the
confirmation → the PDF downloads from the chat page → the customer writes again → the bot again.
Then `despacho audit closes` on the same database finds nothing missing, and finds a tampered close."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from adapters.clock import FixedClock
from despacho.settings import Settings
from projections import desk_queries
from projections.queries import CHATS
from tests.e2e.desk_world import CallCenter, call_center
from tests.e2e.test_delivery_pages import status_callback


@pytest.fixture
def center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(settings, clock) as built:
        yield built


def audit_closes(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESPACHO_")} | {
        "DESPACHO_VAR_DIR": str(settings.var_dir)}
    if settings.database_url:
        env["DESPACHO_DATABASE_URL"] = settings.database_url
    return subprocess.run([sys.executable, "-m", "despacho.cli", "audit", "closes"], env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def test_a_close_sends_one_confirmation_stores_one_pdf_and_the_next_message_starts_over(
        center: CallCenter, settings: Settings) -> None:
    chat = center.identified_chat()
    customer = chat["customer_address"]
    assert chat["agent_id"] == center.ids["ana"]
    reply = center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Hola María, ya le ayudo."})
    assert reply.status_code == 201, reply.text
    refused = center.post("ana", f"/api/chats/{chat['id']}/close", {"disposition": "", "note": ""})
    assert refused.status_code == 422, "an agent must choose a disposition"
    closed = center.post("ana", f"/api/chats/{chat['id']}/close",
                         {"disposition": "informacion_entregada", "note": "Consultó su saldo"})
    assert closed.status_code == 204, closed.text

    received = [m.delivery.body for m in center.transport.sent_to(customer)]
    assert "finaliz" in received[-1], "the customer's last message is the closing confirmation"
    assert sum("finaliz" in body for body in received) == 1, "exactly one confirmation"

    page = center.get("sandra", f"/chats/{chat['id']}")
    assert f"/chats/{chat['id']}/transcript.pdf" in page.text, "the chat page links the PDF"
    pdf = center.get("sandra", f"/chats/{chat['id']}/transcript.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert center.get("bruno", f"/chats/{chat['id']}/transcript.pdf").status_code == 403, "another campaign's agent"

    center.clock.advance(timedelta(minutes=5))
    center.customer_writes(customer, "Hola de nuevo")
    chats = desk_queries.chats_of_customer(center.despacho.read_engine, customer)
    assert sorted(c["status"] for c in chats) == ["bot", "closed"]

    assert audit_closes(settings).returncode == 0
    with center.despacho.read_engine.begin() as connection:
        connection.execute(update(CHATS.chats).where(CHATS.chats.c.id == chat["id"]).values(transcript_location=None))
    tampered = audit_closes(settings)
    assert tampered.returncode == 1 and chat["id"] in tampered.stdout


def test_the_close_audit_counts_a_close_whose_confirmation_twilio_never_accepted(
        center: CallCenter, settings: Settings) -> None:
    chat = center.identified_chat()
    closed = center.post("ana", f"/api/chats/{chat['id']}/close", {"disposition": "informacion_entregada", "note": ""})
    assert closed.status_code == 204, closed.text
    assert audit_closes(settings).returncode == 0
    confirmation = desk_queries.chat(center.despacho.read_engine, chat["id"])["confirmation_message_id"]
    status_callback(center, confirmation, "failed", "63016", "Outside the allowed window")

    audited = audit_closes(settings)

    assert audited.returncode == 1
    assert f"chat {chat['id']}" in audited.stdout and "Twilio la rechazó" in audited.stdout
    assert "1 sin confirmación aceptada por Twilio" in audited.stdout


def test_a_supervisors_close_asks_for_a_disposition_of_the_chats_campaign_like_an_agents(center: CallCenter) -> None:
    chat = center.identified_chat()
    url = f"/api/chats/{chat['id']}/close"

    without = center.post("sandra", url, {"disposition": "", "note": "Cliente duplicado"})
    unknown = center.post("sandra", url, {"disposition": "venta_cruzada", "note": "Cliente duplicado"})
    closed = center.post("sandra", url, {"disposition": "numero_equivocado", "note": "Cliente duplicado"})

    assert without.status_code == 422 and "tipificación" in without.json()["detail"]
    assert unknown.status_code == 422, "only the campaign's own dispositions"
    assert closed.status_code == 204, closed.text
    row = desk_queries.chat(center.despacho.read_engine, chat["id"])
    assert row is not None and (row["close_reason"], row["disposition"]) == ("supervisor", "numero_equivocado")
    page = center.get("sandra", f"/chats/{chat['id']}").text
    assert "Número equivocado" in page
