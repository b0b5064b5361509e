"""Read model of attendance: each agent's sessions, presence and simultaneous chats as intervals, and the
activity the daily counters count (chats assigned, messages sent, chats closed).

Intervals are stored in absolute time and cut into local days by the report (projections/
attendance_queries.py, domain/attendance.py), so a campaign's time zone is applied when read. Each
agent's presence, and each agent's load per campaign, is a chain of intervals numbered from 0: an
event ends the open one and starts the next at the same instant. An event stamped before the open
interval began (a clock jump between processes) starts the next one at that interval's start, so
intervals of one chain never overlap. The open interval of each chain is found by key through a head
table (its `seq`), so a batch never scans an agent's history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table

from domain.agents import Agent
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.sessions import AgentSession
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, event_key, uid
from projections.unit_of_work import Row, UnitOfWork

AGENT_MESSAGE_KINDS = ("agent", "template")
REASON_LENGTH = 80


class AttendanceProjector(BatchProjector):
    name = "attendance"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.sessions = Table(
            f"attendance_sessions{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("agent_id", String(36), nullable=False),
            Column("opened_at", UtcDateTime, nullable=False),
            Column("closed_at", UtcDateTime),
            Column("close_reason", String(20)),
            Index(f"ix_attendance_sessions_agent{suffix}", "agent_id", "opened_at"),
        )
        self.presence = Table(
            f"attendance_presence{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("seq", Integer, primary_key=True),
            Column("status", String(20), nullable=False),
            Column("reason", String(REASON_LENGTH), nullable=False),
            Column("started_at", UtcDateTime, nullable=False),
            Column("ended_at", UtcDateTime),
        )
        self.presence_heads = Table(
            f"attendance_presence_heads{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("seq", Integer, nullable=False),
        )
        self.load = Table(
            f"attendance_load{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("campaign_id", String(36), primary_key=True),
            Column("seq", Integer, primary_key=True),
            Column("open_chats", Integer, nullable=False),
            Column("started_at", UtcDateTime, nullable=False),
            Column("ended_at", UtcDateTime),
        )
        self.load_heads = Table(
            f"attendance_load_heads{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("campaign_id", String(36), primary_key=True),
            Column("seq", Integer, nullable=False),
        )
        self.activity = Table(
            f"attendance_activity{suffix}", metadata,
            Column("event_id", String(36), primary_key=True),
            Column("agent_id", String(36), nullable=False),
            Column("campaign_id", String(36), nullable=False),
            Column("chat_id", String(36), nullable=False),
            Column("kind", String(20), nullable=False),
            Column("at", UtcDateTime, nullable=False),
            Index(f"ix_attendance_activity_agent{suffix}", "agent_id", "at"),
        )
        self.held_chats = Table(
            f"attendance_held_chats{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("chat_id", String(36), primary_key=True),
            Column("campaign_id", String(36), nullable=False),
        )
        self.open_sessions = Table(
            f"attendance_signed_in{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("session_id", String(36), primary_key=True),
        )
        self.chat_campaigns = Table(
            f"attendance_chat_campaigns{suffix}", metadata,
            Column("chat_id", String(36), primary_key=True),
            Column("campaign_id", String(36), nullable=False),
        )

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        """Every row the batch's handlers look at, read by key in a few statements whatever the batch's size."""
        batch.load(self.sessions, [uid(e.originator_id) for e in events if isinstance(e, AgentSession.Closed)])
        batch.load(self.chat_campaigns, [uid(e.originator_id) for e in events if isinstance(e, Chat.Closed)])
        batch.load_groups(self.open_sessions, "agent_id", [uid(e.originator_id) for e in events
                                                           if isinstance(e, Agent.SignedIn | Agent.SignedOut)])
        released = [(uid(e.originator_id), e.chat_id) for e in events if isinstance(e, Agent.ChatReleased)]
        batch.load(self.held_chats, released)
        agents = {uid(e.originator_id) for e in events if isinstance(e, Agent.Event)}
        loads = {(uid(e.originator_id), e.campaign_id) for e in events if isinstance(e, Agent.ChatTaken)}
        loads |= {(agent, held["campaign_id"]) for agent, chat in released
                  if (held := batch.get(self.held_chats, (agent, chat))) is not None}
        self._load_open_intervals(batch, self.presence_heads, self.presence, agents)
        self._load_open_intervals(batch, self.load_heads, self.load, loads)

    @staticmethod
    def _load_open_intervals(batch: UnitOfWork, heads: Table, chain: Table, keys: Iterable[Any]) -> None:
        keys = list(keys)
        batch.load(heads, keys)
        batch.load(chain, [(*_as_tuple(key), head["seq"]) for key in keys
                           if (head := batch.get(heads, key)) is not None])

    # ---- sessions ----

    @handles(AgentSession.Opened)
    def session_opened(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.sessions, id=uid(event.originator_id), agent_id=event.agent_id, opened_at=event.at,
                     closed_at=None, close_reason=None)

    @handles(AgentSession.Closed)
    def session_closed(self, batch: UnitOfWork, event: Any) -> None:
        batch.update(self.sessions, uid(event.originator_id), closed_at=event.at, close_reason=event.reason)

    # ---- presence ----

    @handles(Agent.SignedIn)
    def signed_in(self, batch: UnitOfWork, event: Any) -> None:
        agent = uid(event.originator_id)
        for session_id in event.replaced:
            batch.delete(self.open_sessions, (agent, session_id))
        batch.insert(self.open_sessions, agent_id=agent, session_id=event.session_id)
        if event.replaced:  # the replaced device's presence does not carry over (Agent._signed_in)
            self._present(batch, agent, "offline", "", event.at)

    @handles(Agent.SignedOut)
    def signed_out(self, batch: UnitOfWork, event: Any) -> None:
        agent = uid(event.originator_id)
        batch.delete(self.open_sessions, (agent, event.session_id))
        if not batch.where(self.open_sessions, "agent_id", agent):
            self._present(batch, agent, "offline", "", event.at)

    @handles(Agent.Deactivated)
    def deactivated(self, batch: UnitOfWork, event: Any) -> None:
        """Offline at once; the sessions stay signed in until their own sign-outs, as on the aggregate."""
        self._present(batch, uid(event.originator_id), "offline", "", event.at)

    @handles(Agent.StatusChanged)
    def status_changed(self, batch: UnitOfWork, event: Any) -> None:
        self._present(batch, uid(event.originator_id), event.status, event.reason[:REASON_LENGTH], event.at)

    def _present(self, batch: UnitOfWork, agent: str, status: str, reason: str, at: datetime) -> None:
        current = self._open_interval(batch, self.presence_heads, self.presence, agent)
        unchanged = (current["status"], current["reason"]) == (status, reason) if current is not None \
            else status == "offline"
        if not unchanged:
            start = self._end(batch, self.presence, current, at)
            self._start(batch, self.presence_heads, self.presence, current, agent_id=agent, status=status,
                        reason=reason, started_at=start)

    # ---- chats held and activity ----

    @handles(Agent.ChatTaken)
    def chat_taken(self, batch: UnitOfWork, event: Any) -> None:
        agent = uid(event.originator_id)
        batch.insert(self.held_chats, agent_id=agent, chat_id=event.chat_id, campaign_id=event.campaign_id)
        self._step_load(batch, agent, event.campaign_id, +1, event.at)
        self._record(batch, event, agent, event.campaign_id, event.chat_id, "assigned")

    @handles(Agent.ChatReleased)
    def chat_released(self, batch: UnitOfWork, event: Any) -> None:
        agent = uid(event.originator_id)
        held = batch.get(self.held_chats, (agent, event.chat_id))
        if held is not None:
            batch.delete(self.held_chats, (agent, event.chat_id))
            self._step_load(batch, agent, held["campaign_id"], -1, event.at)

    def _step_load(self, batch: UnitOfWork, agent: str, campaign_id: str, change: int, at: datetime) -> None:
        current = self._open_interval(batch, self.load_heads, self.load, (agent, campaign_id))
        start = self._end(batch, self.load, current, at)
        self._start(batch, self.load_heads, self.load, current, agent_id=agent, campaign_id=campaign_id,
                    open_chats=max((current["open_chats"] if current is not None else 0) + change, 0),
                    started_at=start)

    @handles(Chat.Queued, Chat.TransferredToCampaign)
    def chat_queued(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.chat_campaigns, chat_id=uid(event.originator_id), campaign_id=event.campaign_id)

    @handles(Chat.Closed)
    def chat_closed(self, batch: UnitOfWork, event: Any) -> None:
        kind, _, user_id = event.actor.partition(":")
        chat = uid(event.originator_id)
        queued = batch.get(self.chat_campaigns, chat)
        if kind == "user" and queued is not None:
            self._record(batch, event, user_id, queued["campaign_id"], chat, "closed")

    @handles(OutboundMessage.Requested)
    def message_requested(self, batch: UnitOfWork, event: Any) -> None:
        if event.agent_id and event.kind in AGENT_MESSAGE_KINDS:
            self._record(batch, event, event.agent_id, event.campaign_id, event.chat_id, "message")

    def _record(self, batch: UnitOfWork, event: Any, agent: str, campaign_id: str, chat_id: str, kind: str) -> None:
        batch.insert(self.activity, event_id=event_key(event), agent_id=agent, campaign_id=campaign_id,
                     chat_id=chat_id, kind=kind, at=event.at)

    # ---- chains of intervals ----

    @staticmethod
    def _open_interval(batch: UnitOfWork, heads: Table, chain: Table, key: Any) -> Row | None:
        head = batch.get(heads, key)
        return None if head is None else batch.get(chain, (*_as_tuple(key), head["seq"]))

    @staticmethod
    def _end(batch: UnitOfWork, chain: Table, current: Row | None, at: datetime) -> datetime:
        """End the open interval at `at` (never before it started); the next one starts there."""
        if current is None:
            return at
        start: datetime = max(at, current["started_at"])
        key = tuple(current[c.name] for c in chain.primary_key.columns)
        batch.update(chain, key, ended_at=start)
        return start

    @staticmethod
    def _start(batch: UnitOfWork, heads: Table, chain: Table, current: Row | None, **values: Any) -> None:
        seq = 0 if current is None else current["seq"] + 1
        batch.insert(chain, **values, seq=seq, ended_at=None)
        batch.replace(heads, **{c.name: values[c.name] for c in heads.primary_key.columns}, seq=seq)


def _as_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)
