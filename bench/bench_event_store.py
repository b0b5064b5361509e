"""Events appended per second through the application vs the raw recorder, 1 and 10 events per save, in
interleaved rounds with the median ratio and its spread (target ≥ 0.6 on SQLite); projection catch-up vs raw
notification-log reads. SQLite and PostgreSQL, each compared within the same run. `--scale N` for more."""

from __future__ import annotations

import argparse
import itertools
import os
from uuid import uuid4

from common import available_backends, backend, interleaved, rate, report, report_rounds, timed
from eventsourcing.persistence import StoredEvent

from domain.agents import Agent
from projections.agents import AgentsProjector
from projections.runner import ProjectionRunner

AGENTS = 200
SAVES_OF_TEN = 60
ROUNDS = 7


def raw_append(despacho, events_per_insert: int, inserts: int) -> float:
    """The recorder alone: stored events already encoded, one transaction per insert."""
    recorder = despacho.store.recorder

    def run() -> None:
        for _ in range(inserts):
            originator = uuid4()
            recorder.insert_events([StoredEvent(originator_id=originator, originator_version=v + 1,
                                                topic="bench:Raw", state=b'{"status":"available"}')
                                    for v in range(events_per_insert)])
    return rate(events_per_insert * inserts, timed(run))


def agents_to_command(despacho, count: int) -> dict:
    """Agents signed in, each with its session: a status change comes through one (R13)."""
    ids = [despacho.staff.register(f"bench{i:04d}", f"Agente {i}", "agent", password="x" * 12, actor="bench")
           for i in range(count)]
    return {agent_id: str(despacho.staff.open_session(agent_id, "bench")) for agent_id in ids}


def app_command_one_per_save(despacho, sessions: dict, statuses: itertools.cycle) -> float:
    """A real command: load an agent and its session, change its status, save."""
    def run() -> None:
        status, reason = next(statuses)
        for agent_id, session_id in sessions.items():
            despacho.staff.change_status(agent_id, status, reason=reason, session_id=session_id, actor="bench")
    return rate(len(sessions), timed(run))


def app_save_ten_per_save(despacho, saves: int, batches: itertools.count) -> float:
    """A new agent joining nine campaigns, saved at once (ten events per save)."""
    now, batch = despacho.clock.now(), next(batches)

    def run() -> None:
        for i in range(saves):
            agent = Agent.register(f"b{batch}-{i:04d}", f"Agente {i}", "agent", 5, actor="bench", at=now)
            for c in range(9):
                agent.join_campaign(f"campaign-{c}", actor="bench", at=now)
            despacho.store.save(agent)
    return rate(saves * 10, timed(run))


def catch_up_vs_raw_read(despacho) -> tuple[float, float]:
    head = despacho.runner.head()
    recorder = despacho.store.recorder
    fresh = AgentsProjector(suffix="__bench")
    wanted = fresh.topics

    def raw() -> None:
        position = 0
        while batch := recorder.select_notifications(start=position, limit=500, inclusive_of_start=False):
            for notification in batch:
                if notification.topic in wanted:
                    despacho.store.mapper.to_domain_event(notification)
            position = batch[-1].id
    runner = ProjectionRunner(despacho.store, despacho.read_engine, [fresh], batch_size=500)
    runner.create_tables()
    projected = rate(head, timed(runner.catch_up))
    fresh.metadata.drop_all(despacho.read_engine)
    return projected, rate(head, timed(raw))


def append_rounds(despacho, scale: int) -> dict[str, list[float]]:
    agent_ids, statuses, batches = agents_to_command(despacho, AGENTS * scale), \
        itertools.cycle([("available", ""), ("break", "almuerzo")]), itertools.count()
    return interleaved(ROUNDS, {
        "app 1": lambda: app_command_one_per_save(despacho, agent_ids, statuses),
        "raw 1": lambda: raw_append(despacho, 1, AGENTS * scale),
        "app 10": lambda: app_save_ten_per_save(despacho, SAVES_OF_TEN * scale, batches),
        "raw 10": lambda: raw_append(despacho, 10, SAVES_OF_TEN * scale),
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1)
    scale = parser.parse_args().scale
    print(f"== event store: application vs raw eventsourcing recorder, load average {os.getloadavg()[0]:.2f} ==")
    for name in available_backends():
        with backend(name) as despacho:
            results = append_rounds(despacho, scale)
            report_rounds(f"[{name}] app command, 1 event/save", results["app 1"], "events/s",
                          "raw 1/insert", results["raw 1"])
            report_rounds(f"[{name}] app save, 10 events/save", results["app 10"], "events/s",
                          "raw 10/insert", results["raw 10"])
            projected, raw_read = catch_up_vs_raw_read(despacho)
            report(f"[{name}] projection catch-up, agents projector", projected, "events/s",
                   "raw read+decode", raw_read)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
