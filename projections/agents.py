"""Read model of staff, their campaigns (with history), load, and working sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from domain.agents import Agent
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.sessions import AgentSession
from projections.base import Projector, handles
from projections.sql import UtcDateTime, event_key, uid, upsert


class AgentsProjector(Projector):
    name = "agents"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.agents = Table(
            f"agents{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("login", String(40), nullable=False, unique=True),
            Column("name", String(120), nullable=False),
            Column("role", String(20), nullable=False, index=True),
            Column("capacity", Integer, nullable=False),
            Column("active", Boolean, nullable=False),
            Column("status", String(20), nullable=False),
            Column("status_since", UtcDateTime, nullable=False),
            Column("status_reason", String(40), nullable=False),
            Column("open_sessions", Integer, nullable=False),
            Column("signed_out_at", UtcDateTime),
            Column("open_chats", Integer, nullable=False),
            Column("last_assigned_at", UtcDateTime),
            Column("current_session_id", String(36)),
            Column("created_at", UtcDateTime, nullable=False),
        )
        self.memberships = Table(
            f"agent_campaigns{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("campaign_id", String(36), primary_key=True),
            Column("joined_at", UtcDateTime, nullable=False),
            Index(f"ix_agent_campaigns_campaign{suffix}", "campaign_id", "agent_id"),
        )
        self.history = Table(
            f"agent_campaign_history{suffix}", metadata,
            Column("event_id", String(36), primary_key=True),
            Column("agent_id", String(36), nullable=False, index=True),
            Column("campaign_id", String(36), nullable=False, index=True),
            Column("change", String(10), nullable=False),
            Column("actor", String(80), nullable=False),
            Column("at", UtcDateTime, nullable=False),
        )
        self.sessions = Table(
            f"agent_sessions{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("agent_id", String(36), nullable=False, index=True),
            Column("opened_at", UtcDateTime, nullable=False, index=True),
            Column("closed_at", UtcDateTime),
            Column("close_reason", String(20)),
            Column("client", String(200), nullable=False),
            Column("chats_assigned", Integer, nullable=False),
            Column("chats_closed", Integer, nullable=False),
            Column("messages_sent", Integer, nullable=False),
        )

    def _agent(self, connection: Connection, event: Any, **values: Any) -> None:
        connection.execute(update(self.agents).where(self.agents.c.id == uid(event.originator_id))
                                 .values(**values))
        self.touch("agents")

    @handles(Agent.Registered)
    def registered(self, connection: Connection, event: Any) -> None:
        upsert(connection, self.agents, [{
            "id": uid(event.originator_id), "login": event.login, "name": event.name, "role": event.role,
            "capacity": event.capacity, "active": True, "status": "offline", "status_since": event.at,
            "status_reason": "", "open_sessions": 0, "signed_out_at": None,
            "open_chats": 0, "last_assigned_at": None, "current_session_id": None, "created_at": event.at,
        }], ["id"])
        self.touch("agents")

    @handles(Agent.ProfileEdited)
    def profile_edited(self, connection: Connection, event: Any) -> None:
        self._agent(connection, event, name=event.name, role=event.role, capacity=event.capacity)

    @handles(Agent.Deactivated)
    def deactivated(self, connection: Connection, event: Any) -> None:
        self._agent(connection, event, active=False)
        self._presence(connection, event, "offline", "")

    @handles(Agent.Reactivated)
    def reactivated(self, connection: Connection, event: Any) -> None:
        self._agent(connection, event, active=True)

    @handles(Agent.StatusChanged)
    def status_changed(self, connection: Connection, event: Any) -> None:
        self._presence(connection, event, event.status, event.reason)

    @handles(Agent.SignedIn)
    def signed_in(self, connection: Connection, event: Any) -> None:
        agents = self.agents.c
        self._agent(connection, event, open_sessions=agents.open_sessions - len(event.replaced) + 1,
                    signed_out_at=None)
        if event.replaced:  # the new device starts offline, as the aggregate does
            self._presence(connection, event, "offline", "")

    @handles(Agent.SignedOut)
    def signed_out(self, connection: Connection, event: Any) -> None:
        agents = self.agents.c
        self._agent(connection, event, open_sessions=agents.open_sessions - 1)
        left = connection.execute(select(agents.open_sessions).where(agents.id == uid(event.originator_id))).scalar()
        if not left:
            self._agent(connection, event, signed_out_at=event.at)
            self._presence(connection, event, "offline", "")

    def _presence(self, connection: Connection, event: Any, status: str, reason: str) -> None:
        """Status and break reason, and since when: the time resets only when either changes."""
        agents = self.agents.c
        now = connection.execute(select(agents.status, agents.status_reason)
                                 .where(agents.id == uid(event.originator_id))).one_or_none()
        if now is not None and (now.status, now.status_reason) != (status, reason):
            self._agent(connection, event, status=status, status_reason=reason, status_since=event.at)
            self.touch(f"desk:{uid(event.originator_id)}")

    @handles(Agent.CampaignJoined)
    def campaign_joined(self, connection: Connection, event: Any) -> None:
        upsert(connection, self.memberships, [{"agent_id": uid(event.originator_id),
                                               "campaign_id": event.campaign_id, "joined_at": event.at}],
               ["agent_id", "campaign_id"])
        self._record_history(connection, event, "joined")

    @handles(Agent.CampaignLeft)
    def campaign_left(self, connection: Connection, event: Any) -> None:
        connection.execute(delete(self.memberships).where(self.memberships.c.agent_id == uid(event.originator_id),
                                                          self.memberships.c.campaign_id == event.campaign_id))
        self._record_history(connection, event, "left")

    def _record_history(self, connection: Connection, event: Any, change: str) -> None:
        connection.execute(insert(self.history).values(
            event_id=event_key(event),
            agent_id=uid(event.originator_id), campaign_id=event.campaign_id, change=change,
            actor=event.actor, at=event.at))
        self.touch("agents", f"campaign:{event.campaign_id}")

    @handles(Agent.ChatTaken)
    def chat_taken(self, connection: Connection, event: Any) -> None:
        self._agent(connection, event, open_chats=self.agents.c.open_chats + 1, last_assigned_at=event.at)
        self.touch(f"desk:{event.originator_id}", f"campaign:{event.campaign_id}")

    @handles(Agent.ChatReleased)
    def chat_released(self, connection: Connection, event: Any) -> None:
        self._agent(connection, event, open_chats=self.agents.c.open_chats - 1)
        self.touch(f"desk:{event.originator_id}")

    @handles(AgentSession.Opened)
    def session_opened(self, connection: Connection, event: Any) -> None:
        connection.execute(insert(self.sessions).values(
            id=uid(event.originator_id), agent_id=event.agent_id, opened_at=event.at, client=event.client,
            chats_assigned=0, chats_closed=0, messages_sent=0))
        connection.execute(update(self.agents).where(self.agents.c.id == event.agent_id)
                           .values(current_session_id=uid(event.originator_id)))
        self.touch("agents")

    @handles(AgentSession.Closed)
    def session_closed(self, connection: Connection, event: Any) -> None:
        session_id = uid(event.originator_id)
        connection.execute(update(self.sessions).where(self.sessions.c.id == session_id)
                           .values(closed_at=event.at, close_reason=event.reason))
        connection.execute(update(self.agents).where(self.agents.c.current_session_id == session_id)
                           .values(current_session_id=None))
        self.touch("agents")

    @handles(Chat.AgentAssigned, Chat.Reassigned)
    def chat_assigned(self, connection: Connection, event: Any) -> None:
        agent_id = getattr(event, "to_agent_id", None) or event.agent_id
        self._count_in_current_session(connection, agent_id, "chats_assigned")

    @handles(Chat.Closed)
    def chat_closed(self, connection: Connection, event: Any) -> None:
        """Credited to the session the close came through; closes recorded before sessions were, to the closer's
        newest session."""
        if event.session_id:
            connection.execute(update(self.sessions).where(self.sessions.c.id == event.session_id)
                               .values(chats_closed=self.sessions.c.chats_closed + 1))
        elif event.actor.startswith("user:"):
            self._count_in_current_session(connection, event.actor.removeprefix("user:"), "chats_closed")

    @handles(OutboundMessage.Requested)
    def message_requested(self, connection: Connection, event: Any) -> None:
        if event.session_id:
            connection.execute(update(self.sessions).where(self.sessions.c.id == event.session_id)
                               .values(messages_sent=self.sessions.c.messages_sent + 1))

    def _count_in_current_session(self, connection: Connection, agent_id: str, column: str) -> None:
        session_id = connection.execute(self.agents.select().with_only_columns(self.agents.c.current_session_id)
                                        .where(self.agents.c.id == agent_id)).scalar()
        if session_id:
            connection.execute(update(self.sessions).where(self.sessions.c.id == session_id)
                               .values({column: self.sessions.c[column] + 1}))

