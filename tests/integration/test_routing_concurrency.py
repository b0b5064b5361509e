"""R1–R3 under real concurrency: several processes dispatch the same queues on one PostgreSQL.

Each process is a full Despacho (as `despacho worker` runs it) that projects and dispatches in a
loop while another one keeps changing agents' availability and campaigns. Afterwards the event
log must show no chat assigned twice, no agent over capacity and no cross-campaign assignment.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from adapters.clock import SystemClock
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from domain.agents import Agent
from domain.chats import Chat
from tests.services import fresh_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
DISPATCHERS = 4
CHATS = 60
AGENTS = {"ana": ("a",), "bruno": ("a", "b"), "carla": ("b",), "diego": ("a", "b"), "elena": ("b",)}


def settings_for(url: str, tmp: Path) -> Settings:
    return Settings(database_url=url, var_dir=tmp)


def seed(url: str, tmp: Path) -> tuple[dict[str, str], list[str]]:
    despacho = build(settings_for(url, tmp))
    around_the_clock = {"agents_outside_hours_take_chats": True}  # the wall clock may be outside business hours
    campaigns = {code: str(despacho.campaigns.register(code, code, code, around_the_clock, actor="test"))
                 for code in ("ca", "cb")}
    agents = {}
    for login, codes in AGENTS.items():
        agent_id = despacho.staff.register(login, login.title(), "agent", password="clave-de-prueba-1", capacity=3,
                                           campaign_ids=frozenset(campaigns["c" + c] for c in codes), actor="test")
        session = despacho.staff.open_session(agent_id, "test")
        despacho.staff.change_status(agent_id, "available", session_id=session, actor="test")
        agents[login] = str(agent_id)
    chat_ids = []
    for n in range(CHATS):
        now = datetime.now(UTC)
        chat = Chat.open("whatsapp", f"whatsapp:+5730000{n:05d}", "whatsapp:+5716000001", profile_name="",
                         flow_name="default", actor="test", at=now)
        chat.enqueue(campaigns["ca" if n % 3 else "cb"], outside_hours=False, actor="test", at=now)
        despacho.store.save(chat)
        chat_ids.append(str(chat.id))
    despacho.close()
    return agents, chat_ids


def dispatcher(url: str, tmp: str, rounds: int) -> None:
    despacho = build(settings_for(url, Path(tmp)), clock=SystemClock())
    try:
        for _ in range(rounds):
            despacho.runner.catch_up()
            despacho.router.dispatch()
    finally:
        despacho.close()


def set_status(despacho: Despacho, agent_id: str, status: str) -> None:
    """Through the session the agent signed in with (in the process that set the scene)."""
    session_id = despacho.staff.get(UUID(agent_id)).sessions[0]
    despacho.staff.change_status(UUID(agent_id), status, session_id=session_id, actor="test",
                                 reason="almuerzo" if status == "break" else "")


def disturber(url: str, tmp: str, agents: dict[str, str], rounds: int) -> None:
    """Agents go on break and come back, and bruno leaves campaign b, while the dispatchers work."""
    despacho = build(settings_for(url, Path(tmp)), clock=SystemClock())
    chooser = random.Random(7)
    try:
        for n in range(rounds):
            login = chooser.choice(sorted(agents))
            set_status(despacho, agents[login], chooser.choice(("available", "break")))
            if n == rounds // 2:
                bruno = despacho.staff.get(UUID(agents["bruno"]))
                despacho.staff.edit(UUID(agents["bruno"]), name=bruno.name, role="agent", capacity=3,
                                    campaign_ids=frozenset(sorted(bruno.campaigns)[:1]), actor="test")
            despacho.runner.catch_up()
        for agent_id in agents.values():
            set_status(despacho, agent_id, "available")
    finally:
        despacho.close()


def test_concurrent_dispatchers_never_break_r1_r2_r3(tmp_path: Path) -> None:
    with fresh_postgres_database() as url:
        agents, chat_ids = seed(url, tmp_path)
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=dispatcher, args=(url, str(tmp_path), 25)) for _ in range(DISPATCHERS)]
        processes.append(context.Process(target=disturber, args=(url, str(tmp_path), agents, 30)))
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=240)
            assert process.exitcode == 0
        check_the_log(url, tmp_path, agents, chat_ids)


def check_the_log(url: str, tmp: Path, agents: dict[str, str], chat_ids: list[str]) -> None:
    despacho = build(settings_for(url, tmp))
    try:
        repository = despacho.store.repository
        chats = {chat_id: repository.get(UUID(chat_id)) for chat_id in chat_ids}
        loaded = {login: repository.get(UUID(agent_id)) for login, agent_id in agents.items()}
        holders = Counter(chat for agent in loaded.values() for chat in agent.open_chats)
        assert all(count == 1 for count in holders.values()), "R3: a chat held by two agents"
        for login, agent in loaded.items():
            assert len(agent.open_chats) <= agent.capacity, f"R2: {login} over capacity"
        assigned = [c for c in chats.values() if c.status == "assigned"]
        assert assigned, "the dispatchers assigned nothing"
        for chat in assigned:
            agent = repository.get(UUID(chat.agent_id))
            assert str(chat.id) in agent.open_chats, "chat and agent disagree"
            assert _was_member_when_assigned(despacho, chat, agent), "R1: cross-campaign assignment"
            assert _assignment_count(despacho, chat.id) == 1, "R3: assigned twice"
    finally:
        despacho.close()


def _events(despacho: object, aggregate_id: UUID) -> list[object]:
    return list(despacho.store.events.get(aggregate_id))  # type: ignore[attr-defined]


def _assignment_count(despacho: object, chat_id: UUID) -> int:
    return sum(isinstance(e, Chat.AgentAssigned) for e in _events(despacho, chat_id))


def _was_member_when_assigned(despacho: object, chat: Chat, agent: Agent) -> bool:
    campaigns: set[str] = set()
    for event in _events(despacho, agent.id):
        if isinstance(event, Agent.CampaignJoined):
            campaigns.add(event.campaign_id)
        elif isinstance(event, Agent.CampaignLeft):
            campaigns.discard(event.campaign_id)
        elif isinstance(event, Agent.ChatTaken) and event.chat_id == str(chat.id):
            return chat.campaign_id in campaigns and event.campaign_id == chat.campaign_id
    return False
