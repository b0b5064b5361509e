"""A seeded history of chats for the metric benchmark, written twice: as the events of the real aggregates in the
log, and straight into the metric read tables as the rows the metrics projector would have left.

Campaigns and agents go through the application and the projectors; every chat after them is built with the
aggregates' own commands (so the log holds exactly the events the application records), appended through the
recorder in chunks, and its facts (chat, queue entry, assignment, outbound messages, bot states) are computed from
the same story and inserted in bulk, with the counters the projector's own contribution functions give for them.
`--check-tables` rebuilds the metric tables from the log and compares them with the written ones.

Messages are the customer's messages and every outbound message (the bot's and the agents'). A chat's events lie
close together in the log (a few minutes apart), the chats in the order they opened.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_rebuild import LogWriter
from sqlalchemy import Engine

from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.metrics.registry import AGENT, CAMPAIGN, MAXIMA
from projections.metric_facts import (
    Contribution,
    MetricsProjector,
    assignment_counters,
    chat_counters,
    hour_of,
    local_day,
    outbound_counters,
    queue_entry_counters,
    seconds_between,
)
from projections.sql import event_key

START = datetime(2026, 3, 2, 5, tzinfo=UTC)  # midnight in Bogotá
ZONES = ("America/Bogota", "America/Bogota", "America/Bogota", "America/Mexico_City", "America/Bogota")
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 11, 12, 13, 13, 12, 10, 8, 6, 5, 3, 2, 1]
DISPOSITIONS = ("acuerdo_de_pago", "promesa_de_pago", "no_interesado", "informacion_entregada", "numero_equivocado")
FLOW = "default"
FACT_CHUNK = 20_000


@dataclass(frozen=True)
class Scale:
    chats: int
    messages: int
    days: int
    campaigns: int
    agents: int
    seed: int

    @property
    def key(self) -> str:
        return f"metrics-c{self.chats}-m{self.messages}-d{self.days}-k{self.campaigns}-a{self.agents}-s{self.seed}"

    @property
    def last_day(self) -> date:
        return (START + timedelta(days=self.days - 1)).astimezone(_bogota()).date()


def _bogota() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/Bogota")


@dataclass
class Staff:
    campaigns: list[str]
    senders: dict[str, list[str]]
    agents: dict[str, list[str]]
    zones: dict[str, str]


@dataclass
class Facts:
    """Rows for the metric tables, and the counters they add up to, keyed as the counter tables are."""

    projector: MetricsProjector
    zones: dict[str, str]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counters: dict[tuple[str, str, tuple[Any, ...]], dict[str, float]] = field(default_factory=dict)

    def add_row(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)

    def contribute(self, contributions: list[Contribution]) -> None:
        for level, dimensions, at, counters in contributions:
            self.count(level, dimensions, at, counters)

    def count(self, level: str, dimensions: tuple[str, ...], at: datetime, counters: dict[str, Any]) -> None:
        zone = self.zones[dimensions[-1] if level == AGENT else dimensions[0]]
        for bucket, value in (("hour", hour_of(at)), ("day", local_day(at, zone))):
            row = self.counters.setdefault((level, bucket, (*dimensions, value)), {})
            for name, amount in counters.items():
                if amount:
                    row[name] = max(row.get(name, 0.0), float(amount)) if name in MAXIMA \
                        else row.get(name, 0.0) + float(amount)


def register_staff(despacho: Any, scale: Scale) -> Staff:
    """Campaigns (each with two numbers) and agents, through the application, projected like any log."""
    from domain.agents import Agent

    at = START - timedelta(days=1)
    staff = Staff([], {}, {}, {})
    for c in range(scale.campaigns):
        zone = ZONES[c % len(ZONES)]
        campaign = Campaign.register(f"camp{c:02d}", f"Campaña {c:02d}", f"Campaña {c:02d}",
                                     CampaignSettings(time_zone=zone, closing_template_sid="HX" + "0" * 32),
                                     actor="bench", at=at)
        senders = [f"whatsapp:+5716{c:02d}{s:04d}" for s in range(2)]
        for number, sender in enumerate(senders):
            campaign.link_sender(sender, "whatsapp", is_default=number == 0, actor="bench", at=at)
        despacho.store.save(campaign)
        staff.campaigns.append(str(campaign.id))
        staff.senders[str(campaign.id)] = senders
        staff.zones[str(campaign.id)] = zone
        staff.agents[str(campaign.id)] = []
    for n in range(scale.agents):
        agent = Agent.register(f"asesor{n:03d}", f"Asesor {n:03d}", "agent", 8, actor="bench", at=at)
        campaign_id = staff.campaigns[n % scale.campaigns]
        agent.join_campaign(campaign_id, actor="bench", at=at)
        despacho.store.save(agent)
        staff.agents[campaign_id].append(str(agent.id))
    despacho.runner.catch_up(hand_out_work=False)
    return staff


def opening_instants(scale: Scale, rng: random.Random) -> Iterator[datetime]:
    """Every chat's start, in order: the same share of chats each day, more of them in working hours."""
    per_day = [scale.chats // scale.days + (d < scale.chats % scale.days) for d in range(scale.days)]
    for day, count in enumerate(per_day):
        midnight = START + timedelta(days=day)
        hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
        yield from sorted(midnight + timedelta(hours=h, seconds=rng.uniform(0, 3599)) for h in hours)


class ChatStory:
    """One chat told twice: the aggregates' events into the log, the facts into `Facts`."""

    def __init__(self, n: int, opened_at: datetime, staff: Staff, facts: Facts, rng: random.Random,
                 exchanges: float) -> None:
        self.n, self.rng, self.facts = n, rng, facts
        self.campaign = staff.campaigns[n % len(staff.campaigns)]
        self.sender = rng.choice(staff.senders[self.campaign])
        self.agent = rng.choice(staff.agents[self.campaign])
        self.customer = f"whatsapp:+57{3_000_000_000 + n}"
        self.clock = opened_at
        self.exchanges = exchanges
        self.aggregates: list[Any] = []
        self.messages = 0
        self.chat = Chat.open("whatsapp", self.customer, self.sender, profile_name=f"Cliente {n}", flow_name=FLOW,
                              campaign_id=self.campaign, actor=f"customer:{self.customer}", at=opened_at)
        self.row: dict[str, Any] = {
            "chat_id": str(self.chat.id), "campaign_id": self.campaign, "flow_name": FLOW, "channel": "whatsapp",
            "sender_address": self.sender, "customer_address": self.customer, "opened_at": opened_at,
            "identified": False, "transferred": False, "inactive": False, "assigned": False, "attended": False,
            "customer_waiting": False, "customer_returned": False, "closed_at": None, "close_reason": None,
            "disposition": None, "closed_by_agent": None, "queue_entry_id": None, "assignment_id": None}
        self.assignment: dict[str, Any] | None = None

    def at(self, low: float = 2, high: float = 40) -> datetime:
        self.clock += timedelta(seconds=round(self.rng.uniform(low, high), 3))
        return self.clock

    def tell(self) -> list[Any]:
        self.customer_writes("Hola")
        self.bot_answers("documento")
        shape = self.rng.random()
        if shape < 0.05:
            self.close("bot", "system:bot")
        elif shape < 0.10:
            self.chat.record_bot_inactivity(self.clock, inactivity_limit=timedelta(minutes=10), actor="system:timers",
                                            at=self.at(600, 700))
            self.row["inactive"] = True
            self.close("bot_inactivity", "system:timers")
        else:
            self.customer_writes(f"CC {10_000 + self.n}")
            self.bot_answers("fin")
            self.chat.identify(self.campaign, "CC", str(10_000 + self.n), actor="system:bot", at=self.at(0, 1))
            self.row["identified"] = True
            entry = self.queue()
            if shape < 0.13:
                self.close("opt_out" if shape < 0.115 else "supervisor", "system", entry=entry)
            else:
                self.attend(entry)
        self.facts.add_row("chats", self.row)
        self.facts.contribute(chat_counters(self.row))
        return [self.chat, *self.aggregates]

    def customer_writes(self, body: str) -> None:
        self.chat.receive_customer_message(f"SM{self.n:012d}{self.messages:06d}", body, [],
                                           actor=f"customer:{self.customer}", at=self.at())
        self.messages += 1
        self.row["customer_waiting"] = True
        if self.assignment is not None and self.assignment["waiting_since"] is None:
            self.assignment["waiting_since"] = self.clock

    def bot_answers(self, state: str) -> None:
        sid = f"SM{self.n:012d}{self.messages - 1:06d}"
        self.chat.advance_bot(sid, {"flow_name": FLOW, "state": state}, [], actor="system:bot", at=self.at(0, 1))
        self.facts.add_row("bot_states", {"chat_id": self.row["chat_id"], "state": state, "flow_name": FLOW,
                                          "reached_at": self.clock})
        self.send("bot", "", "")

    def send(self, kind: str, agent_id: str, session_id: str, *, at: datetime | None = None) -> str:
        """An outbound message at `at` (default: now in the story), its delivery reported two seconds later."""
        at = at or self.clock
        message = OutboundMessage.request(chat_id=self.row["chat_id"], campaign_id=self.campaign, kind=kind,
                                          channel="whatsapp", to=self.customer, sender=self.sender,
                                          body="Respuesta", agent_id=agent_id, session_id=session_id,
                                          actor="system" if not agent_id else f"user:{agent_id}", at=at)
        failed = self.rng.random() < 0.03
        message.record_status("failed" if failed else "delivered", "30008" if failed else "", "", actor="twilio",
                              at=at + timedelta(seconds=2))
        self.aggregates.append(message)
        self.messages += 1
        row = {"id": str(message.id), "chat_id": self.row["chat_id"], "campaign_id": self.campaign,
               "sender": self.sender, "kind": kind, "requested_at": at, "failed": failed}
        self.facts.add_row("outbound", row)
        self.facts.contribute(outbound_counters(row))
        return str(message.id)

    def queue(self) -> dict[str, Any]:
        self.chat.enqueue(self.campaign, outside_hours=False, actor="system", at=self.at(0, 1))
        [queued] = [e for e in self.chat.pending_events if isinstance(e, Chat.Queued)]
        self.row.update(transferred=True, customer_waiting=True)
        return {"id": event_key(queued), "chat_id": self.row["chat_id"], "campaign_id": self.campaign,
                "queued_at": self.clock, "ended_at": None, "outcome": "", "wait_seconds": None}

    def end_queue(self, entry: dict[str, Any], outcome: str) -> None:
        entry.update(ended_at=self.clock, outcome=outcome, wait_seconds=seconds_between(entry["queued_at"], self.clock))
        self.facts.add_row("queue_entries", entry)
        self.facts.contribute(queue_entry_counters(entry))

    def attend(self, entry: dict[str, Any]) -> None:
        self.chat.assign(self.agent, {"policy": "least_load", "campaign_id": self.campaign,
                                      "candidates": [{"agent_id": self.agent, "load": 1}]},
                         exceptional=False, reason="", actor="system:router", at=self.at(3, 90))
        [assigned] = [e for e in self.chat.pending_events if isinstance(e, Chat.AgentAssigned)]
        self.end_queue(entry, "assigned")
        self.assignment = {"id": event_key(assigned), "chat_id": self.row["chat_id"], "campaign_id": self.campaign,
                           "agent_id": self.agent, "kind": "assigned", "assigned_at": self.clock,
                           "first_reply_at": None, "ended_at": None, "end_reason": None, "messages": 0,
                           "reply_count": 0, "reply_seconds": 0.0, "alerts": 0, "waiting_since": self.clock}
        self.row["assigned"] = True
        replies = max(1, round(self.rng.gauss(self.exchanges, self.exchanges / 3)))
        for reply in range(replies):
            self.agent_replies()
            if reply < replies - 1:
                self.customer_writes("Entiendo")
        self.close("agent", f"user:{self.agent}", disposition=self.rng.choice(DISPOSITIONS))

    def agent_replies(self) -> None:
        assignment = self.assignment
        if assignment is None:
            return
        message_id = self.send("agent", self.agent, "", at=self.at(5, 120))
        self.chat.record_agent_reply(message_id, self.agent, "", actor=f"user:{self.agent}", at=self.clock)
        waited = assignment["waiting_since"]
        assignment.update(messages=assignment["messages"] + 1,
                          first_reply_at=assignment["first_reply_at"] or self.clock, waiting_since=None,
                          reply_count=assignment["reply_count"] + (waited is not None),
                          reply_seconds=assignment["reply_seconds"] + (seconds_between(waited, self.clock)
                                                                       if waited else 0.0))
        self.facts.count(AGENT, (self.agent, self.campaign), self.clock, {"messages": 1})
        self.row.update(attended=True, customer_waiting=False)

    def close(self, reason: str, actor: str, *, disposition: str = "", entry: dict[str, Any] | None = None) -> None:
        self.chat.close(reason, disposition=disposition, note="Cerrado" if reason == "supervisor" else "",
                        actor=actor, at=self.at(5, 300))
        if entry is not None:
            self.end_queue(entry, "abandoned")
        if self.assignment is not None:
            self.assignment.update(ended_at=self.clock, end_reason="closed", waiting_since=None)
            self.facts.add_row("assignments", self.assignment)
            self.facts.contribute(assignment_counters(self.assignment))
        closer = actor.partition(":")[2] if actor.startswith("user:") else ""
        if reason == "agent" and closer:
            effective = disposition in ("acuerdo_de_pago", "promesa_de_pago")
            self.facts.count(AGENT, (closer, self.campaign), self.clock, {"closes": 1, "effective_closes": effective})
        if reason == "opt_out":
            self.facts.count(CAMPAIGN, (self.campaign,), self.clock, {"opt_outs": 1})
        if reason == "bot":
            self.facts.add_row("bot_closes", {"customer_address": self.customer, "chat_id": self.row["chat_id"],
                                              "closed_at": self.clock})
        self.row.update(closed_at=self.clock, close_reason=reason, disposition=disposition or None,
                        closed_by_agent=closer if reason == "agent" and closer else None)


def write_history(despacho: Any, scale: Scale) -> dict[str, Any]:
    """The whole history into the log and the metric tables; returns what was written."""
    began = time.perf_counter()
    rng = random.Random(scale.seed)
    staff = register_staff(despacho, scale)
    projector = MetricsProjector()
    log = LogWriter(despacho)
    # an attended chat (87%) has 3 + 2 × replies messages (the customer's and the bot's two each, then the agent's
    # replies and the customer's answers between them); the others 2 (ended in the bot) or 4 (left the queue)
    exchanges = max(1.0, ((scale.messages / scale.chats - 0.32) / 0.87 - 3) / 2)
    messages = 0
    facts = Facts(projector, staff.zones)
    for n, opened_at in enumerate(opening_instants(scale, rng)):
        story = ChatStory(n, opened_at, staff, facts, rng, exchanges)
        log.collect(*story.tell())
        messages += story.messages
        if len(facts.rows.get("outbound", ())) >= FACT_CHUNK:
            flush_facts(despacho.read_engine, facts)
    log.flush()
    flush_facts(despacho.read_engine, facts)
    write_counters(despacho.read_engine, facts)
    analyse(despacho.read_engine)
    return {"chats": scale.chats, "messages": messages, "events": int(despacho.runner.head()),
            "generation_seconds": round(time.perf_counter() - began, 1)}


def flush_facts(engine: Engine, facts: Facts) -> None:
    tables = {"chats": facts.projector.chats, "queue_entries": facts.projector.queue_entries,
              "assignments": facts.projector.assignments, "outbound": facts.projector.outbound,
              "bot_states": facts.projector.bot_states, "bot_closes": facts.projector.bot_closes}
    with engine.begin() as connection:
        for name, rows in facts.rows.items():
            if rows:
                connection.execute(tables[name].insert(), rows)
    facts.rows.clear()


def write_counters(engine: Engine, facts: Facts) -> None:
    from domain.metrics.registry import COUNTER_KEYS
    from projections.metric_tables import DIMENSIONS

    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (level, bucket, key), counters in facts.counters.items():
        row = dict(zip((*DIMENSIONS[level], bucket), key, strict=True))
        row.update({name: counters.get(name, 0.0) for name in COUNTER_KEYS[level]})
        grouped.setdefault((level, bucket), []).append(row)
    with engine.begin() as connection:
        for (level, bucket), rows in grouped.items():
            table = facts.projector.counters[level, bucket]
            for start in range(0, len(rows), FACT_CHUNK):
                connection.execute(table.insert(), rows[start:start + FACT_CHUNK])


def analyse(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def database_size(despacho: Any) -> int:
    engine = despacho.read_engine
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return int(connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        return int(pages * connection.exec_driver_sql("PRAGMA page_size").scalar_one())


def read_marker(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None
