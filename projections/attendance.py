"""Read model of attendance: each agent's sessions, presence and simultaneous chats as intervals, and the
activity the daily counters count (chats assigned, messages sent, chats closed).

Intervals are stored in absolute time and cut into local days by the report (projections/
attendance_queries.py, domain/attendance.py), so a campaign's time zone is applied when read. Each
agent's presence, and each agent's load per campaign, is a chain of intervals numbered from 0: an
event ends the open one and starts the next at the same instant. An event stamped before the open
interval began (a clock jump between processes) starts the next one at that interval's start, so
intervals of one chain never overlap. Statements are built once; activity rows are written per batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from domain.agents import Agent
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.sessions import AgentSession
from projections.base import Projector, handles
from projections.sql import UtcDateTime, event_key, uid

AGENT_MESSAGE_KINDS = ("agent", "template")
REASON_LENGTH = 80


class AttendanceProjector(Projector):
    name = "attendance"

    def __init__(self, suffix: str = "") -> None:
        super().__init__(suffix)
        self._activity_rows: list[dict[str, Any]] = []
        self._build_statements()

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
        self.load = Table(
            f"attendance_load{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("campaign_id", String(36), primary_key=True),
            Column("seq", Integer, primary_key=True),
            Column("open_chats", Integer, nullable=False),
            Column("started_at", UtcDateTime, nullable=False),
            Column("ended_at", UtcDateTime),
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

    def _build_statements(self) -> None:
        self._insert_sessions, self._insert_presence, self._insert_load = (
            insert(self.sessions), insert(self.presence), insert(self.load))
        self._insert_activity, self._insert_held_chats = insert(self.activity), insert(self.held_chats)
        self._insert_open_sessions = insert(self.open_sessions)
        self._insert_chat_campaigns = insert(self.chat_campaigns)
        presence, load, held, signed_in = self.presence, self.load, self.held_chats, self.open_sessions
        self._open_presence = select(presence.c.seq, presence.c.status, presence.c.reason, presence.c.started_at) \
            .where(presence.c.agent_id == bindparam("agent"), presence.c.ended_at.is_(None))
        self._end_presence = update(presence).where(presence.c.agent_id == bindparam("agent"),
                                                    presence.c.seq == bindparam("open_seq")) \
            .values(ended_at=bindparam("at"))
        self._open_load = select(load.c.seq, load.c.open_chats, load.c.started_at).where(
            load.c.agent_id == bindparam("agent"), load.c.campaign_id == bindparam("campaign"),
            load.c.ended_at.is_(None))
        self._end_load = update(load).where(load.c.agent_id == bindparam("agent"),
                                            load.c.campaign_id == bindparam("campaign"),
                                            load.c.seq == bindparam("open_seq")).values(ended_at=bindparam("at"))
        self._close_session = update(self.sessions).where(self.sessions.c.id == bindparam("session")) \
            .values(closed_at=bindparam("at"), close_reason=bindparam("reason"))
        self._held_campaign = select(held.c.campaign_id).where(held.c.agent_id == bindparam("agent"),
                                                               held.c.chat_id == bindparam("chat"))
        self._release = delete(held).where(held.c.agent_id == bindparam("agent"), held.c.chat_id == bindparam("chat"))
        self._sign_out = delete(signed_in).where(signed_in.c.agent_id == bindparam("agent"),
                                                 signed_in.c.session_id == bindparam("session"))
        self._sessions_left = select(func.count()).select_from(signed_in).where(
            signed_in.c.agent_id == bindparam("agent"))
        self._chat_campaign = select(self.chat_campaigns.c.campaign_id).where(
            self.chat_campaigns.c.chat_id == bindparam("chat"))
        self._forget_chat_campaign = delete(self.chat_campaigns).where(
            self.chat_campaigns.c.chat_id == bindparam("chat"))

    # ---- sessions ----

    @handles(AgentSession.Opened)
    def session_opened(self, connection: Connection, event: Any) -> None:
        connection.execute(self._insert_sessions, {"id": uid(event.originator_id), "agent_id": event.agent_id,
                                                   "opened_at": event.at, "closed_at": None, "close_reason": None})

    @handles(AgentSession.Closed)
    def session_closed(self, connection: Connection, event: Any) -> None:
        connection.execute(self._close_session, {"session": uid(event.originator_id), "at": event.at,
                                                 "reason": event.reason})

    # ---- presence ----

    @handles(Agent.SignedIn)
    def signed_in(self, connection: Connection, event: Any) -> None:
        agent = uid(event.originator_id)
        for session_id in event.replaced:
            connection.execute(self._sign_out, {"agent": agent, "session": session_id})
        connection.execute(self._insert_open_sessions, {"agent_id": agent, "session_id": event.session_id})
        if event.replaced:  # the replaced device's presence does not carry over (Agent._signed_in)
            self._present(connection, agent, "offline", "", event.at)

    @handles(Agent.SignedOut)
    def signed_out(self, connection: Connection, event: Any) -> None:
        agent = uid(event.originator_id)
        connection.execute(self._sign_out, {"agent": agent, "session": event.session_id})
        if not connection.execute(self._sessions_left, {"agent": agent}).scalar_one():
            self._present(connection, agent, "offline", "", event.at)

    @handles(Agent.Deactivated)
    def deactivated(self, connection: Connection, event: Any) -> None:
        """Offline at once; the sessions stay signed in until their own sign-outs, as on the aggregate."""
        self._present(connection, uid(event.originator_id), "offline", "", event.at)

    @handles(Agent.StatusChanged)
    def status_changed(self, connection: Connection, event: Any) -> None:
        self._present(connection, uid(event.originator_id), event.status, event.reason[:REASON_LENGTH], event.at)

    def _present(self, connection: Connection, agent: str, status: str, reason: str, at: datetime) -> None:
        current = connection.execute(self._open_presence, {"agent": agent}).first()
        unchanged = (current.status, current.reason) == (status, reason) if current is not None \
            else status == "offline"
        if unchanged:
            return
        start = at if current is None else max(at, current.started_at)
        if current is not None:
            connection.execute(self._end_presence, {"agent": agent, "open_seq": current.seq, "at": start})
        connection.execute(self._insert_presence, {
            "agent_id": agent, "seq": 0 if current is None else current.seq + 1, "status": status,
            "reason": reason, "started_at": start, "ended_at": None})

    # ---- chats held and activity ----

    @handles(Agent.ChatTaken)
    def chat_taken(self, connection: Connection, event: Any) -> None:
        agent = uid(event.originator_id)
        connection.execute(self._insert_held_chats, {"agent_id": agent, "chat_id": event.chat_id,
                                                     "campaign_id": event.campaign_id})
        self._step_load(connection, agent, event.campaign_id, +1, event.at)
        self._record(event, agent, event.campaign_id, event.chat_id, "assigned")

    @handles(Agent.ChatReleased)
    def chat_released(self, connection: Connection, event: Any) -> None:
        agent = uid(event.originator_id)
        keys = {"agent": agent, "chat": event.chat_id}
        campaign_id = connection.execute(self._held_campaign, keys).scalar()
        if campaign_id is not None:
            connection.execute(self._release, keys)
            self._step_load(connection, agent, campaign_id, -1, event.at)

    def _step_load(self, connection: Connection, agent: str, campaign_id: str, change: int, at: datetime) -> None:
        keys = {"agent": agent, "campaign": campaign_id}
        current = connection.execute(self._open_load, keys).first()
        start = at if current is None else max(at, current.started_at)
        if current is not None:
            connection.execute(self._end_load, {**keys, "open_seq": current.seq, "at": start})
        connection.execute(self._insert_load, {
            "agent_id": agent, "campaign_id": campaign_id, "seq": 0 if current is None else current.seq + 1,
            "open_chats": max((current.open_chats if current is not None else 0) + change, 0),
            "started_at": start, "ended_at": None})

    @handles(Chat.Queued)
    def chat_queued(self, connection: Connection, event: Any) -> None:
        chat = uid(event.originator_id)
        connection.execute(self._forget_chat_campaign, {"chat": chat})
        connection.execute(self._insert_chat_campaigns, {"chat_id": chat, "campaign_id": event.campaign_id})

    @handles(Chat.Closed)
    def chat_closed(self, connection: Connection, event: Any) -> None:
        kind, _, user_id = event.actor.partition(":")
        chat = uid(event.originator_id)
        campaign_id = connection.execute(self._chat_campaign, {"chat": chat}).scalar()
        if kind == "user" and campaign_id is not None:
            self._record(event, user_id, campaign_id, chat, "closed")

    @handles(OutboundMessage.Requested)
    def message_requested(self, connection: Connection, event: Any) -> None:
        if event.agent_id and event.kind in AGENT_MESSAGE_KINDS:
            self._record(event, event.agent_id, event.campaign_id, event.chat_id, "message")

    def _record(self, event: Any, agent: str, campaign_id: str, chat_id: str, kind: str) -> None:
        self._activity_rows.append({"event_id": event_key(event), "agent_id": agent, "campaign_id": campaign_id,
                                    "chat_id": chat_id, "kind": kind, "at": event.at})

    def before_commit(self, connection: Connection) -> None:
        if self._activity_rows:
            connection.execute(self._insert_activity, self._activity_rows)
        self._activity_rows = []

    def discard_batch(self) -> None:
        self._activity_rows = []
