"""The routing follower dispatches on its exact view of the log, and `audit routing` agrees with it.

Real event store and runner on SQLite and PostgreSQL; no read table of any other projector.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner

from adapters.clock import FixedClock
from adapters.event_store import eventsourcing_env
from adapters.read_store import make_read_engine
from application.routing import AssignmentService
from application.routing_audit import audit_routing
from application.store import EventStore
from despacho.cli import main as despacho_cli
from domain.agents import Agent
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat
from domain.sessions import AgentSession
from projections.routing import RoutingFollower, SqlRoutingState
from projections.runner import ProjectionRunner

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # Monday 09:00 in Bogotá: inside default hours
ALWAYS_OPEN = {day: ["00:00", "23:59"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class Floor:
    store: EventStore
    runner: ProjectionRunner
    router: AssignmentService
    clock: FixedClock
    campaign: str

    def later(self, seconds: int = 1) -> datetime:
        self.clock.advance(timedelta(seconds=seconds))
        return self.clock.now()

    def agent(self, login: str, capacity: int = 2, *, available: bool = True) -> str:
        agent = Agent.register(login, login.title(), "agent", capacity, actor="t", at=self.later())
        agent.join_campaign(self.campaign, actor="t", at=self.later())
        session = AgentSession.open(str(agent.id), client="t", actor="t", at=self.later())
        agent.sign_in(str(session.id), allow_parallel=False, actor="t", at=self.later())
        if available:
            agent.change_status("available", session_id=str(session.id), actor="t", at=self.later())
        self.store.save(agent, session)
        return str(agent.id)

    def customer_waits(self, n: int) -> str:
        chat = Chat.open("whatsapp", f"whatsapp:+57300000{n:04d}", "whatsapp:+5716000001", profile_name="",
                         flow_name="default", actor="t", at=self.later())
        chat.enqueue(self.campaign, outside_hours=False, actor="t", at=self.later())
        self.store.save(chat)
        return str(chat.id)

    def settle(self) -> None:
        self.runner.catch_up()

    def chat(self, chat_id: str) -> Chat:
        chat: Chat = self.store.repository.get(UUID(chat_id))
        return chat

    def decision(self, chat_id: str) -> dict[str, Any]:
        assigned = [e for e in self.store.events.get(UUID(chat_id)) if isinstance(e, Chat.AgentAssigned)]
        return dict(assigned[-1].decision)


@pytest.fixture
def floor(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Floor]:
    monkeypatch.setenv("DESPACHO_DATABASE_URL", database_url)  # `despacho audit routing` reads the same log
    monkeypatch.setenv("DESPACHO_VAR_DIR", str(tmp_path / "var"))
    store = EventStore(env=eventsourcing_env(database_url))
    engine = make_read_engine(database_url)
    clock = FixedClock(NOW)
    follower = RoutingFollower()
    router = AssignmentService(store, clock, SqlRoutingState(engine, follower))
    follower.on_change = router.dispatch
    runner = ProjectionRunner(store, engine, [follower])
    runner.create_tables()
    campaign = Campaign.register("banco_a", "Banco", "Banco Andino",
                                 CampaignSettings.from_dict({"business_hours": ALWAYS_OPEN}), actor="t", at=NOW)
    store.save(campaign)
    yield Floor(store, runner, router, clock, str(campaign.id))
    engine.dispose()
    store.close()


def test_a_queued_chat_goes_to_the_least_loaded_member_with_the_loads_of_the_log(floor: Floor) -> None:
    ana, bruno = floor.agent("ana", capacity=2), floor.agent("bruno", capacity=4)
    first, second, third = (floor.customer_waits(n) for n in range(3))
    floor.settle()

    owners = [floor.chat(c).agent_id for c in (first, second, third)]
    # Both empty: a tie, broken by id; then the other one (0 open); then bruno, at 1/4 against ana's 1/2.
    assert owners == ([ana, bruno, bruno] if ana < bruno else [bruno, ana, bruno])
    decision = floor.decision(third)
    assert decision["basis_position"] > 0
    loads = {c["agent_id"]: c["open_chats"] for c in decision["candidates"]}
    assert loads == {ana: 1, bruno: 1}
    assert audit_routing(floor.store).clean


def test_the_queue_is_first_in_first_out_and_a_close_frees_its_agent_at_once(floor: Floor) -> None:
    ana = floor.agent("ana", capacity=1)
    chats = [floor.customer_waits(n) for n in range(4)]
    floor.settle()
    assert [floor.chat(c).status for c in chats] == ["assigned", "waiting_queue", "waiting_queue", "waiting_queue"]

    for served, following in itertools.pairwise(chats):
        chat, agent = floor.chat(served), floor.store.repository.get(UUID(ana))
        agent.release_chat(served, reason="closed", actor="t", at=floor.later())
        chat.close("agent", disposition="acuerdo_de_pago", note="", actor="t", at=floor.later())
        floor.store.save(chat, agent)
        floor.settle()
        assert floor.chat(following).agent_id == ana, "the oldest waiting chat is next, right after the close"
    report = audit_routing(floor.store)
    assert (report.checked, report.findings) == (4, [])


def test_an_agent_on_break_or_without_a_session_gets_nothing_until_available(floor: Floor) -> None:
    ana = floor.agent("ana", available=False)
    chat = floor.customer_waits(1)
    floor.settle()
    assert floor.chat(chat).status == "waiting_queue"

    agent = floor.store.repository.get(UUID(ana))
    agent.change_status("available", session_id=agent.sessions[0], actor="t", at=floor.later())
    floor.store.save(agent)
    floor.settle()
    assert floor.chat(chat).agent_id == ana


def test_the_audit_reports_a_decision_whose_loads_or_choice_the_log_contradicts(floor: Floor) -> None:
    ana, bruno = floor.agent("ana"), floor.agent("bruno")
    busy = floor.customer_waits(1)
    floor.settle()
    assert floor.chat(busy).agent_id == ana
    # A decision made on a stale view: it says ana had nothing open and gives her the chat over bruno.
    chat = Chat.open("whatsapp", "whatsapp:+573009990000", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="t", at=floor.later())
    chat.enqueue(floor.campaign, outside_hours=False, actor="t", at=floor.later())
    floor.store.save(chat)
    basis = int(floor.store.recorder.max_notification_id() or 0)
    agent = floor.store.repository.get(UUID(ana))
    agent.take_chat(str(chat.id), floor.campaign, exceptional=False, actor="t", at=floor.later())
    stale = {"policy": "least_load", "campaign_id": floor.campaign, "chosen_agent_id": ana, "basis_position": basis,
             "pass_index": 0, "candidates": [
                 {"agent_id": ana, "open_chats": 0, "capacity": 2, "last_assigned_position": None},
                 {"agent_id": bruno, "open_chats": 0, "capacity": 2, "last_assigned_position": None}]}
    chat.assign(ana, stale, exceptional=False, reason="", actor="system:router", at=floor.later())
    floor.store.save(chat, agent)

    report = audit_routing(floor.store)
    whats = [f.what for f in report.findings if f.chat_id == str(chat.id)]
    assert any(w.startswith("asesor elegido") for w in whats) and any(w.startswith("candidatos") for w in whats)
    command = CliRunner().invoke(despacho_cli, ["audit", "routing"])
    assert command.exit_code == 1 and str(chat.id) in command.output


def test_the_routing_audit_command_exits_0_when_every_decision_agrees_with_the_log(floor: Floor) -> None:
    floor.agent("ana"), floor.agent("bruno")
    for n in range(5):
        floor.customer_waits(n)
    floor.settle()

    command = CliRunner().invoke(despacho_cli, ["audit", "routing", "--campaign", "banco_a"])

    assert command.exit_code == 0, command.output
    assert "4 decisión(es) verificada(s), 0 diferencia(s)" in command.output
