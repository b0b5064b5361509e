"""The routing follower: its own exact view of what routing needs, and the dispatch it triggers.

It keeps, in tables written in the same transaction as its position, each agent's load,
availability and campaigns, each campaign's waiting chats in queue order and its routing
settings. The dispatch (application/routing.py) reads those tables together with that position
in one consistent snapshot, so the loads it records on a decision are the loads in the log at
the position it names (R5). After every batch that changed anything routing depends on, and
once caught up with the log, the follower runs a dispatch: a chat queued, closed or released,
an agent's status, session, capacity or campaigns changed, a campaign's settings edited.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    select,
)

from domain.agents import Agent
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat
from domain.routing import AgentLoad, RoutingSnapshot, WaitingChat
from projections.base import BatchProjector, handles
from projections.positions import read_position
from projections.sql import UtcDateTime, uid
from projections.unit_of_work import UnitOfWork

IDLE_DISPATCH_SECONDS = 30


class RoutingFollower(BatchProjector):
    name = "routing"
    follows_closely = True

    def __init__(self, suffix: str = "", *, on_change: Callable[[], object] | None = None) -> None:
        super().__init__(suffix)
        self.on_change = on_change or (lambda: None)
        self.changed = False
        self._last_idle_dispatch = float("-inf")

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.agents = Table(
            f"routing_agents{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("role", String(20), nullable=False),
            Column("active", Boolean, nullable=False),
            Column("capacity", Integer, nullable=False),
            Column("open_chats", Integer, nullable=False),
            Column("status", String(20), nullable=False),
            Column("open_sessions", Integer, nullable=False),
            Column("last_assigned_at", UtcDateTime),
            Column("last_assigned_position", BigInteger),
        )
        self.members = Table(
            f"routing_members{suffix}", metadata,
            Column("agent_id", String(36), primary_key=True),
            Column("campaign_id", String(36), primary_key=True),
            Index(f"ix_routing_members_campaign{suffix}", "campaign_id", "agent_id"),
        )
        self.queue = Table(
            f"routing_queue{suffix}", metadata,
            Column("chat_id", String(36), primary_key=True),
            Column("campaign_id", String(36), nullable=False),
            Column("queued_at", UtcDateTime, nullable=False),
            Column("queued_position", BigInteger, nullable=False),
            Index(f"ix_routing_queue_order{suffix}", "queued_position"),
            Index(f"ix_routing_queue_campaign{suffix}", "campaign_id", "queued_position"),
        )
        self.campaigns = Table(
            f"routing_campaigns{suffix}", metadata,
            Column("campaign_id", String(36), primary_key=True),
            Column("settings", Text, nullable=False),
            Column("last_chosen_agent_id", String(36)),
        )

    # ---- applying events ----

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        batch.load(self.agents, [uid(e.originator_id) for e in events if isinstance(e, Agent.Event)])
        batch.load(self.campaigns, [uid(e.originator_id) for e in events if isinstance(e, Campaign.Event)]
                   + [e.decision.get("campaign_id", "") for e in events if isinstance(e, Chat.AgentAssigned)])

    def _agent(self, batch: UnitOfWork, agent_id: str, **values: Any) -> None:
        batch.update(self.agents, agent_id, **values)
        self.changed = True

    @handles(Agent.Registered)
    def registered(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.agents, agent_id=uid(event.originator_id), role=event.role, active=True,
                      capacity=event.capacity, open_chats=0, status="offline", open_sessions=0, last_assigned_at=None,
                      last_assigned_position=None)

    @handles(Agent.ProfileEdited)
    def profile_edited(self, batch: UnitOfWork, event: Any) -> None:
        self._agent(batch, uid(event.originator_id), role=event.role, capacity=event.capacity)

    @handles(Agent.Deactivated)
    def deactivated(self, batch: UnitOfWork, event: Any) -> None:
        self._agent(batch, uid(event.originator_id), active=False, status="offline")

    @handles(Agent.Reactivated)
    def reactivated(self, batch: UnitOfWork, event: Any) -> None:
        self._agent(batch, uid(event.originator_id), active=True)

    @handles(Agent.StatusChanged)
    def status_changed(self, batch: UnitOfWork, event: Any) -> None:
        self._agent(batch, uid(event.originator_id), status=event.status)

    @handles(Agent.CampaignJoined)
    def campaign_joined(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.members, agent_id=uid(event.originator_id), campaign_id=event.campaign_id)
        self.changed = True

    @handles(Agent.CampaignLeft)
    def campaign_left(self, batch: UnitOfWork, event: Any) -> None:
        batch.delete(self.members, (uid(event.originator_id), event.campaign_id))
        self.changed = True

    @handles(Agent.ChatTaken)
    def chat_taken(self, batch: UnitOfWork, event: Any) -> None:
        agent_id = uid(event.originator_id)
        agent = batch.get(self.agents, agent_id)
        if agent is not None:
            self._agent(batch, agent_id, open_chats=agent["open_chats"] + 1, last_assigned_at=event.at,
                        last_assigned_position=self.log_position)
        self.changed = True

    @handles(Agent.ChatReleased)
    def chat_released(self, batch: UnitOfWork, event: Any) -> None:
        agent_id = uid(event.originator_id)
        agent = batch.get(self.agents, agent_id)
        if agent is not None:
            self._agent(batch, agent_id, open_chats=agent["open_chats"] - 1)
        self.changed = True

    @handles(Agent.SignedIn)
    def signed_in(self, batch: UnitOfWork, event: Any) -> None:
        agent = batch.get(self.agents, uid(event.originator_id))
        if agent is None:
            return
        values: dict[str, Any] = {"open_sessions": agent["open_sessions"] - len(event.replaced) + 1}
        if event.replaced:  # the new device starts offline, as the aggregate does
            values["status"] = "offline"
        self._agent(batch, uid(event.originator_id), **values)

    @handles(Agent.SignedOut)
    def signed_out(self, batch: UnitOfWork, event: Any) -> None:
        agent = batch.get(self.agents, uid(event.originator_id))
        if agent is None:
            return
        left = agent["open_sessions"] - 1
        self._agent(batch, uid(event.originator_id), open_sessions=left, **({"status": "offline"} if left <= 0 else {}))

    @handles(Chat.Queued, Chat.Requeued)
    def queued(self, batch: UnitOfWork, event: Any) -> None:
        """A requeued chat (its agent went offline) waits again, behind the chats already waiting."""
        batch.insert(self.queue, chat_id=uid(event.originator_id), campaign_id=event.campaign_id,
                     queued_at=event.at, queued_position=self.log_position)
        self.changed = True

    @handles(Chat.TransferredToCampaign)
    def transferred(self, batch: UnitOfWork, event: Any) -> None:
        """Behind the chats waiting in the new campaign; one transferred while waiting leaves its old queue."""
        batch.replace(self.queue, chat_id=uid(event.originator_id), campaign_id=event.campaign_id,
                      queued_at=event.at, queued_position=self.log_position)
        self.changed = True

    @handles(Chat.AgentAssigned)
    def assigned(self, batch: UnitOfWork, event: Any) -> None:
        batch.delete(self.queue, uid(event.originator_id))
        if not event.exceptional:  # the round-robin cursor follows the automatic choices only
            batch.update(self.campaigns, event.decision.get("campaign_id", ""), last_chosen_agent_id=event.agent_id)

    @handles(Chat.Closed)
    def closed(self, batch: UnitOfWork, event: Any) -> None:
        batch.delete(self.queue, uid(event.originator_id))

    @handles(Campaign.Created, Campaign.Edited)
    def campaign_settings(self, batch: UnitOfWork, event: Any) -> None:
        batch.upsert(self.campaigns, campaign_id=uid(event.originator_id),
                     settings=json.dumps(event.settings, default=str))
        self.changed = True

    # ---- triggering the dispatch ----

    def after_commit(self, caught_up: bool) -> None:
        """Dispatch once the follower has seen the whole log and something routing depends on changed."""
        if caught_up and self.changed:
            self.changed = False
            self.on_change()

    def discard_batch(self) -> None:
        self.changed = False

    def when_idle(self) -> None:
        """Dispatch after a start (a crash may have come between a batch and its dispatch) and every
        half minute: business hours open without any event saying so."""
        now = time.monotonic()
        if now - self._last_idle_dispatch >= IDLE_DISPATCH_SECONDS:
            self._last_idle_dispatch = now
            self.on_change()


class SqlRoutingState:
    """The dispatch's view: the routing follower's tables and its position, read in one snapshot."""

    def __init__(self, engine: Engine, follower: RoutingFollower) -> None:
        self.engine = engine
        self.follower = follower

    def snapshot(self, campaign_ids: set[str] | None = None) -> RoutingSnapshot:
        """The state of these campaigns; without campaigns, of those a dispatch can act on: waiting chats of
        campaigns with a member able to take one now, and those campaigns' members. A backlog nobody can
        serve is left unread, and agents of campaigns with nobody waiting too, so neither costs a dispatch."""
        f = self.follower
        with self.engine.connect() as connection, connection.begin():
            _one_snapshot(connection)
            position = read_position(connection, f.position_key)
            queue = select(f.queue).order_by(f.queue.c.queued_position)
            queue = queue.where(f.queue.c.campaign_id.in_(_served_now(f) if campaign_ids is None else campaign_ids))
            waiting = [WaitingChat(r.chat_id, r.campaign_id, r.queued_at, r.queued_position)
                       for r in connection.execute(queue)]
            campaigns = {w.campaign_id for w in waiting} if campaign_ids is None else set(campaign_ids)
            agents = _agent_loads(connection, f, campaigns)
            rows = connection.execute(select(f.campaigns).where(f.campaigns.c.campaign_id.in_(campaigns))).all()
            settings = {r.campaign_id: (CampaignSettings.from_dict(json.loads(r.settings)), r.last_chosen_agent_id)
                        for r in rows}
        return RoutingSnapshot(position=position, waiting=tuple(waiting), agents=tuple(agents),
                               settings={k: v[0] for k, v in settings.items()},
                               last_chosen={k: v[1] for k, v in settings.items()})

    def candidates(self, campaign_id: str) -> RoutingSnapshot:
        """Every member of one campaign, for a reassignment's record, whatever their availability."""
        return self.snapshot({campaign_id})


