"""Read model of staff, their campaigns (with history), load, and working sessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table

from domain.agents import Agent
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.sessions import AgentSession
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, event_key, uid
from projections.unit_of_work import UnitOfWork


class AgentsProjector(BatchProjector):
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

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        agent_ids = [uid(e.originator_id) for e in events if isinstance(e, Agent.Event)]
        agent_ids += [e.agent_id for e in events if isinstance(e, AgentSession.Opened | Chat.AgentAssigned)]
        agent_ids += [e.to_agent_id for e in events if isinstance(e, Chat.Reassigned)]
        agent_ids += [e.actor.removeprefix("user:") for e in events
                      if isinstance(e, Chat.Closed) and e.actor.startswith("user:")]
        batch.load(self.agents, agent_ids)
        session_ids = [agent["current_session_id"] for agent_id in agent_ids
                       if (agent := batch.get(self.agents, agent_id)) is not None and agent["current_session_id"]]
        session_ids += [e.session_id for e in events
                        if isinstance(e, OutboundMessage.Requested | Chat.Closed) and e.session_id]
        session_ids += [uid(e.originator_id) for e in events if isinstance(e, AgentSession.Closed)]
        batch.load(self.sessions, session_ids)

    def _agent(self, batch: UnitOfWork, event: Any, **values: Any) -> None:
        batch.update(self.agents, uid(event.originator_id), **values)
        self.touch("agents")

    @handles(Agent.Registered)
    def registered(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.agents, id=uid(event.originator_id), login=event.login, name=event.name, role=event.role,
                      capacity=event.capacity, active=True, status="offline", status_since=event.at,
                      status_reason="", open_sessions=0, signed_out_at=None, open_chats=0,
                      last_assigned_at=None, current_session_id=None, created_at=event.at)
        self.touch("agents")

    @handles(Agent.ProfileEdited)
    def profile_edited(self, batch: UnitOfWork, event: Any) -> None:
        self._agent(batch, event, name=event.name, role=event.role, capacity=event.capacity)

    @handles(Agent.Deactivated)
    def deactivated(self, batch: UnitOfWork, event: Any) -> None:
        self._agent(batch, event, active=False)
        self._presence(batch, event, "offline", "")

    @handles(Agent.Reactivated)
    def reactivated(self, batch: UnitOfWork, event: Any) -> None:
        self._agent(batch, event, active=True)

    @handles(Agent.StatusChanged)
    def status_changed(self, batch: UnitOfWork, event: Any) -> None:
        self._presence(batch, event, event.status, event.reason)

    @handles(Agent.SignedIn)
    def signed_in(self, batch: UnitOfWork, event: Any) -> None:
        agent = batch.get(self.agents, uid(event.originator_id))
        if agent is None:
            return
        self._agent(batch, event, open_sessions=agent["open_sessions"] - len(event.replaced) + 1, signed_out_at=None)
        if event.replaced:  # the new device starts offline, as the aggregate does
            self._presence(batch, event, "offline", "")

    @handles(Agent.SignedOut)
    def signed_out(self, batch: UnitOfWork, event: Any) -> None:
        agent = batch.get(self.agents, uid(event.originator_id))
        if agent is None:
            return
        left = agent["open_sessions"] - 1
        self._agent(batch, event, open_sessions=left)
        if not left:
            self._agent(batch, event, signed_out_at=event.at)
            self._presence(batch, event, "offline", "")

    def _presence(self, batch: UnitOfWork, event: Any, status: str, reason: str) -> None:
        """Status and break reason, and since when: the time resets only when either changes."""
        agent = batch.get(self.agents, uid(event.originator_id))
        if agent is not None and (agent["status"], agent["status_reason"]) != (status, reason):
            self._agent(batch, event, status=status, status_reason=reason, status_since=event.at)
            self.touch(f"desk:{uid(event.originator_id)}")

    @handles(Agent.CampaignJoined)
    def campaign_joined(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.memberships, agent_id=uid(event.originator_id), campaign_id=event.campaign_id,
                      joined_at=event.at)
        self._record_history(batch, event, "joined")

    @handles(Agent.CampaignLeft)
    def campaign_left(self, batch: UnitOfWork, event: Any) -> None:
        batch.delete(self.memberships, (uid(event.originator_id), event.campaign_id))
        self._record_history(batch, event, "left")

    def _record_history(self, batch: UnitOfWork, event: Any, change: str) -> None:
        batch.insert(self.history, event_id=event_key(event), agent_id=uid(event.originator_id),
                     campaign_id=event.campaign_id, change=change, actor=event.actor, at=event.at)
        self.touch("agents", f"campaign:{event.campaign_id}")

    @handles(Agent.ChatTaken)
    def chat_taken(self, batch: UnitOfWork, event: Any) -> None:
        agent = batch.get(self.agents, uid(event.originator_id))
        if agent is not None:
            self._agent(batch, event, open_chats=agent["open_chats"] + 1, last_assigned_at=event.at)
        self.touch("agents", f"desk:{event.originator_id}", f"campaign:{event.campaign_id}")

    @handles(Agent.ChatReleased)
    def chat_released(self, batch: UnitOfWork, event: Any) -> None:
        agent = batch.get(self.agents, uid(event.originator_id))
        if agent is not None:
            self._agent(batch, event, open_chats=agent["open_chats"] - 1)
        self.touch("agents", f"desk:{event.originator_id}")

    @handles(AgentSession.Opened)
    def session_opened(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.sessions, id=uid(event.originator_id), agent_id=event.agent_id, opened_at=event.at,
                     client=event.client, chats_assigned=0, chats_closed=0, messages_sent=0)
        batch.update(self.agents, event.agent_id, current_session_id=uid(event.originator_id))
        self.touch("agents")

    @handles(AgentSession.Closed)
    def session_closed(self, batch: UnitOfWork, event: Any) -> None:
        session_id = uid(event.originator_id)
        batch.update(self.sessions, session_id, closed_at=event.at, close_reason=event.reason)
        for agent in batch.where(self.agents, "current_session_id", session_id):
            batch.update(self.agents, agent["id"], current_session_id=None)
        self.touch("agents")

    @handles(Chat.AgentAssigned, Chat.Reassigned)
    def chat_assigned(self, batch: UnitOfWork, event: Any) -> None:
        agent_id = getattr(event, "to_agent_id", None) or event.agent_id
        self._count_in_current_session(batch, agent_id, "chats_assigned")

    @handles(Chat.Closed)
    def chat_closed(self, batch: UnitOfWork, event: Any) -> None:
        """Credited to the session the close came through; closes recorded before sessions were, to the closer's
        newest session."""
        if event.session_id:
            self._count_in_session(batch, event.session_id, "chats_closed")
        elif event.actor.startswith("user:"):
            self._count_in_current_session(batch, event.actor.removeprefix("user:"), "chats_closed")

    @handles(OutboundMessage.Requested)
    def message_requested(self, batch: UnitOfWork, event: Any) -> None:
        if event.session_id:
            self._count_in_session(batch, event.session_id, "messages_sent")

    def _count_in_current_session(self, batch: UnitOfWork, agent_id: str, column: str) -> None:
        agent = batch.get(self.agents, agent_id)
        if agent is not None and agent["current_session_id"]:
            self._count_in_session(batch, agent["current_session_id"], column)

    def _count_in_session(self, batch: UnitOfWork, session_id: str, column: str) -> None:
        session = batch.get(self.sessions, session_id)
        if session is not None:
            batch.update(self.sessions, session_id, **{column: session[column] + 1})
