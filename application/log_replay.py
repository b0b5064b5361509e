"""The routing world folded from the event log by its own plain code: agents, their presence and loads, each
campaign's queue and settings.

No read table and no code of the projectors: the routing audit (`application/routing_audit.py`) checks the
dispatcher's decisions against it, and the auditors' time machine (`application/as_of.py`) shows it as of any
instant. The log is read a page at a time, so a replay holds the world, never the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.store import EventStore
from domain.agents import Agent
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat

PAGE = 2000


@dataclass
class AgentState:
    login: str
    name: str
    role: str
    capacity: int
    active: bool = True
    status: str = "offline"
    status_reason: str = ""
    status_since: datetime | None = None
    sessions: set[str] = field(default_factory=set)
    campaigns: set[str] = field(default_factory=set)
    open_chats: set[str] = field(default_factory=set)
    last_taken: int | None = None
    last_taken_at: datetime | None = None

    @property
    def signed_in(self) -> bool:
        return bool(self.sessions)

    def can_take(self, campaign_id: str) -> bool:
        """What routing asks of a candidate (R1, R2, R17): an available, signed-in member under capacity."""
        return (self.role == "agent" and self.active and self.status == "available" and self.signed_in
                and campaign_id in self.campaigns and len(self.open_chats) < self.capacity)


@dataclass(frozen=True)
class Waiting:
    campaign_id: str
    position: int  # the Queued (Requeued, TransferredToCampaign) event's place in the log: the queue's order
    since: datetime


@dataclass
class CampaignState:
    code: str
    name: str
    settings: CampaignSettings


@dataclass
class World:
    agents: dict[str, AgentState] = field(default_factory=dict)
    queue: dict[str, Waiting] = field(default_factory=dict)
    campaigns: dict[str, CampaignState] = field(default_factory=dict)
    last_chosen: dict[str, str] = field(default_factory=dict)

    def waiting_in(self, campaign_id: str) -> list[tuple[str, Waiting]]:
        """The campaign's waiting chats, first in line first (R16)."""
        return sorted(((chat_id, w) for chat_id, w in self.queue.items() if w.campaign_id == campaign_id),
                      key=lambda item: item[1].position)

    def members_of(self, campaign_id: str) -> list[tuple[str, AgentState]]:
        return sorted(((agent_id, a) for agent_id, a in self.agents.items()
                       if a.role == "agent" and campaign_id in a.campaigns), key=lambda item: (item[1].name, item[0]))


def read_log(store: EventStore, *, page: int = PAGE) -> Iterator[tuple[int, Any]]:
    """Every event of the log in order with its position, decoded a page at a time."""
    start = 0
    while notifications := store.recorder.select_notifications(start=start, limit=page, inclusive_of_start=False):
        for notification in notifications:
            yield notification.id, store.mapper.to_domain_event(notification)
        start = notifications[-1].id


def apply(world: World, position: int, event: Any) -> None:
    """Fold one event into the world; events routing does not depend on change nothing."""
    key = str(event.originator_id)
    if isinstance(event, Agent.Registered):
        world.agents[key] = AgentState(login=event.login, name=event.name, role=event.role, capacity=event.capacity,
                                       status_since=event.at)
    elif type(event) in AGENT_CHANGES and key in world.agents:
        AGENT_CHANGES[type(event)](world.agents[key], position, event)
    elif isinstance(event, Chat.Queued | Chat.Requeued | Chat.TransferredToCampaign):
        world.queue[key] = Waiting(event.campaign_id, position, event.at)
    elif isinstance(event, Chat.AgentAssigned):
        world.queue.pop(key, None)
        if not event.exceptional:
            world.last_chosen[event.decision.get("campaign_id", "")] = event.agent_id
    elif isinstance(event, Chat.Closed):
        world.queue.pop(key, None)
    elif isinstance(event, Campaign.Created):
        world.campaigns[key] = CampaignState(event.code, event.name, CampaignSettings.from_dict(event.settings))
    elif isinstance(event, Campaign.Edited) and key in world.campaigns:
        campaign = world.campaigns[key]
        campaign.name, campaign.settings = event.name, CampaignSettings.from_dict(event.settings)


def _presence(agent: AgentState, status: str, reason: str, at: datetime) -> None:
    """As the aggregate and the agents' table keep it: the time resets only when the status or reason changes."""
    if (agent.status, agent.status_reason) != (status, reason):
        agent.status, agent.status_reason, agent.status_since = status, reason, at


def _edited(agent: AgentState, position: int, event: Any) -> None:
    agent.name, agent.role, agent.capacity = event.name, event.role, event.capacity


def _deactivated(agent: AgentState, position: int, event: Any) -> None:
    agent.active = False
    _presence(agent, "offline", "", event.at)


def _reactivated(agent: AgentState, position: int, event: Any) -> None:
    agent.active = True


def _status(agent: AgentState, position: int, event: Any) -> None:
    _presence(agent, event.status, event.reason, event.at)


def _signed_in(agent: AgentState, position: int, event: Any) -> None:
    agent.sessions = (agent.sessions - set(event.replaced)) | {event.session_id}
    if event.replaced and agent.sessions == {event.session_id}:
        _presence(agent, "offline", "", event.at)  # the new device starts offline


def _signed_out(agent: AgentState, position: int, event: Any) -> None:
    agent.sessions.discard(event.session_id)
    if not agent.sessions:
        _presence(agent, "offline", "", event.at)


def _joined(agent: AgentState, position: int, event: Any) -> None:
    agent.campaigns.add(event.campaign_id)


def _left(agent: AgentState, position: int, event: Any) -> None:
    agent.campaigns.discard(event.campaign_id)


def _taken(agent: AgentState, position: int, event: Any) -> None:
    agent.open_chats.add(event.chat_id)
    agent.last_taken, agent.last_taken_at = position, event.at


def _released(agent: AgentState, position: int, event: Any) -> None:
    agent.open_chats.discard(event.chat_id)


AGENT_CHANGES: dict[type, Callable[[AgentState, int, Any], None]] = {
    Agent.ProfileEdited: _edited, Agent.Deactivated: _deactivated, Agent.Reactivated: _reactivated,
    Agent.StatusChanged: _status, Agent.SignedIn: _signed_in, Agent.SignedOut: _signed_out,
    Agent.CampaignJoined: _joined, Agent.CampaignLeft: _left, Agent.ChatTaken: _taken, Agent.ChatReleased: _released,
}
