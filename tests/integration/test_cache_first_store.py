"""The embedded server's event store trusts its own cache, and optimistic concurrency still holds.

Two `EventStore`s on one SQLite file stand for the embedded server and a second process (a CLI
command) writing the same aggregate: the server's stale cached copy must still fail to save, and
its retry must read what the other process wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from adapters.event_store import eventsourcing_env
from application.store import AUTHORITATIVE_CACHE, EventStore, retry_on_conflict
from domain.agents import Agent

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[EventStore, EventStore]]:
    env = {**eventsourcing_env(f"sqlite:///{tmp_path}/store.sqlite"), "AGGREGATE_CACHE_MAXSIZE": "100",
           AUTHORITATIVE_CACHE: "y"}
    server, other = EventStore(env=env), EventStore(env=env)
    yield server, other
    server.close()
    other.close()


def an_agent(store: EventStore) -> Agent:
    agent = Agent.register("ana", "Ana", "agent", 3, actor="test", at=NOW)
    agent.sign_in("session-1", allow_parallel=False, actor="test", at=NOW)
    store.save(agent)
    return agent


def change_status(store: EventStore, agent: Agent, status: str) -> None:
    copy = store.repository.get(agent.id)
    copy.change_status(status, reason="almuerzo" if status == "break" else "", actor="test", at=NOW)
    store.save(copy)


def queries_for_events(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = store.recorder.select_events
    monkeypatch.setattr(store.recorder, "select_events", lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def test_an_aggregate_the_server_saved_is_read_back_without_asking_the_store(
        stores: tuple[EventStore, EventStore], monkeypatch: pytest.MonkeyPatch) -> None:
    server, _ = stores
    agent = an_agent(server)
    change_status(server, agent, "available")
    queries = queries_for_events(server, monkeypatch)
    assert server.repository.get(agent.id).status == "available"
    assert queries == []


def test_a_stale_cached_copy_still_fails_to_save_and_the_retry_reads_the_other_write(
        stores: tuple[EventStore, EventStore]) -> None:
    server, other = stores
    agent = an_agent(server)
    server.repository.get(agent.id)  # cached in the server
    change_status(other, agent, "available")  # another process writes
    with pytest.raises(IntegrityError):
        change_status(server, agent, "break")
    retry_on_conflict(lambda: change_status(server, agent, "break"))
    assert [e.status for e in server.events.get(agent.id) if isinstance(e, Agent.StatusChanged)] == \
        ["available", "break"]
    assert server.repository.get(agent.id).version == 4


def test_two_copies_in_one_process_cannot_both_be_saved(stores: tuple[EventStore, EventStore]) -> None:
    server, _ = stores
    agent = an_agent(server)
    first, second = server.repository.get(agent.id), server.repository.get(agent.id)
    first.change_status("available", actor="test", at=NOW)
    second.change_status("break", reason="almuerzo", actor="test", at=NOW)
    server.save(first)
    with pytest.raises(IntegrityError):
        server.save(second)
    assert server.repository.get(agent.id).status == "available"


def test_a_change_left_unsaved_on_a_saved_aggregate_is_not_read_back(stores: tuple[EventStore, EventStore]) -> None:
    server, _ = stores
    agent = an_agent(server)  # the very object the cache now holds
    agent.change_status("available", actor="test", at=NOW)  # a command that failed before its save
    reread = server.repository.get(agent.id)
    assert (reread.status, reread.version) == ("offline", 2)
