"""The auditors' time machine: a campaign's queue, its agents' presence and loads, and a chat, as of any past
instant, folded from the event log alone; a chat's assignments with the candidates, their loads and statuses
at that moment (R5). Every lookup is recorded as an event (`AuditLookup.Looked`).

The instant cuts the log at the first event recorded as happening after it (its `at`, the injected clock's
instant), so the answer is always a prefix of the log: a state the system really was in. `at` need not grow
along the log (a timer run for an earlier instant, two processes saving close together); an event dated before
the instant but stored after a later one counts from the next instant after that one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from application.log_replay import AgentState, World, apply, read_log
from application.ports import Clock
from application.store import EventStore
from domain.audit_lookups import AuditLookup
from domain.chats import Chat
from domain.common import DomainError, require_aware

CANDIDACY = ("can_take", "inactive", "signed_out", "unavailable", "full")


class AsOfError(DomainError):
    pass


@dataclass(frozen=True)
class QueuedChat:
    chat_id: str
    waiting_since: datetime
    place: int  # 1 is the next one routing gives out (R16)


@dataclass(frozen=True)
class AgentThen:
    agent_id: str
    name: str
    status: str
    status_reason: str
    status_since: datetime | None
    signed_in: bool
    active: bool
    open_chats: int
    capacity: int
    could_take: bool  # an available, signed-in member under capacity: a candidate for the campaign's next chat
    candidacy: str  # why they could or could not take one, a code of CANDIDACY


@dataclass(frozen=True)
class CampaignThen:
    campaign_id: str
    code: str
    name: str
    time_zone: str
    routing_policy: str
    queue: tuple[QueuedChat, ...]
    agents: tuple[AgentThen, ...]


@dataclass(frozen=True)
class CandidateThen:
    agent_id: str
    name: str
    open_chats: int
    capacity: int
    status: str
    last_assigned_at: datetime | None
    chosen: bool


@dataclass(frozen=True)
class AssignmentThen:
    """One assignment of the chat: the decision it recorded, and every member of the campaign at that moment
    (the candidates the decision names, and the others with the status or load that kept them out)."""

    position: int
    at: datetime
    agent_id: str
    agent_name: str
    policy: str
    exceptional: bool
    reason: str
    candidates: tuple[CandidateThen, ...]
    members: tuple[AgentThen, ...]


@dataclass(frozen=True)
class ChatThen:
    chat_id: str
    campaign_id: str
    status: str
    agent_id: str
    agent_name: str
    opened_at: datetime
    queued_at: datetime | None
    customer_messages: int
    agent_messages: int
    last_customer_message_at: datetime | None
    last_agent_message_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    assignments: tuple[AssignmentThen, ...]


@dataclass(frozen=True)
class AsOf:
    instant: datetime
    position: int  # the last event of the log the answer includes (0: none)
    campaign_id: str
    chat_id: str
    campaign: CampaignThen | None  # None: no campaign asked, or it did not exist yet
    chat: ChatThen | None  # None: no chat asked, or it did not exist yet


@dataclass
class _ChatFold:
    """The asked chat's own events folded as the replay passes them; its assignments see the world of then."""

    chat_id: str
    chat: dict[str, Any] | None = None
    assignments: list[AssignmentThen] = field(default_factory=list)

    def apply(self, world: World, position: int, event: Any) -> None:
        if str(event.originator_id) != self.chat_id:
            return
        if isinstance(event, Chat.Opened):
            self.chat = {"campaign_id": event.campaign_id, "status": "bot", "agent_id": "", "opened_at": event.at,
                         "queued_at": None, "customer_messages": 0, "agent_messages": 0,
                         "last_customer_message_at": None, "last_agent_message_at": None, "closed_at": None,
                         "close_reason": ""}
        elif self.chat is not None:
            self._change(world, position, event, self.chat)

    def _change(self, world: World, position: int, event: Any, chat: dict[str, Any]) -> None:
        if isinstance(event, Chat.CustomerIdentified):
            chat["campaign_id"] = event.campaign_id
        elif isinstance(event, Chat.Queued | Chat.Requeued | Chat.TransferredToCampaign):
            chat.update(campaign_id=event.campaign_id, status="waiting_queue", agent_id="", queued_at=event.at)
        elif isinstance(event, Chat.AgentAssigned):
            chat.update(status="assigned", agent_id=event.agent_id)
            self.assignments.append(_assignment(world, position, event, chat["campaign_id"]))
        elif isinstance(event, Chat.Reassigned):
            chat["agent_id"] = event.to_agent_id
        elif isinstance(event, Chat.CustomerWrote):
            chat.update(customer_messages=chat["customer_messages"] + 1, last_customer_message_at=event.at)
        elif isinstance(event, Chat.AgentReplied):
            chat.update(agent_messages=chat["agent_messages"] + 1, last_agent_message_at=event.at)
        elif isinstance(event, Chat.Closed):
            chat.update(status="closed", closed_at=event.at, close_reason=event.reason)

    def then(self, world: World) -> ChatThen | None:
        if self.chat is None:
            return None
        agent = world.agents.get(self.chat["agent_id"])
        return ChatThen(chat_id=self.chat_id, agent_name=agent.name if agent else "",
                        assignments=tuple(self.assignments), **self.chat)