def _served_now(f: RoutingFollower) -> Select[tuple[str]]:
    """Campaigns with a member who can take a chat now (AgentLoad.can_take, in SQL)."""
    agents = f.agents.c
    return (select(f.members.c.campaign_id).join(f.agents, agents.agent_id == f.members.c.agent_id)
            .where(agents.role == "agent", agents.active.is_(True), agents.status == "available",
                   agents.open_sessions > 0, agents.open_chats < agents.capacity))


def _agent_loads(connection: Connection, f: RoutingFollower, campaigns: set[str]) -> list[AgentLoad]:
    """Members of these campaigns, with every campaign each belongs to."""
    if not campaigns:
        return []
    links = connection.execute(select(f.members.c.agent_id, f.members.c.campaign_id).where(
        f.members.c.agent_id.in_(select(f.members.c.agent_id).where(f.members.c.campaign_id.in_(campaigns))))).all()
    memberships: dict[str, set[str]] = {}
    for agent_id, campaign_id in links:
        memberships.setdefault(agent_id, set()).add(campaign_id)
    rows = connection.execute(select(f.agents).where(f.agents.c.agent_id.in_(memberships),
                                                     f.agents.c.role == "agent", f.agents.c.active.is_(True)))
    return [AgentLoad(agent_id=r.agent_id, open_chats=r.open_chats, capacity=r.capacity,
                      last_assigned_at=r.last_assigned_at, campaigns=frozenset(memberships[r.agent_id]),
                      available=r.status == "available" and r.open_sessions > 0, status=r.status,
                      last_assigned_position=r.last_assigned_position)
            for r in rows]


def _one_snapshot(connection: Connection) -> None:
    """Every statement that follows sees the same committed state: REPEATABLE READ on PostgreSQL; on
    SQLite an explicit BEGIN, which Python's driver leaves out before SELECTs."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    else:
        connection.exec_driver_sql("BEGIN")
