"""The authorization matrix's world: the desk call center (tests/e2e/desk_world.py) with, in each of its two
campaigns, chats in every state and what hangs off them, and strings only one campaign holds.

banco_a is campaign A (agent ana, supervisor sandra), telco_b campaign B (agent bruno, supervisor tomas); admin and
auditor belong to none. Each campaign gets a customer of its own in its portfolio; their chats are a closed one with
its PDF, an assigned one with an agent's reply, a note and a sent file, and a queued one that waited past its SLA
(an alert); plus a canned reply and a broadcast (sent at once to nobody: one scheduled for later would hold a delayed
message in the broker, and `settle` waits for the broker to empty). `Campaign.secrets` are the strings of that
campaign that nobody of the other may ever read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from adapters.clock import FixedClock
from application.broadcasts import NewBroadcast
from despacho.settings import Settings
from domain.broadcasts import Segment
from projections import alert_queries, desk_queries
from tests.conftest import CLOSING_TEMPLATE_SID
from tests.e2e.desk_world import BANCO_NUMBER, TELCO_NUMBER, CallCenter, call_center

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


@dataclass(frozen=True)
class Customer:
    document: str
    name: str
    cellphone: str


@dataclass
class Campaign:
    """One campaign's ids, by the names routes give their path parameters, and its secrets."""

    id: str
    number: str
    agent: str
    supervisor: str
    customer: Customer
    ids: dict[str, str]
    secrets: list[str]


@dataclass
class World:
    center: CallCenter
    a: Campaign
    b: Campaign

    def campaign(self, membership: str) -> Campaign:
        return self.b if membership == "other" else self.a


CUSTOMERS = {"banco_a": Customer("5566778899", "Lucía Restrepo Arango", "3104445566"),
             "telco_b": Customer("7788990011", "Wilson Quintero Bedoya", "3157778899")}
CAMPAIGN_NAMES = {"banco_a": "Banco Andino cobranza", "telco_b": "Telco Sur"}  # as desk_world registers them
DISPOSITION = "informacion_entregada"


def _portfolio(customer: Customer) -> bytes:
    return ("documento;tipo_documento;nombres;celular;saldo\n"
            f"{customer.document};CC;{customer.name};{customer.cellphone};990000\n").encode()


def _chat_with_traffic(center: CallCenter, number: str, agent: str, customer: Customer,
                       label: str) -> tuple[dict[str, Any], str]:
    """An assigned chat in which the agent replied, wrote a note and sent a file; returns it and the file's
    message id."""
    chat = center.identified_chat(customer.document, to=number)
    assert chat["agent_id"] == center.ids[agent], f"{label}: the chat went to {chat['agent_id']}"
    for url, body in ((f"/api/chats/{chat['id']}/replies", {"body": f"Respuesta privada {label}"}),
                      (f"/api/chats/{chat['id']}/notes", {"text": f"Nota interna {label}"})):
        assert center.post(agent, url, body).status_code == 201
    sent = center.client.post(f"/api/chats/{chat['id']}/files", headers=center.as_user(agent),
                              files={"file": ("comprobante.png", PNG, "image/png")})
    assert sent.status_code == 201, sent.text
    center.settle()
    return chat, str(sent.json()["message_id"])


def _populate(center: CallCenter, code: str, campaign: str, number: str, agent: str, supervisor: str) -> Campaign:
    despacho = center.despacho
    customer = CUSTOMERS[code]
    imported = despacho.portfolios.import_file(UUID(campaign), _portfolio(customer), "cartera.csv", actor="test")
    center.set_status(agent, "available")
    closed, _ = _chat_with_traffic(center, number, agent, customer, f"cerrada {code}")
    assert center.post(agent, f"/api/chats/{closed['id']}/close",
                       {"disposition": DISPOSITION, "note": ""}).status_code == 204
    assigned, file_message = _chat_with_traffic(center, number, agent, customer, f"abierta {code}")
    center.set_status(agent, "break")
    queued = center.identified_chat(customer.document, to=number)
    assert queued["status"] == "waiting_queue", queued
    inbound = [m for m in desk_queries.timeline(despacho.read_engine, assigned["id"])
               if m["author_kind"] == "customer" and m["message_sid"]]
    reply = despacho.canned_replies.write(campaign, f"Guion {code}", f"Guion exclusivo de {code}", actor="test")
    broadcast = despacho.broadcasts.schedule(NewBroadcast(
        campaign_id=campaign, name=f"Difusión exclusiva {code}", content_sid=CLOSING_TEMPLATE_SID, variables={},
        segment=Segment(min_days_past_due=10_000), start_at=center.clock.now()), actor="test")
    upload_id, _ = despacho.portfolios.preview_upload("cartera.csv", content=_portfolio(customer))
    ids = {"campaign_id": campaign, "agent_id": center.ids[agent], "chat_id": assigned["id"],
           "closed_chat_id": closed["id"], "queued_chat_id": queued["id"], "aggregate_id": assigned["id"],
           "message_id": file_message, "message_sid": inbound[0]["message_sid"], "reply_id": reply,
           "broadcast_id": broadcast, "job_id": imported.import_id, "upload_id": upload_id,
           "address": number, "sender": number}
    chats = (closed, assigned, queued)
    secrets = [CAMPAIGN_NAMES[code], agent.title(), supervisor.title(), customer.name, customer.document,
               customer.cellphone, f"Respuesta privada abierta {code}",
               f"Nota interna abierta {code}", f"Guion exclusivo de {code}", f"Difusión exclusiva {code}",
               *(chat["customer_address"].removeprefix("whatsapp:") for chat in chats)]
    return Campaign(campaign, number, agent, supervisor, customer, ids, secrets)


def _raise_queue_alerts(center: CallCenter) -> None:
    """The queued chats wait past their SLA: the timers raise an alert on each."""
    center.clock.advance(timedelta(minutes=31))  # past the 30-minute queue SLA, far from auto-close
    center.despacho.timers.run(center.clock.now())
    center.settle()


@contextmanager
def authorization_world(settings: Settings, clock: FixedClock) -> Iterator[World]:
    with call_center(settings, clock) as center:
        center.set_status("ana", "offline")
        a = _populate(center, "banco_a", center.banco, BANCO_NUMBER, "ana", "sandra")
        b = _populate(center, "telco_b", center.telco, TELCO_NUMBER, "bruno", "tomas")
        _raise_queue_alerts(center)
        for campaign in (a, b):
            alerts = alert_queries.alerts(center.despacho.read_engine, campaign_ids={campaign.id})
            assert alerts, f"no alert in {campaign.id}"
            campaign.ids["alert_id"] = str(alerts[0]["id"])
        yield World(center, a, b)
