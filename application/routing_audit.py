"""`despacho audit routing`: every automatic decision checked against the log, by a separate code path.

It replays the event log with its own deliberately plain bookkeeping (no read table, no code of
the dispatcher) and, for every automatic assignment, recomputes what the campaign's policy
would have chosen on the state at the position the decision names: the candidates, their loads
and the choice must match (R5), and no older waiting chat of the campaign that the chosen agent
could have taken may be passed over (R16). Decisions recorded before decisions named their
position cannot be checked and are counted apart.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.store import EventStore
from domain.agents import Agent
from domain.business_hours import is_open
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat
from domain.sessions import AgentSession

PAGE = 2000
NOTHING_TO_ASSIGN = "en ese punto la política no asigna ningún chat más"


@dataclass
class _Agent:
    role: str
    capacity: int
    active: bool = True
    status: str = "offline"
    session: str = ""
    campaigns: set[str] = field(default_factory=set)
    open_chats: set[str] = field(default_factory=set)
    last_taken: int | None = None
    last_taken_at: datetime | None = None


@dataclass
class _World:
    agents: dict[str, _Agent] = field(default_factory=dict)
    queue: dict[str, tuple[str, int]] = field(default_factory=dict)  # chat → (campaign, queued position)
    settings: dict[str, CampaignSettings] = field(default_factory=dict)
    last_chosen: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    position: int
    chat_id: str
    campaign_id: str
    what: str


@dataclass
class RoutingAudit:
    checked: int = 0
    unverifiable: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


def audit_routing(store: EventStore, *, since: datetime | None = None, until: datetime | None = None,
                  campaign_id: str | None = None) -> RoutingAudit:
    bases = {event.decision["basis_position"] for _, event in _log(store) if _is_checkable(event)}
    world, states = _World(), {}
    expected: dict[int, list[dict[str, Any]]] = {}
    report = RoutingAudit()
    for position, event in _log(store):
        for basis in [b for b in bases if b < position and b not in states]:
            states[basis] = copy.deepcopy(world)
        if isinstance(event, Chat.AgentAssigned) and not event.exceptional and _in_range(event, since, until,
                                                                                         campaign_id):
            _check(report, position, event, states, expected)
        _apply(world, position, event)
    return report


def _log(store: EventStore) -> Iterator[tuple[int, Any]]:
    start = 0
    while notifications := store.recorder.select_notifications(start=start, limit=PAGE, inclusive_of_start=False):
        for notification in notifications:
            yield notification.id, store.mapper.to_domain_event(notification)
        start = notifications[-1].id


def _is_checkable(event: Any) -> bool:
    return isinstance(event, Chat.AgentAssigned) and not event.exceptional and "basis_position" in event.decision


def _in_range(event: Any, since: datetime | None, until: datetime | None, campaign_id: str | None) -> bool:
    return ((since is None or event.at >= since) and (until is None or event.at <= until)
            and (campaign_id is None or event.decision.get("campaign_id") == campaign_id))


def _check(report: RoutingAudit, position: int, event: Any, states: dict[int, _World],
           expected: dict[int, list[dict[str, Any]]]) -> None:
    decision, chat_id = event.decision, str(event.originator_id)
    if "basis_position" not in decision:
        report.unverifiable += 1
        return
    report.checked += 1
    basis = decision["basis_position"]
    if basis not in expected:
        expected[basis] = _policy_pass(states[basis], basis, event.at)
    should = expected[basis]
    index = decision.get("pass_index", 0)
    campaign = decision.get("campaign_id", "")
    if index >= len(should):
        report.findings.append(Finding(position, chat_id, campaign, NOTHING_TO_ASSIGN))
        return
    want = should[index]
    for label, recorded, computed in (
            ("chat", chat_id, want["chat_id"]),
            ("asesor elegido", decision.get("chosen_agent_id"), want["chosen_agent_id"]),
            ("candidatos y cargas", _loads(decision["candidates"]), _loads(want["candidates"]))):
        if recorded != computed:
            report.findings.append(Finding(position, chat_id, campaign,
                                           f"{label}: registrado {recorded}, según el log {computed}"))
    report.findings.extend(_overtakes(states[basis], position, chat_id, campaign, event.agent_id, should[:index]))


def _loads(candidates: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((c["agent_id"], c["open_chats"], c["capacity"], c.get("last_assigned_position"))
                  for c in candidates)


def _overtakes(world: _World, position: int, chat_id: str, campaign: str, agent_id: str,
               earlier_in_pass: list[dict[str, Any]]) -> list[Finding]:
    """Older waiting chats of the campaign the chosen agent could have taken instead (R16)."""
    if chat_id not in world.queue:
        return [Finding(position, chat_id, campaign, "el chat no esperaba en la cola en ese punto")]
    taken = {d["chat_id"] for d in earlier_in_pass}
    queued_at = world.queue[chat_id][1]
    older = [c for c, (k, p) in world.queue.items() if k == campaign and p < queued_at and c not in taken]
    agent = world.agents.get(agent_id)
    if older and agent is not None and campaign in agent.campaigns:
        return [Finding(position, chat_id, campaign,
                        f"pasó delante de {len(older)} chat(s) más antiguo(s) de la cola (R16)")]
    return []


def _policy_pass(world: _World, basis: int, now: datetime) -> list[dict[str, Any]]:
    """The decisions the policy makes on `world`, in queue order, each counting the ones before it."""
    world = copy.deepcopy(world)
    decisions: list[dict[str, Any]] = []
    for chat_id, (campaign, _) in sorted(world.queue.items(), key=lambda item: item[1][1]):
        settings = world.settings.get(campaign)
        if settings is None or not is_open(settings, now):
            continue
        candidates = sorted((agent_id, a) for agent_id, a in world.agents.items()
                            if a.role == "agent" and a.active and a.status == "available" and a.session
                            and campaign in a.campaigns and len(a.open_chats) < a.capacity)
        if not candidates:
            continue
        if settings.routing_policy == "round_robin":
            cursor = world.last_chosen.get(campaign)
            later = [c for c in candidates if cursor is not None and c[0] > cursor]
            chosen = (later or candidates)[0][0]
        else:
            chosen = min(candidates, key=lambda c: (len(c[1].open_chats) / c[1].capacity,
                                                    c[1].last_taken if c[1].last_taken is not None else float("-inf"),
                                                    c[1].last_taken_at.timestamp() if c[1].last_taken_at
                                                    else float("-inf"), c[0]))[0]
        decisions.append({"chat_id": chat_id, "chosen_agent_id": chosen, "candidates": [
            {"agent_id": agent_id, "open_chats": len(a.open_chats), "capacity": a.capacity,
             "last_assigned_position": a.last_taken} for agent_id, a in candidates]})
        agent = world.agents[chosen]
        agent.open_chats.add(chat_id)
        agent.last_taken, agent.last_taken_at = basis + len(decisions), now
        world.last_chosen[campaign] = chosen
    return decisions


def _apply(world: _World, position: int, event: Any) -> None:
    key = str(event.originator_id)
    if isinstance(event, Agent.Registered):
        world.agents[key] = _Agent(role=event.role, capacity=event.capacity)
    elif type(event) in AGENT_CHANGES and key in world.agents:
        AGENT_CHANGES[type(event)](world.agents[key], position, event)
    elif isinstance(event, AgentSession.Opened) and event.agent_id in world.agents:
        world.agents[event.agent_id].session = key
    elif isinstance(event, AgentSession.Closed):
        for agent in world.agents.values():
            if agent.session == key:
                agent.session = ""
    elif isinstance(event, Chat.Queued | Chat.Requeued | Chat.TransferredToCampaign):
        world.queue[key] = (event.campaign_id, position)
    elif isinstance(event, Chat.AgentAssigned):
        world.queue.pop(key, None)
        if not event.exceptional:
            world.last_chosen[event.decision.get("campaign_id", "")] = event.agent_id
    elif isinstance(event, Chat.Closed):
        world.queue.pop(key, None)
    elif isinstance(event, (Campaign.Created, Campaign.Edited)):
        world.settings[key] = CampaignSettings.from_dict(event.settings)


def _edited(agent: _Agent, position: int, event: Any) -> None:
    agent.role, agent.capacity = event.role, event.capacity


def _deactivated(agent: _Agent, position: int, event: Any) -> None:
    agent.active, agent.status = False, "offline"


def _reactivated(agent: _Agent, position: int, event: Any) -> None:
    agent.active = True


def _status(agent: _Agent, position: int, event: Any) -> None:
    agent.status = event.status


def _joined(agent: _Agent, position: int, event: Any) -> None:
    agent.campaigns.add(event.campaign_id)


def _left(agent: _Agent, position: int, event: Any) -> None:
    agent.campaigns.discard(event.campaign_id)


def _taken(agent: _Agent, position: int, event: Any) -> None:
    agent.open_chats.add(event.chat_id)
    agent.last_taken, agent.last_taken_at = position, event.at


def _released(agent: _Agent, position: int, event: Any) -> None:
    agent.open_chats.discard(event.chat_id)


AGENT_CHANGES: dict[type, Callable[[_Agent, int, Any], None]] = {
    Agent.ProfileEdited: _edited, Agent.Deactivated: _deactivated, Agent.Reactivated: _reactivated,
    Agent.StatusChanged: _status, Agent.CampaignJoined: _joined, Agent.CampaignLeft: _left,
    Agent.ChatTaken: _taken, Agent.ChatReleased: _released,
}
