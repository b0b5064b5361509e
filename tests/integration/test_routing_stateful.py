"""The routing rules (R1–R4) as a hypothesis state machine over the real application, on SQLite and
PostgreSQL: chats reach queues, agents change status and campaigns, close chats, supervisors
reassign, an admin moves chats to the other campaign (both hold the customer), and the router dispatches on read
tables that may lag. The aggregates must hold."""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from adapters.clock import FixedClock
from adapters.twilio_transport import FakeTransport
from despacho.bootstrap import build
from despacho.settings import Settings
from domain.chats import Chat
from domain.common import DomainError
from tests.conftest import START
from tests.services import fresh_postgres_database

CAMPAIGNS = ("ca", "cb")
AGENTS = {"ana": ("ca",), "bruno": ("ca", "cb"), "carla": ("cb",)}
DOCUMENT = "1020304050"
PORTFOLIO = f"documento;tipo_documento;nombres;celular\n{DOCUMENT};CC;María Pérez;3001112233\n".encode()


def machine_for(backend: str) -> type[RuleBasedStateMachine]:
    class RoutingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.resources = contextlib.ExitStack()
            tmp = Path(self.resources.enter_context(tempfile.TemporaryDirectory()))
            url = self.resources.enter_context(fresh_postgres_database()) if backend == "postgres" else None
            self.clock = FixedClock(START)
            self.despacho = build(Settings(var_dir=tmp, database_url=url), clock=self.clock, transport=FakeTransport())
            self.campaigns = {c: str(self.despacho.campaigns.register(c, c, c, {}, actor="t")) for c in CAMPAIGNS}
            self.agents = {}
            self.sessions = {}
            for login, codes in AGENTS.items():
                agent_id = self.despacho.staff.register(login, login, "agent", password="clave-de-prueba-1",
                                                        capacity=2, actor="t",
                                                        campaign_ids=frozenset(self.campaigns[c] for c in codes))
                self.sessions[login] = self.despacho.staff.open_session(agent_id, "t")
                self.agents[login] = agent_id
            self.chats: list[str] = []
            self.status = dict.fromkeys(AGENTS, "offline")
            for campaign_id in self.campaigns.values():
                self.despacho.portfolios.import_file(UUID(campaign_id), PORTFOLIO, "cartera.csv", actor="t")
            self.admin = str(self.despacho.staff.register("admin", "admin", "admin", password="clave-de-prueba-1",
                                                          actor="t"))
            self.despacho.runner.catch_up()

        def teardown(self) -> None:
            self.despacho.close()
            self.resources.close()

        @rule(campaign=st.sampled_from(CAMPAIGNS))
        def a_chat_reaches_the_queue(self, campaign: str) -> None:
            now = self.clock.now()
            chat = Chat.open("whatsapp", f"whatsapp:+5730000{len(self.chats):05d}", "whatsapp:+5716000001",
                             profile_name="", flow_name="default", actor="t", at=now)
            chat.identify(self.campaigns[campaign], "CC", DOCUMENT, actor="t", at=now)
            chat.enqueue(self.campaigns[campaign], outside_hours=False, actor="t", at=now)
            self.despacho.store.save(chat)
            self.chats.append(str(chat.id))

        @rule(login=st.sampled_from(sorted(AGENTS)), status=st.sampled_from(("available", "break", "offline")))
        def an_agent_changes_status(self, login: str, status: str) -> None:
            self.despacho.staff.change_status(self.agents[login], status, session_id=self.sessions[login],
                                              reason="reunión" if status == "break" else "", actor="t")
            self.status[login] = status

        @rule(login=st.sampled_from(sorted(AGENTS)), campaigns=st.sets(st.sampled_from(CAMPAIGNS)))
        def an_admin_changes_an_agents_campaigns(self, login: str, campaigns: set[str]) -> None:
            agent = self.despacho.staff.get(self.agents[login])
            self.despacho.staff.edit(self.agents[login], name=agent.name, role="agent", capacity=agent.capacity,
                                     campaign_ids=frozenset(self.campaigns[c] for c in campaigns), actor="t")

        @rule(project=st.booleans())
        def the_router_dispatches(self, project: bool) -> None:
            if project:  # otherwise it decides on stale read tables, as a busy worker may
                self.despacho.runner.catch_up()
            self.despacho.router.dispatch()

        @precondition(lambda self: bool(self.chats))
        @rule(data=st.data())
        def a_chat_is_closed(self, data: st.DataObject) -> None:
            chat_id = data.draw(st.sampled_from(self.chats))
            with contextlib.suppress(DomainError):
                self.despacho.closing.close(chat_id, "supervisor", disposition="informacion_entregada",
                                            note="fin", actor="t")

        @precondition(lambda self: bool(self.chats))
        @rule(data=st.data(), login=st.sampled_from(sorted(AGENTS)), exception=st.booleans(), project=st.booleans())
        def a_supervisor_reassigns(self, data: st.DataObject, login: str, exception: bool, project: bool) -> None:
            chat_id = data.draw(st.sampled_from(self.chats))
            if project:  # otherwise the supervisor's page (and the check) may be a moment stale
                self.despacho.runner.catch_up()
            try:
                self.despacho.router.reassign(chat_id, str(self.agents[login]), reason="carga", actor="t",
                                              to_unavailable=exception)
            except DomainError:
                return
            assert exception or self.status[login] == "available", \
                "R17: a chat reassigned to an agent on a break or offline without the explicit exception"
            chat = self.despacho.store.repository.get(UUID(chat_id))
            assert chat.agent_id == str(self.agents[login])

        @precondition(lambda self: bool(self.chats))
        @rule(data=st.data())
        def an_admin_moves_a_chat_to_the_other_campaign(self, data: st.DataObject) -> None:
            chat_id = data.draw(st.sampled_from(self.chats))
            before = self.despacho.store.repository.get(UUID(chat_id))
            target = next(c for c in self.campaigns.values() if c != before.campaign_id)
            try:
                self.despacho.transfers.transfer(chat_id, target, reason="el cliente lo pide", user_id=self.admin)
            except DomainError:
                assert before.status not in ("waiting_queue", "assigned"), "a live chat held by both is movable"
                return
            chat = self.despacho.store.repository.get(UUID(chat_id))
            assert (chat.status, chat.campaign_id, chat.agent_id) == ("waiting_queue", target, "")

        @invariant()
        def rules_hold(self) -> None:
            repository = self.despacho.store.repository
            agents = {login: repository.get(agent_id) for login, agent_id in self.agents.items()}
            held = Counter(chat for agent in agents.values() for chat in agent.open_chats)
            assert all(n == 1 for n in held.values()), "R3: a chat held by two agents"
            for agent in agents.values():
                assert len(agent.open_chats) <= agent.capacity, "R2: over capacity"
            for chat_id in self.chats:
                chat = repository.get(UUID(chat_id))
                if chat.status == "assigned":
                    agent = repository.get(UUID(chat.agent_id))
                    assert chat_id in agent.open_chats, "chat and agent disagree"
                else:
                    assert chat_id not in held, "a closed or waiting chat still counts against an agent"

    return RoutingMachine


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_routing_rules_hold_in_the_application(backend: str) -> None:
    machine = machine_for(backend)
    machine.TestCase.settings = settings(max_examples=12, stateful_step_count=25, deadline=None)
    machine.TestCase().runTest()
