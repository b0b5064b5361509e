"""A call center for the metric tests, driven through the real services on a real event store: customers write
(recorded, attached and answered by the bot as the followers do), routing assigns on catch-up, agents reply,
close, go offline; supervisors reassign. Every step moves the injected clock, so hand-computed figures hold.

banco_a (default flow, number BANCO) and pagos (autoservicio_pagos flow, number PAGOS); agents ana and carla in
banco_a, bruno in pagos. The document 1020304050 belongs to banco_a.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from adapters.clock import FixedClock
from application.inbound import InboundText
from application.outbound import StatusReport
from despacho.bootstrap import Despacho
from domain.metrics.registry import AGENT, BOT, CAMPAIGN
from projections.metric_queries import MetricFilter, MetricRow, agent_metrics, bot_metrics, campaign_metrics
from tests.conftest import WITH_CLOSING_TEMPLATE

BANCO = "whatsapp:+5716000001"
PAGOS = "whatsapp:+5716000003"
DOCUMENT = "1020304050"
PORTFOLIO = f"documento;tipo_documento;nombres;celular\n{DOCUMENT};CC;María Pérez;3001112233\n"
PASSWORD = "clave-de-prueba-1"


class MetricCenter:
    def __init__(self, despacho: Despacho, clock: FixedClock, *, banco_settings: dict[str, Any] | None = None) -> None:
        self.despacho, self.clock = despacho, clock
        self.sids = (f"SM{n:032x}" for n in itertools.count(1))
        self.banco = str(despacho.campaigns.register(
            "banco_a", "Banco Andino", "Banco Andino", {**WITH_CLOSING_TEMPLATE, **(banco_settings or {})},
            senders=[(BANCO, "whatsapp", True)], actor="test"))
        self.pagos = str(despacho.campaigns.register(
            "pagos", "Pagos", "Pagos", {**WITH_CLOSING_TEMPLATE, "flow_name": "autoservicio_pagos"},
            senders=[(PAGOS, "whatsapp", True)], actor="test"))
        despacho.portfolios.import_file(UUID(self.banco), PORTFOLIO.encode(), "cartera.csv", actor="test")
        self.agents = {login: str(despacho.staff.register(login, login.title(), "agent", password=PASSWORD,
                                                          capacity=5, campaign_ids=frozenset({campaign}),
                                                          actor="test"))
                       for login, campaign in (("ana", self.banco), ("carla", self.banco), ("bruno", self.pagos))}
        self.sessions: dict[str, str] = {}
        self.catch_up()

    # ---- time and the followers ----

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def catch_up(self) -> None:
        self.despacho.runner.catch_up(hand_out_work=False)

    # ---- customers and the bot ----

    def customer_writes(self, customer: str, body: str, to: str = BANCO) -> str:
        """The webhook records the message, the inbound follower attaches it, the bot takes its turn."""
        recorded = self.despacho.inbound.receive(InboundText(next(self.sids), customer, to, body, "María"))
        received = self.despacho.inbound.attach(recorded.inbound_id)
        assert received is not None
        self.catch_up()
        self.despacho.conversations.process(received.chat_id)
        self.catch_up()
        return received.chat_id

    def identified(self, customer: str) -> str:
        """Hello, cédula, the document: the bot identifies the customer in banco_a and queues the chat."""
        for body in ("Hola", "1"):
            self.customer_writes(customer, body)
        return self.customer_writes(customer, DOCUMENT)

    def chat_status(self, chat_id: str) -> tuple[str, str]:
        chat = self.despacho.store.repository.get(UUID(chat_id))
        return chat.status, chat.agent_id

    # ---- staff ----

    def available(self, login: str) -> None:
        agent = UUID(self.agents[login])
        if login not in self.sessions:
            self.sessions[login] = str(self.despacho.staff.open_session(agent, "test"))
        self.despacho.staff.change_status(agent, "available", session_id=self.sessions[login], actor="test")
        self.catch_up()

    def on_break(self, login: str) -> None:
        self.despacho.staff.change_status(UUID(self.agents[login]), "break", session_id=self.sessions[login],
                                          reason="almuerzo", actor="test")
        self.catch_up()

    def logout(self, login: str) -> None:
        self.despacho.staff.close_session(UUID(self.sessions.pop(login)), "logout", actor="test")
        self.catch_up()

    def reply(self, login: str, chat_id: str, body: str = "Hola, ¿en qué le ayudo?") -> str:
        """Returns the message's id."""
        message_id = self.despacho.desk.reply(chat_id, self.agents[login], body=body, session_id=self.sessions[login])
        self.catch_up()
        return message_id

    def note(self, login: str, chat_id: str, text: str = "Cliente pide llamada") -> None:
        """An internal note: staff only, never a message to the customer."""
        self.despacho.desk.add_note(chat_id, self.agents[login], text)
        self.catch_up()

    def undelivered(self, message_id: str) -> None:
        """Twilio's status callback says the carrier could not deliver the message (30003)."""
        self.despacho.outbound.apply_status(StatusReport(message_id, f"SM{message_id.replace('-', '')}",
                                                         "undelivered", "30003"))
        self.catch_up()

    def close(self, login: str, chat_id: str, disposition: str = "acuerdo_de_pago") -> None:
        self.despacho.closing.close(chat_id, "agent", disposition=disposition, actor=f"user:{self.agents[login]}",
                                    session_id=self.sessions[login])
        self.catch_up()

    def reassign(self, chat_id: str, login: str) -> None:
        self.despacho.router.reassign(chat_id, self.agents[login], reason="cambio de turno", actor="user:supervisor")
        self.catch_up()

    def run_timers(self) -> None:
        self.despacho.offline_agents.run(self.clock.now())
        self.despacho.timers.run(self.clock.now())
        self.catch_up()

    # ---- what the queries answer ----

    def rows(self, level: str, day: date, **filters: Any) -> list[MetricRow]:
        wanted = MetricFilter(day, day, **filters)
        query = {AGENT: agent_metrics, CAMPAIGN: campaign_metrics, BOT: bot_metrics}[level]
        return query(self.despacho.read_engine, wanted, campaign_ids=None)

    def agent_row(self, login: str, day: date) -> MetricRow:
        [row] = [r for r in self.rows(AGENT, day) if r.agent_id == self.agents[login]]
        return row

    def campaign_row(self, campaign_id: str, day: date) -> MetricRow:
        [row] = [r for r in self.rows(CAMPAIGN, day) if r.campaign_id == campaign_id]
        return row
