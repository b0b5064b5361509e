"""As of the log's end, the time machine's fold of the log equals the live read tables: the campaign's queue in
order, and each agent's status, break reason, since when, sessions and load, whatever happened before (SQLite)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.clock import FixedClock
from application.as_of import state_as_of
from despacho.bootstrap import build
from despacho.settings import Settings
from domain.common import DomainError
from projections import desk_queries
from tests.conftest import START
from tests.time_machine_world import Floor, open_floor

AGENTS = 3
STEPS = st.one_of(
    st.tuples(st.just("queue")),
    st.tuples(st.just("settle")),
    st.tuples(st.just("status"), st.integers(0, AGENTS - 1), st.sampled_from(["available", "break", "offline"])),
    st.tuples(st.just("sign_out"), st.integers(0, AGENTS - 1)),
    st.tuples(st.just("sign_in"), st.integers(0, AGENTS - 1)),
)


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Floor, list[str]]]:
    """One floor for every example: each adds its steps to the same log, and the property holds after each."""
    clock = FixedClock(START)
    despacho = build(Settings(var_dir=tmp_path_factory.mktemp("as-of") / "var"), clock=clock)
    floor = open_floor(despacho, clock)
    agents = [floor.agent(login, capacity) for login, capacity in (("ana", 1), ("bruno", 2), ("carla", 2))]
    yield floor, agents
    despacho.close()


def take(floor: Floor, agents: list[str], step: tuple[Any, ...]) -> None:
    if step[0] == "queue":
        floor.customer_waits()
    elif step[0] == "settle":
        floor.settle()
    elif step[0] == "status":
        reason = "almuerzo" if step[2] == "break" else ""
        with contextlib.suppress(DomainError):  # not signed in: the aggregate refuses, nothing is recorded
            floor.change_status(agents[step[1]], step[2], reason)
    elif step[0] == "sign_out":
        floor.sign_out(agents[step[1]])
    else:
        floor.sign_in(agents[step[1]])


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEPS, max_size=12))
def test_as_of_the_end_of_the_log_the_fold_equals_the_live_tables(floor: tuple[Floor, list[str]],
                                                                  steps: list[tuple[Any, ...]]) -> None:
    world, agents = floor
    for step in steps:
        take(world, agents, step)
    world.settle()
    engine, now = world.despacho.read_engine, world.clock.now()

    answer = state_as_of(world.despacho.store, now, campaign_id=world.campaign)

    assert answer.campaign is not None
    assert [q.chat_id for q in answer.campaign.queue] == [
        row["id"] for row in desk_queries.waiting_queue(engine, {world.campaign}, now)]
    for agent in answer.campaign.agents:
        live = desk_queries.agent_status(engine, agent.agent_id)
        assert live is not None
        assert (agent.status, agent.status_reason, agent.status_since, agent.open_chats, agent.capacity,
                agent.signed_in) == (live["status"], live["status_reason"], live["status_since"], live["open_chats"],
                                     live["capacity"], live["open_sessions"] > 0)
