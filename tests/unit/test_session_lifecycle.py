"""R13, R17, R18 under any timeline (hypothesis): an agent logs in on several devices, keeps tabs open (heartbeats),
closes them, changes status, logs out, is terminated by an admin, expires while the clock jumps.

Whatever happens, the agent is never available (nor on a break) without an open session, a closed session never
acts again (its cookie is refused and its commands too), nothing is attributed to a session outside its open
interval, and there is at most one open session unless the agent's campaign allows parallel ones.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from adapters.clock import FixedClock
from application.staff import StaffService
from application.store import EventStore
from domain.agents import Agent
from domain.campaigns import Campaign, CampaignSettings
from domain.common import DomainError
from domain.sessions import AgentSession
from tests.conftest import START
from tests.unit.test_session_rules import PlainPasswords

DEVICES = ("pc", "portátil", "celular")
IDLE_MINUTES = 30


def lifecycle(parallel: bool) -> type[RuleBasedStateMachine]:
    class AgentSessions(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = FixedClock(START)
            self.store = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
            self.staff = StaffService(self.store, self.clock, PlainPasswords(), session_idle=timedelta(hours=8))
            campaign = Campaign.register("banco_a", "Banco A", "Banco A", CampaignSettings(
                session_idle_minutes=IDLE_MINUTES, allow_parallel_sessions=parallel), actor="t", at=self.clock.now())
            self.store.save(campaign)
            self.agent_id = self.staff.register("ana", "Ana", "agent", password="clave-de-prueba-1", actor="t",
                                                campaign_ids=frozenset({str(campaign.id)}))
            self.cookies: dict[str, UUID] = {}
            """The session cookie each device's browser holds (its tabs share it)."""
            self.sessions: set[UUID] = set()

        # ---- what the agent and the admin do ----

        @rule(device=st.sampled_from(DEVICES))
        def log_in(self, device: str) -> None:
            session_id = self.staff.open_session(self.agent_id, device)
            self.cookies[device] = session_id
            self.sessions.add(session_id)

        @precondition(lambda self: bool(self.cookies))
        @rule(data=st.data())
        def a_tab_sends_its_heartbeat(self, data: st.DataObject) -> None:
            device = data.draw(st.sampled_from(sorted(self.cookies)))
            answered = self.staff.session_identity(self.cookies[device], str(self.agent_id)) is not None
            assert answered is self.session(self.cookies[device]).is_open

        @precondition(lambda self: bool(self.cookies))
        @rule(data=st.data())
        def the_last_tab_of_a_device_is_closed(self, data: st.DataObject) -> None:
            del self.cookies[data.draw(st.sampled_from(sorted(self.cookies)))]

        @precondition(lambda self: bool(self.cookies))
        @rule(data=st.data(), status=st.sampled_from(("available", "break", "offline")))
        def the_agent_changes_status(self, data: st.DataObject, status: str) -> None:
            session_id = self.cookies[data.draw(st.sampled_from(sorted(self.cookies)))]
            open_before = self.session(session_id).is_open and not self.session(session_id).is_idle(
                self.clock.now(), timedelta(minutes=IDLE_MINUTES))
            try:
                self.staff.change_status(self.agent_id, status, session_id=session_id, actor="user:ana",
                                         reason="almuerzo" if status == "break" else "")
            except DomainError:
                assert not open_before, "a command through an open, active session was refused"
                return
            assert open_before, "a command went through a closed or idle session"
            assert self.session(session_id).last_active_at == self.clock.now()

        @precondition(lambda self: bool(self.cookies))
        @rule(data=st.data())
        def the_agent_logs_out(self, data: st.DataObject) -> None:
            device = data.draw(st.sampled_from(sorted(self.cookies)))
            self.staff.close_session(self.cookies.pop(device), "logout", actor="user:ana")

        @rule()
        def an_admin_terminates_the_sessions(self) -> None:
            self.staff.terminate_sessions(self.agent_id, actor="user:admin")

        @rule(minutes=st.integers(0, 3 * IDLE_MINUTES))
        def the_clock_moves_on(self, minutes: int) -> None:
            self.clock.advance(timedelta(minutes=minutes))

        @rule()
        def the_idle_session_job_runs(self) -> None:
            for session_id in sorted(self.sessions):
                expired = self.staff.close_idle_session(session_id)
                if expired:
                    closed = self.session(session_id)
                    assert closed.close_reason == "expired" and closed.closed_at == closed.last_active_at

        # ---- what must always hold ----

        def session(self, session_id: UUID) -> AgentSession:
            found: AgentSession = self.store.repository.get(session_id)
            return found

        def agent(self) -> Agent:
            return self.staff.get(self.agent_id)

        @invariant()
        def the_agent_is_signed_in_exactly_through_the_open_sessions(self) -> None:
            open_ids = {str(s) for s in self.sessions if self.session(s).is_open}
            assert set(self.agent().sessions) == open_ids

        @invariant()
        def never_available_nor_on_a_break_without_an_open_session(self) -> None:
            agent = self.agent()
            assert agent.status == "offline" or agent.sessions

        @invariant()
        def at_most_one_open_session_unless_parallel_allowed(self) -> None:
            assert parallel or len(self.agent().sessions) <= 1

        @invariant()
        def a_closed_session_never_acts_again(self) -> None:
            for session_id in self.sessions:
                if not self.session(session_id).is_open:
                    assert self.staff.session_identity(session_id, str(self.agent_id)) is None

        @invariant()
        def nothing_is_attributed_to_a_session_outside_its_open_interval(self) -> None:
            for event in self.store.events.get(self.agent_id):
                if isinstance(event, Agent.StatusChanged) and event.session_id:
                    session = self.session(UUID(event.session_id))
                    assert session.opened_at <= event.at
                    assert session.closed_at is None or event.at <= session.closed_at
            for session_id in self.sessions:
                closed = self.session(session_id)
                assert closed.closed_at is None or closed.opened_at <= closed.closed_at <= self.clock.now()

    AgentSessions.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
    return AgentSessions


TestOneSessionAtATime = lifecycle(parallel=False).TestCase
TestParallelSessionsAllowed = lifecycle(parallel=True).TestCase
