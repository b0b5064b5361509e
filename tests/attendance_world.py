"""An agent's working days driven through the aggregates the way the session lifecycle drives them (issue 12):
login on a device (replacing the other device's session unless parallel sessions are allowed), logout,
heartbeats, a tab closed (no more heartbeats) and expiry at the last activity, presence changes, chats taken,
answered, closed and released, and a process whose clock lags behind.

The world keeps its own record of what happened (sessions' spans, presence as set, counts), the oracle the
attendance report is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from domain.agents import Agent
from domain.attendance import Span, intersect, union
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.sessions import AgentSession

ADMIN = "user:admin-1"
IDLE_LIMIT = timedelta(minutes=30)
RESOLUTION = timedelta(minutes=1)
REASONS = ("almuerzo", "baño", "capacitación")
CUSTOMER = "whatsapp:+573001112233"


@dataclass
class AttendanceWorld:
    now: datetime
    zones: tuple[str, ...]
    allow_parallel: bool = False
    skew: timedelta = timedelta(0)
    """How far behind the true time the process recording the next events is (a clock jump)."""
    events: list[Any] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)
    sessions: dict[str, AgentSession] = field(default_factory=dict)
    held: dict[str, tuple[Chat, str]] = field(default_factory=dict)
    presence_log: list[tuple[datetime, str, str]] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    skewed: bool = False
    chat_number: int = 0
    agent_login: str = "ana"
    """The new agent's login, also naming the new campaigns (ids are natural keys of both)."""
    existing_agent: Agent | None = None
    """An agent of the store (its campaigns given in `campaigns`), or None for a new agent in new campaigns."""
    agent: Agent = field(init=False)

    def __post_init__(self) -> None:
        if self.existing_agent is not None:
            self.agent = self.existing_agent
            return
        # Set up well before the first login, so even a lagging clock's login falls inside the membership.
        before = self.now - timedelta(hours=2)
        for n, zone in enumerate(self.zones):
            campaign = Campaign.register(f"{self.agent_login}_{n}", f"Campaña {n}", f"C{n}",
                                         CampaignSettings(time_zone=zone), actor=ADMIN, at=before)
            self.campaigns.append(campaign)
            self.record(campaign)
        self.agent = Agent.register(self.agent_login, "Ana Asesora", "agent", 3, actor=ADMIN, at=before)
        for campaign in self.campaigns:
            self.agent.join_campaign(str(campaign.id), actor=ADMIN, at=before)
        self.record(self.agent)

    @property
    def agent_id(self) -> str:
        return str(self.agent.id)

    def stamp(self) -> datetime:
        return self.now - self.skew

    def record(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self.events.extend(aggregate.collect_events())

    def _on_agent(self, change: Any) -> Any:
        """Run a command on the agent, noting its presence when it changed (the oracle's presence log)."""
        before = (self.agent.status, self.agent.status_reason)
        result = change()
        self.record(self.agent)
        if (self.agent.status, self.agent.status_reason) != before:
            self.presence_log.append((self.stamp(), self.agent.status, self.agent.status_reason))
        return result

    def count(self, campaign_id: str, kind: str) -> None:
        self.counts[campaign_id, kind] = self.counts.get((campaign_id, kind), 0) + 1

    # ---- steps ----

    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    def lag(self, minutes: int) -> None:
        self.skew = timedelta(minutes=minutes)
        self.skewed = self.skewed or minutes > 0

    def login(self, device: int) -> None:
        if not self.agent.active:
            return
        at, actor = self.stamp(), f"user:{self.agent_id}"
        session = AgentSession.open(self.agent_id, client=f"device {device}", actor=actor, at=at)
        self.sessions[str(session.id)] = session
        self.record(session)
        replaced = self._on_agent(lambda: self.agent.sign_in(str(session.id), allow_parallel=self.allow_parallel,
                                                             actor=actor, at=at))
        for session_id in replaced:
            self.sessions[session_id].close("replaced", actor=actor, at=at)
            self.record(self.sessions[session_id])

    def logout(self) -> None:
        if self.agent.sessions:
            session = self.sessions[self.agent.sessions[-1]]
            session.close("logout", actor=f"user:{self.agent_id}", at=self.stamp())
            self.record(session)
            self._on_agent(lambda: self.agent.sign_out(str(session.id), reason="logout", actor="system:sessions",
                                                       at=self.stamp()))

    def deactivate(self) -> None:
        """An admin deactivates the account: offline at once; its sessions close by their own paths."""
        self._on_agent(lambda: self.agent.deactivate(actor=ADMIN, at=self.stamp()))

    def reactivate(self) -> None:
        self._on_agent(lambda: self.agent.reactivate(actor=ADMIN, at=self.stamp()))

    def heartbeat(self) -> None:
        for session_id in self.agent.sessions:
            self.sessions[session_id].record_activity(at=self.stamp(), resolution=RESOLUTION)
            self.record(self.sessions[session_id])

    def expire_idle(self) -> None:
        for session_id in list(self.agent.sessions):
            session = self.sessions[session_id]
            if session.is_idle(self.stamp(), IDLE_LIMIT):
                session.end("expired", actor="system:sessions", now=self.stamp())
                self.record(session)
                closed_at = session.closed_at or self.stamp()
                self._on_agent(lambda s=session_id, at=closed_at: self.agent.sign_out(
                    s, reason="expired", actor="system:sessions", at=at))

    def set_status(self, status: str, reason: str) -> None:
        if self.agent.sessions and self.agent.active:
            self._on_agent(lambda: self.agent.change_status(
                status, reason=reason, session_id=self.agent.sessions[-1], actor=f"user:{self.agent_id}",
                at=self.stamp()))

    def take_chat(self, campaign_number: int) -> None:
        campaign_id = str(self.campaigns[campaign_number % len(self.campaigns)].id)
        if self.agent.status != "available" or len(self.agent.open_chats) >= self.agent.capacity:
            return
        self.chat_number += 1
        at = self.stamp()
        chat = Chat.open("whatsapp", f"{CUSTOMER}{self.chat_number}", "+5716000011", profile_name="Luz",
                         flow_name="default", actor=f"customer:{CUSTOMER}", at=at)
        chat.enqueue(campaign_id, outside_hours=False, actor="system:router", at=at)
        self._on_agent(lambda: self.agent.take_chat(str(chat.id), campaign_id, exceptional=False,
                                                    actor="system:router", at=at))
        chat.assign(self.agent_id, {"policy": "least_load", "candidates": []}, exceptional=False, reason="",
                    actor="system:router", at=at)
        self.record(chat)
        self.held[str(chat.id)] = (chat, campaign_id)
        self.count(campaign_id, "assigned")

    def reply(self, pick: int) -> None:
        if not self.held:
            return
        chat, campaign_id = self.held[list(self.held)[pick % len(self.held)]]
        session_id = self.agent.sessions[-1] if self.agent.sessions else ""
        message = OutboundMessage.request(chat_id=str(chat.id), campaign_id=campaign_id, kind="agent",
                                          channel="whatsapp", to=CUSTOMER, sender="+5716000011", body="Hola",
                                          agent_id=self.agent_id, session_id=session_id,
                                          actor=f"user:{self.agent_id}", at=self.stamp())
        chat.record_agent_reply(str(message.id), self.agent_id, session_id, actor=f"user:{self.agent_id}",
                                at=self.stamp())
        self.record(message, chat)
        self.count(campaign_id, "message")

    def finish_chat(self, pick: int, *, close: bool) -> None:
        """Close the chat (the agent's close) or let it go to someone else (a reassignment)."""
        if not self.held:
            return
        chat_id = list(self.held)[pick % len(self.held)]
        chat, campaign_id = self.held.pop(chat_id)
        if close:
            chat.close("agent", disposition="acuerdo_de_pago", note="", actor=f"user:{self.agent_id}",
                       at=self.stamp())
            self.record(chat)
            self.count(campaign_id, "closed")
        self._on_agent(lambda: self.agent.release_chat(chat_id, reason="closed" if close else "reassigned",
                                                       actor="system:closing", at=self.stamp()))

    # ---- the oracle ----

    def session_spans(self) -> dict[str, Span]:
        return {session_id: Span(s.opened_at, s.closed_at if s.closed_at is not None else max(self.now, s.opened_at))
                for session_id, s in self.sessions.items()}

    def connected(self) -> list[Span]:
        return union(self.session_spans().values())

    def available(self) -> list[Span]:
        """Available time inside sessions, from the presence as the agent set it (exact without clock lag)."""
        ends = [at for at, _, _ in self.presence_log[1:]] + [self.now] * bool(self.presence_log)
        spans = [Span(at, end) for (at, status, _), end in zip(self.presence_log, ends, strict=True)
                 if status == "available"]
        return intersect(union(spans), self.connected())
