"""Every projector's rebuild beside the raw read of the notification log it consumes, on a realistic log.

The log (campaigns, agents with sessions and breaks, chats from the first customer message through the bot,
the queue, an assignment, replies with their delivery statuses, the close, its confirmation and its PDF, and a
portfolio import per campaign) is written straight through the recorder, not the application, so that setting
up a million events takes a minute. Then, in interleaved rounds, for each projector: the raw read (pull the log
in the rebuild's batches, decode the events of the projector's topics) and its rebuild (the same pull into
fresh tables through the projection runner, as `despacho projections rebuild`). The figure is the ratio of the
two rates, with its median and spread over the rounds. Target: ≥ 0.3 for every projector.

    .venv/bin/python bench/bench_rebuild.py --events 1000000
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from common import available_backends, backend, median, rate
from sqlalchemy import delete

from domain.agents import Agent
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.portfolios import PortfolioImport
from domain.sessions import AgentSession
from projections.positions import projector_positions
from projections.runner import ProjectionRunner

CAMPAIGNS = 5
AGENTS = 200
CHATS_AT_ONCE = 100  # chats in progress together: their events interleave in the log
CUSTOMERS_PER_CAMPAIGN = 2_000
REBUILD_BATCH = 2000  # projections/rebuild.py's batch
INSERT_CHUNK = 5_000
CLOSING_TEMPLATE_SID = "HX" + "0" * 32
START = datetime(2026, 3, 2, 8, tzinfo=UTC)


class LogWriter:
    """Collects aggregates' new events in the order they happened and appends them in chunks."""

    def __init__(self, despacho: Any) -> None:
        self.recorder = despacho.store.recorder
        self.mapper = despacho.store.mapper
        self.pending: list[Any] = []
        self.written = 0

    def collect(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            self.pending.extend(self.mapper.to_stored_event(e) for e in aggregate.collect_events())
        if len(self.pending) >= INSERT_CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.recorder.insert_events(self.pending)
            self.written += len(self.pending)
            self.pending = []


def campaigns_and_staff(log: LogWriter, at: datetime) -> tuple[list[str], list[Agent], list[AgentSession]]:
    campaigns = []
    for c in range(CAMPAIGNS):
        campaign = Campaign.register(f"camp{c:02d}", f"Campaña {c}", f"Campaña {c}",
                                     CampaignSettings(closing_template_sid=CLOSING_TEMPLATE_SID), actor="bench", at=at)
        campaign.link_sender(f"whatsapp:+57160000{c:02d}", "whatsapp", is_default=True, actor="bench", at=at)
        log.collect(campaign)
        campaigns.append(str(campaign.id))
        portfolio = PortfolioImport.start(str(campaign.id), "cartera.csv", "ab" * 32, "upsert", actor="bench", at=at)
        rows = [{"document_type": "CC", "document_number": str(10_000 + n), "full_name": f"Cliente {n}",
                 "phones": [f"+57300{c}{n:06d}"]} for n in range(CUSTOMERS_PER_CAMPAIGN)]
        chunks = [portfolio.stage(number, rows[start:start + 1000])
                  for number, start in enumerate(range(0, len(rows), 1000))]
        portfolio.complete({"valid": len(rows), "invalid": 0}, len(rows), actor="bench", at=at)
        log.collect(portfolio, *chunks)
    agents, sessions = [], []
    for n in range(AGENTS):
        agent = Agent.register(f"asesor{n:03d}", f"Asesor {n}", "agent", 50, actor="bench", at=at)
        agent.join_campaign(campaigns[n % CAMPAIGNS], actor="bench", at=at)
        session = AgentSession.open(str(agent.id), client="Firefox", actor=f"user:{agent.id}", at=at)
        agent.sign_in(str(session.id), allow_parallel=False, actor=f"user:{agent.id}", at=at)
        agent.change_status("available", session_id=str(session.id), actor=f"user:{agent.id}", at=at)
        log.collect(agent, session)
        agents.append(agent)
        sessions.append(session)
    return campaigns, agents, sessions


def a_chat_lifecycle(n: int, campaign_id: str, agent: Agent, session: AgentSession,
                     at: Callable[[], datetime]) -> Iterator[tuple[Any, ...]]:
    """One chat's steps; each yields the aggregates it changed, so several chats' steps can interleave."""
    customer = f"whatsapp:+57310{n:07d}"
    chat = Chat.open("whatsapp", customer, "whatsapp:+5716000000", profile_name=f"Cliente {n}",
                     flow_name="default", actor=f"customer:{customer}", at=at())
    chat.receive_customer_message(f"SMa{n:030d}", "Hola", [], actor=f"customer:{customer}", at=at())
    yield (chat,)
    chat.advance_bot(f"SMa{n:030d}", {"step": "document"}, [], actor="system:bot", at=at())
    chat.receive_customer_message(f"SMb{n:030d}", "CC 1020", [], actor=f"customer:{customer}", at=at())
    chat.advance_bot(f"SMb{n:030d}", {"step": "done"}, [], actor="system:bot", at=at())
    chat.identify(campaign_id, "CC", str(10_000 + n % CUSTOMERS_PER_CAMPAIGN), customer_name=f"Cliente {n}",
                  actor="system:bot", at=at())
    chat.enqueue(campaign_id, outside_hours=False, actor="system", at=at())
    yield (chat,)
    agent.take_chat(str(chat.id), campaign_id, exceptional=False, actor="system", at=at())
    chat.assign(str(agent.id), {"policy": "least_load", "campaign_id": campaign_id,
                                "candidates": [{"agent_id": str(agent.id), "load": 1}]},
                exceptional=False, reason="", actor="system", at=at())
    yield chat, agent
    for reply in range(2):
        message = OutboundMessage.request(chat_id=str(chat.id), campaign_id=campaign_id, kind="agent",
                                          channel="whatsapp", to=customer, sender="whatsapp:+5716000000",
                                          body=f"Respuesta {reply}", agent_id=str(agent.id),
                                          session_id=str(session.id), actor=f"user:{agent.id}", at=at())
        chat.record_agent_reply(str(message.id), str(agent.id), str(session.id), actor=f"user:{agent.id}", at=at())
        message.start_attempt(actor="worker", at=at())
        message.record_submission(f"SMo{reply}{n:029d}", "queued", actor="worker", at=at())
        yield chat, message
        for status in ("sent", "delivered", "read"):
            message.record_status(status, "", "", actor="twilio", at=at())
        chat.receive_customer_message(f"SMc{reply}{n:029d}", "Gracias", [], actor=f"customer:{customer}", at=at())
        yield chat, message
    chat.close("agent", disposition="acuerdo_de_pago", note="", actor=f"user:{agent.id}", at=at())
    agent.release_chat(str(chat.id), reason="closed", actor="system", at=at())
    confirmation = OutboundMessage.request(chat_id=str(chat.id), campaign_id=campaign_id, kind="closing",
                                           channel="whatsapp", to=customer, sender="whatsapp:+5716000000",
                                           body="Gracias por escribirnos", agent_id="", session_id="",
                                           actor="system", at=at())
    chat.request_confirmation(str(confirmation.id), actor="system", at=at())
    yield chat, agent, confirmation
    confirmation.start_attempt(actor="worker", at=at())
    confirmation.record_submission(f"SMz{n:030d}", "queued", actor="worker", at=at())
    confirmation.record_status("delivered", "", "", actor="twilio", at=at())
    chat.store_transcript(f"transcripts/{chat.id}.pdf", "cd" * 32, actor="system", at=at())
    yield chat, confirmation


def write_log(despacho: Any, events: int) -> int:
    """A realistic log of at least `events` events; returns its head."""
    log = LogWriter(despacho)
    clock = iter(START + timedelta(seconds=s) for s in range(10**9))

    def at() -> datetime:
        return next(clock)

    campaigns, agents, sessions = campaigns_and_staff(log, at())
    n = 0
    while log.written + len(log.pending) < events:
        group = [a_chat_lifecycle(n + i, campaigns[(n + i) % CAMPAIGNS], agents[(n + i) % AGENTS],
                                  sessions[(n + i) % AGENTS], at) for i in range(CHATS_AT_ONCE)]
        n += CHATS_AT_ONCE
        while group:
            for steps in list(group):
                changed = next(steps, None)
                if changed is None:
                    group.remove(steps)
                else:
                    log.collect(*changed)
        for agent, session in zip(agents[:20], sessions[:20], strict=True):  # some breaks between waves
            agent.change_status("break", reason="almuerzo", actor=f"user:{agent.id}", at=at())
            agent.change_status("available", actor=f"user:{agent.id}", at=at())
            log.collect(agent, session)
    log.flush()
    return int(despacho.store.recorder.max_notification_id() or 0)


def raw_read(despacho: Any, topics: frozenset[str]) -> None:
    """What a rebuild cannot avoid: pulling the log in its batches and decoding the projector's events."""
    recorder, to_domain_event = despacho.store.recorder, despacho.store.mapper.to_domain_event
    position = 0
    while batch := recorder.select_notifications(start=position, limit=REBUILD_BATCH, inclusive_of_start=False):
        for notification in batch:
            if notification.topic in topics:
                to_domain_event(notification)
        position = batch[-1].id


def rebuild_into_fresh_tables(despacho: Any, make_projector: Callable[[str], Any]) -> None:
    """What `projections/rebuild.py` does before comparing: fresh tables, the runner catching them up."""
    fresh = make_projector("__bench")
    fresh.metadata.drop_all(despacho.read_engine)
    runner = ProjectionRunner(despacho.store, despacho.read_engine, [fresh], batch_size=REBUILD_BATCH)
    runner.create_tables()
    runner.catch_up()
    fresh.metadata.drop_all(despacho.read_engine)
    with despacho.read_engine.begin() as connection:
        connection.execute(delete(projector_positions).where(projector_positions.c.name == fresh.position_key))


def measure(despacho: Any, name: str, rounds: int, only: list[str] | None = None) -> None:
    """Per projector (the busiest first, so a long run shows them first), its rounds interleaved with the raw read;
    `only`: just the projectors so named."""
    from despacho.bootstrap import all_projectors

    head = despacho.runner.head()
    busiest_first = sorted((type(p) for p in all_projectors() if not only or p.name in only),
                           key=lambda c: BUSIEST.index(c.name))
    for make_projector in busiest_first:
        topics = make_projector().topics
        ratios, rebuilt, raw = [], [], []
        for _ in range(rounds):
            raw_seconds = timed(lambda topics=topics: raw_read(despacho, topics))
            rebuild_seconds = timed(lambda make=make_projector: rebuild_into_fresh_tables(despacho, make))
            ratios.append(raw_seconds / rebuild_seconds)
            rebuilt.append(rate(head, rebuild_seconds))
            raw.append(rate(head, raw_seconds))
        print(f"[{name}] rebuild {make_projector.name:<11} {median(rebuilt):>10,.0f} events/s   raw read+decode"
              f" {median(raw):>10,.0f} events/s   ratio median {median(ratios):5.2f}  spread {min(ratios):.2f}–"
              f"{max(ratios):.2f}  ({rounds} rounds, load average {os.getloadavg()[0]:.1f})", flush=True)


BUSIEST = ["chats", "messages", "metrics", "risk", "agents", "routing", "attendance", "portfolios", "campaigns"]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60_000, help="size of the log (the full figure: 1000000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per projector")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], action="append",
                        help="only these backends (default: every one reachable)")
    parser.add_argument("--projector", choices=BUSIEST, action="append", help="only these projectors (default: all)")
    arguments = parser.parse_args()
    print(f"== rebuild of every projector vs raw log read (target ratio ≥ 0.3); load average {os.getloadavg()} ==")
    for name in arguments.backend or available_backends():
        with backend(name) as despacho:
            began = time.perf_counter()
            head = write_log(despacho, arguments.events)
            print(f"[{name}] log of {head:,} events written in {time.perf_counter() - began:.0f} s", flush=True)
            measure(despacho, name, arguments.rounds, arguments.projector)
        print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
