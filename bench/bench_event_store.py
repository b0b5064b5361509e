"""Events appended per second through the application vs the raw recorder; projection catch-up
vs raw notification-log reads. SQLite and PostgreSQL, each compared within the same run."""

from __future__ import annotations

from uuid import uuid4

from common import available_backends, backend, rate, report, timed
from eventsourcing.persistence import StoredEvent

from domain.agents import Agent
from projections.agents import AgentsProjector
from projections.runner import ProjectionRunner

AGENTS = 200
ROUNDS = 10


def raw_append(despacho, events_per_insert: int, inserts: int) -> float:
    recorder = despacho.store.recorder

    def run() -> None:
        for _ in range(inserts):
            originator = uuid4()
            recorder.insert_events([StoredEvent(originator_id=originator, originator_version=v + 1,
                                                topic="bench:Raw", state=b'{"status":"available"}')
                                    for v in range(events_per_insert)])
    return rate(events_per_insert * inserts, timed(run))


def app_append_one_per_save(despacho) -> float:
    """A real command: load an agent, change its status, save (one event per save)."""
    ids = [despacho.staff.register(f"bench{i:04d}", f"Agente {i}", "agent", password="x" * 12, actor="bench")
           for i in range(AGENTS)]
    sessions = {agent_id: despacho.staff.open_session(agent_id, "bench") for agent_id in ids}
    statuses = [("available", ""), ("break", "almuerzo")]

    def run() -> None:
        for round_ in range(ROUNDS):
            for agent_id in ids:
                status, reason = statuses[round_ % 2]
                despacho.staff.change_status(agent_id, status, reason=reason, session_id=sessions[agent_id],
                                             actor="bench")
    return rate(AGENTS * ROUNDS, timed(run))


def app_append_ten_per_save(despacho) -> float:
    now = despacho.clock.now()

    def run() -> None:
        for i in range(AGENTS):
            agent = Agent.register(f"batch{i:04d}", f"Agente {i}", "agent", 5, actor="bench", at=now)
            for c in range(9):
                agent.join_campaign(f"campaign-{c}", actor="bench", at=now)
            despacho.store.save(agent)
    return rate(AGENTS * 10, timed(run))


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


def main() -> None:
    print("== event store: application vs raw eventsourcing recorder ==")
    for name in available_backends():
        with backend(name) as despacho:
            report(f"[{name}] app command, 1 event/save (events/s)", app_append_one_per_save(despacho), "events/s",
                   "raw 1/insert", raw_append(despacho, 1, 1000))
            report(f"[{name}] app save, 10 events/save (events/s)", app_append_ten_per_save(despacho), "events/s",
                   "raw 10/insert", raw_append(despacho, 10, 300))
            projected, raw_read = catch_up_vs_raw_read(despacho)
            report(f"[{name}] projection catch-up, agents projector", projected, "events/s",
                   "raw read+decode", raw_read)


if __name__ == "__main__":
    main()