def state_as_of(store: EventStore, instant: datetime, *, campaign_id: str = "", chat_id: str = "") -> AsOf:
    """The world as of `instant`, read from the log a page at a time and stopped at the first later event."""
    require_aware(instant)
    chat_id = _chat_id(chat_id)
    world, chat, position = World(), _ChatFold(chat_id), 0
    for at_position, event in read_log(store):
        at = getattr(event, "at", None)
        if isinstance(at, datetime) and at > instant:
            break
        chat.apply(world, at_position, event)  # before the world takes it: an assignment sees the loads before it
        apply(world, at_position, event)
        position = at_position
    found = chat.then(world)
    campaign_id = campaign_id or (found.campaign_id if found else "")
    return AsOf(instant=instant, position=position, campaign_id=campaign_id, chat_id=chat_id,
                campaign=_campaign(world, campaign_id), chat=found)


def _chat_id(text: str) -> str:
    if not text.strip():
        return ""
    try:
        return str(UUID(text.strip()))
    except ValueError as exc:
        raise AsOfError("Identificador de chat inválido") from exc


def _campaign(world: World, campaign_id: str) -> CampaignThen | None:
    known = world.campaigns.get(campaign_id)
    if known is None:
        return None
    queue = tuple(QueuedChat(chat_id, waiting.since, place)
                  for place, (chat_id, waiting) in enumerate(world.waiting_in(campaign_id), start=1))
    return CampaignThen(campaign_id=campaign_id, code=known.code, name=known.name,
                        time_zone=known.settings.time_zone, routing_policy=known.settings.routing_policy,
                        queue=queue, agents=_members(world, campaign_id))


def _members(world: World, campaign_id: str) -> tuple[AgentThen, ...]:
    return tuple(_agent_then(agent_id, agent, campaign_id) for agent_id, agent in world.members_of(campaign_id))


def _agent_then(agent_id: str, agent: AgentState, campaign_id: str) -> AgentThen:
    return AgentThen(agent_id=agent_id, name=agent.name, status=agent.status, status_reason=agent.status_reason,
                     status_since=agent.status_since, signed_in=agent.signed_in, active=agent.active,
                     open_chats=len(agent.open_chats), capacity=agent.capacity,
                     could_take=agent.can_take(campaign_id), candidacy=_candidacy(agent, campaign_id))


def _candidacy(agent: AgentState, campaign_id: str) -> str:
    if agent.can_take(campaign_id):
        return "can_take"
    if not agent.active:
        return "inactive"
    if not agent.signed_in:
        return "signed_out"
    if agent.status != "available":
        return "unavailable"
    return "full"


def _assignment(world: World, position: int, event: Any, chat_campaign_id: str) -> AssignmentThen:
    decision = event.decision
    campaign_id = decision.get("campaign_id") or chat_campaign_id
    chosen = world.agents.get(event.agent_id)
    return AssignmentThen(
        position=position, at=event.at, agent_id=event.agent_id, agent_name=chosen.name if chosen else "",
        policy=decision.get("policy", ""), exceptional=event.exceptional, reason=event.reason,
        candidates=tuple(_candidate(world, c, event.agent_id) for c in decision.get("candidates", ())),
        members=_members(world, campaign_id))


def _candidate(world: World, recorded: dict[str, Any], chosen_agent_id: str) -> CandidateThen:
    """A candidate as the decision recorded it (its load when routing chose), with its status from the log."""
    agent = world.agents.get(recorded["agent_id"])
    last = recorded.get("last_assigned_at")
    return CandidateThen(agent_id=recorded["agent_id"], name=agent.name if agent else "",
                         open_chats=recorded["open_chats"], capacity=recorded["capacity"],
                         status=agent.status if agent else "", chosen=recorded["agent_id"] == chosen_agent_id,
                         last_assigned_at=datetime.fromisoformat(last) if last else None)


class TimeMachine:
    """The use case behind the auditors' page and `despacho audit as-of`: answer, then record who asked what."""

    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def look(self, instant: datetime, *, campaign_id: str = "", chat_id: str = "", actor: str, through: str,
             os_user: str = "") -> AsOf:
        answer = state_as_of(self.store, instant, campaign_id=campaign_id, chat_id=chat_id)
        self.store.save(AuditLookup.record(instant, campaign_id=campaign_id, chat_id=answer.chat_id,
                                           through=through, os_user=os_user, actor=actor, at=self.clock.now()))
        return answer
