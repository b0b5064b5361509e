"""R13/R18 for browser sessions, judged by the injected clock (R15): a session answers only while it is
open and has been used within the idle limit; once logged out or expired it never answers again."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapters.clock import FixedClock
from application.staff import StaffService
from application.store import EventStore
from domain.sessions import AgentSession
from tests.conftest import START

IDLE = timedelta(hours=8)


class PlainPasswords:
    """Hashing is not what these rules are about; the real argon2 adapter has its own tests."""

    def hash(self, password: str) -> str:
        return "plain:" + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "plain:" + password


def signed_in() -> tuple[StaffService, FixedClock, str, AgentSession]:
    clock = FixedClock(START)
    staff = StaffService(EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}), clock, PlainPasswords(),
                         session_idle=IDLE)
    agent_id = staff.register("ana", "Ana", "agent", password="clave-de-prueba-1", actor="t")
    session_id = staff.open_session(agent_id, "navegador")
    session: AgentSession = staff.store.repository.get(session_id)
    return staff, clock, str(agent_id), session


# Gaps between two uses of the session: surely within the limit (given the recording resolution), or past it.
within = st.integers(0, int((IDLE - IDLE / 10).total_seconds() // 60)).map(lambda m: ("within", timedelta(minutes=m)))
past = st.integers(int(IDLE.total_seconds() // 60) + 1, 3 * 24 * 60).map(lambda m: ("past", timedelta(minutes=m)))


@given(gaps=st.lists(st.one_of(within, past), min_size=1, max_size=30))
def test_a_session_answers_until_one_gap_exceeds_the_idle_limit_and_never_after(
        gaps: list[tuple[str, timedelta]]) -> None:
    staff, clock, agent_id, session = signed_in()
    expired = False
    last_answered = clock.now()
    for kind, gap in gaps:
        clock.advance(gap)
        expired = expired or kind == "past"
        answered = staff.session_identity(session.id, agent_id) is not None
        assert answered is not expired
        if answered:
            last_answered = clock.now()
    closed: AgentSession = staff.store.repository.get(session.id)
    assert closed.is_open is not expired
    if expired:
        assert closed.close_reason == "expired"
        # Closed at the agent's last recorded activity, not when the expiry was noticed.
        assert last_answered - staff.activity_resolution <= closed.closed_at <= last_answered


@given(before=st.integers(0, 8 * 60), after=st.integers(0, 8 * 60))
def test_a_logged_out_session_never_answers_again(before: int, after: int) -> None:
    staff, clock, agent_id, session = signed_in()
    clock.advance(timedelta(minutes=before))
    staff.close_session(session.id, "logout", actor=f"user:{agent_id}")
    clock.advance(timedelta(minutes=after))

    assert staff.session_identity(session.id, agent_id) is None


def test_a_session_answers_only_for_its_own_agent() -> None:
    staff, _, agent_id, session = signed_in()
    other = str(staff.register("bruno", "Bruno", "agent", password="clave-de-prueba-2", actor="t"))

    assert staff.session_identity(session.id, other) is None
    assert staff.session_identity(session.id, agent_id) is not None
