"""Dispatch latency — a chat queued, the routing follower applies it and assigns it — with 200 agents holding
5,000 open chats, a 1,000-chat backlog nobody can take, and a history of past assignments in the read
tables (1,000,000 with --full). Beside it, in the same interleaved rounds over the same engine, a
primary-key SELECT of one chat. Target: dispatch p99 ≤ 20 ms at 1,000,000 past assignments.

Also times, once, the query dispatch used to run for its round-robin cursors (a scan of every past
assignment), to show what the history cost before the routing follower kept the cursor per campaign.
"""

from __future__ import annotations

import argparse
import itertools
from datetime import timedelta

from common import available_backends, backend
from history import seed_past_assignments
from rounds import interleaved, load_average, show, stopwatch
from sqlalchemy import func, select

from domain.agents import Agent
from domain.chats import Chat
from domain.sessions import AgentSession
from projections.queries import CHATS

CAMPAIGNS = 10
AGENTS = 200
OPEN_CHATS = 5_000
BACKLOG = 1_000
BACKLOG_AGENTS = 5
phones = itertools.count(1)


def queued_chat(campaign_id: str, now) -> Chat:
    chat = Chat.open("whatsapp", f"whatsapp:+57310{next(phones):07d}", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="bench", at=now)
    chat.enqueue(campaign_id, outside_hours=False, actor="bench", at=now)
    return chat


def seed_call_center(despacho, past: int) -> list[str]:
    """CAMPAIGNS campaigns served by AGENTS available agents holding OPEN_CHATS chats; one more campaign whose
    BACKLOG_AGENTS agents are on a break, with BACKLOG chats waiting; `past` closed chats in the read tables."""
    now = despacho.clock.now()
    around_the_clock = {"agents_outside_hours_take_chats": True}  # the bench runs at any hour
    campaigns = [str(despacho.campaigns.register(f"camp{c:02d}", f"Campaña {c}", f"Campaña {c}", around_the_clock,
                                                 actor="bench")) for c in range(CAMPAIGNS + 1)]
    served, backlog = campaigns[:CAMPAIGNS], campaigns[CAMPAIGNS]
    agents, sessions = [], []
    for n in range(AGENTS + BACKLOG_AGENTS):
        agent = Agent.register(f"asesor{n:03d}", f"Asesor {n}", "agent", 40, actor="bench", at=now)
        agent.join_campaign(served[n % CAMPAIGNS] if n < AGENTS else backlog, actor="bench", at=now)
        session = AgentSession.open(str(agent.id), client="bench", actor="bench", at=now)
        agent.sign_in(str(session.id), allow_parallel=False, actor="bench", at=now)
        sessions.append(session)
        agent.change_status("available" if n < AGENTS else "break", reason="almuerzo", actor="bench", at=now)
        agents.append(agent)
    chats = []
    for n in range(OPEN_CHATS):
        agent, chat = agents[n % AGENTS], queued_chat(served[n % AGENTS % CAMPAIGNS], now)
        agent.take_chat(str(chat.id), chat.campaign_id, exceptional=False, actor="bench", at=now)
        chat.assign(str(agent.id), {}, exceptional=False, reason="seed", actor="bench", at=now)
        chats.append(chat)
    chats += [queued_chat(backlog, now) for _ in range(BACKLOG)]
    for start in range(0, len(chats), 500):
        despacho.store.save(*chats[start:start + 500])
    despacho.store.save(*agents, *sessions)
    despacho.runner.catch_up()
    seed_past_assignments(despacho.read_engine, past, served, [str(a.id) for a in agents[:AGENTS]],
                          now - timedelta(days=30))
    return served


def old_cursor_query(despacho, campaigns: list[str]) -> float:
    table = CHATS.assignments
    latest = select(table.c.campaign_id, func.max(table.c.at).label("at")).where(
        table.c.campaign_id.in_(campaigns), table.c.kind == "automatic").group_by(table.c.campaign_id).subquery()
    query = select(table.c.campaign_id, table.c.agent_id).join(
        latest, (table.c.campaign_id == latest.c.campaign_id) & (table.c.at == latest.c.at))
    with despacho.read_engine.connect() as connection:
        return stopwatch(lambda: connection.execute(query).all())


def dispatch_latency(despacho, name: str, past: int, rounds: int, samples: int) -> None:
    campaigns = seed_call_center(despacho, past)
    routing = next(p for p in despacho.runner.projectors if p.name == "routing")
    others = [p for p in despacho.runner.projectors if p is not routing]
    chats = CHATS.chats
    some_chat = select(chats.c.id).limit(1)
    with despacho.read_engine.connect() as connection:
        known = connection.execute(some_chat).scalar_one()
    by_key = select(chats).where(chats.c.id == known)

    def primary_key_select(n: int) -> float:
        with despacho.read_engine.connect() as connection:
            return stopwatch(lambda: connection.execute(by_key).one())

    def queued_then_assigned(n: int) -> float:
        chat = queued_chat(campaigns[n % CAMPAIGNS], despacho.clock.now() + timedelta(seconds=n))
        despacho.store.save(chat)
        for projector in others:
            despacho.runner.run_batch(projector)
        took = stopwatch(lambda: despacho.runner.run_batch(routing))  # applies the queueing, then dispatches
        if despacho.store.repository.get(chat.id).status != "assigned":
            raise RuntimeError("the benchmark chat was not assigned")
        return took

    measured = interleaved(rounds, samples, queued_then_assigned, primary_key_select)
    show(f"[{name}] queued → assigned ({AGENTS} agents, {OPEN_CHATS:,} open chats, backlog {BACKLOG:,}, "
         f"{past:,} past assignments)", measured, "primary-key SELECT of a chat", "target p99 ≤ 20 ms")
    former = old_cursor_query(despacho, campaigns)
    print(f"    the former round-robin cursor query over the same history: {former * 1000:.1f} ms per dispatch;  "
          f"{load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="1,000,000 past assignments (default 100,000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=40, help="dispatches per round")
    args = parser.parse_args()
    past = 1_000_000 if args.full else 100_000
    for name in available_backends():
        with backend(name) as despacho:
            dispatch_latency(despacho, name, past, args.rounds, args.samples)


if __name__ == "__main__":
    main()
