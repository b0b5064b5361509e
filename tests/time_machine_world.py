"""A campaign floor for the time machine's tests, on a controlled clock.

banco_a has ana (capacity 2) and carla (capacity 3), available, and bruno, on a lunch break. Earlier chats leave ana
with 1 open chat and carla with 2. At `before` two more chats wait in the queue (routing has not run yet); at `after`
routing has given the first to ana (½ against carla's ⅔, least load) and the second to carla (ana was then full).
Aggregates are saved straight to the store, and the runner plays the routing follower when told to `settle`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from domain.agents import Agent
from domain.chats import Chat
from domain.sessions import AgentSession

ALWAYS_OPEN = {day: ["00:00", "23:59"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
phones = (f"whatsapp:+57300{n:07d}" for n in itertools.count(2000001))


@dataclass
class Floor:
    despacho: Despacho
    clock: FixedClock
    campaign: str
    sessions: dict[str, str]

    def later(self, seconds: int = 1) -> datetime:
        self.clock.advance(timedelta(seconds=seconds))
        return self.clock.now()

    def settle(self) -> None:
        self.despacho.runner.catch_up(hand_out_work=False)

    def agent(self, login: str, capacity: int, status: str = "available", reason: str = "") -> str:
        agent = Agent.register(login, login.title(), "agent", capacity, actor="test", at=self.later())
        agent.join_campaign(self.campaign, actor="test", at=self.later())
        session = AgentSession.open(str(agent.id), client="test", actor="test", at=self.later())
        agent.sign_in(str(session.id), allow_parallel=False, actor="test", at=self.later())
        agent.change_status(status, reason=reason, session_id=str(session.id), actor="test", at=self.later())
        self.despacho.store.save(agent, session)
        self.sessions[str(agent.id)] = str(session.id)
        return str(agent.id)

    def change_status(self, agent_id: str, status: str, reason: str = "") -> None:
        agent = self._agent(agent_id)
        agent.change_status(status, reason=reason, session_id=self.sessions[agent_id], actor="test", at=self.later())
        self.despacho.store.save(agent)

    def sign_out(self, agent_id: str) -> None:
        agent = self._agent(agent_id)
        agent.sign_out(self.sessions[agent_id], reason="logout", actor="test", at=self.later())
        self.despacho.store.save(agent)

    def sign_in(self, agent_id: str) -> None:
        agent = self._agent(agent_id)
        session = AgentSession.open(agent_id, client="test", actor="test", at=self.later())
        agent.sign_in(str(session.id), allow_parallel=False, actor="test", at=self.later())
        self.despacho.store.save(agent, session)
        self.sessions[agent_id] = str(session.id)

    def customer_waits(self) -> str:
        chat = Chat.open("whatsapp", next(phones), "whatsapp:+5716000001", profile_name="", flow_name="default",
                         actor="test", at=self.later())
        chat.receive_customer_message(f"SM{chat.id.hex}", "Hola", [], actor="test", at=self.later())
        chat.enqueue(self.campaign, outside_hours=False, actor="test", at=self.later())
        self.despacho.store.save(chat)
        return str(chat.id)

    def _agent(self, agent_id: str) -> Agent:
        agent: Agent = self.despacho.store.repository.get(UUID(agent_id))
        return agent


@dataclass(frozen=True)
class TwoWaitingThenAssigned:
    floor: Floor
    ana: str
    carla: str
    bruno: str
    first: str
    second: str
    before: datetime
    after: datetime


def open_floor(despacho: Despacho, clock: FixedClock) -> Floor:
    campaign = despacho.campaigns.register("banco_a", "Banco Andino cobranza", "Banco Andino",
                                           {"business_hours": ALWAYS_OPEN}, actor="test")
    return Floor(despacho, clock, str(campaign), {})


def two_waiting_then_assigned(despacho: Despacho, clock: FixedClock) -> TwoWaitingThenAssigned:
    floor = open_floor(despacho, clock)
    ana = floor.agent("ana", capacity=2)
    floor.customer_waits()
    floor.settle()  # ana 1/2
    carla = floor.agent("carla", capacity=3)
    floor.customer_waits()
    floor.customer_waits()
    floor.settle()  # carla 0/3 then 1/3 against ana's 1/2: carla takes both, 2/3
    bruno = floor.agent("bruno", capacity=2, status="break", reason="almuerzo")
    floor.settle()
    first, second = floor.customer_waits(), floor.customer_waits()
    before = floor.later(5)
    after = floor.later(60)
    floor.settle()  # routing runs now, at `after`
    return TwoWaitingThenAssigned(floor, ana, carla, bruno, first, second, before, after)
