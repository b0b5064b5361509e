"""Choosing the agent for a waiting chat (R1–R5, R16), as pure functions over a snapshot.

The snapshot (waiting chats, agents' loads) is the routing follower's view of the log at one
position, which every decision records; the chosen agent's aggregate still re-checks
membership, capacity and availability when the decision is applied, so a decision saved after
the world moved on can only fail and be made again, never break a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.common import DomainError
from domain.labels import ASSIGNMENT_EXPLANATIONS

LEAST_LOAD = "least_load"
ROUND_ROBIN = "round_robin"
POLICIES = (LEAST_LOAD, ROUND_ROBIN)


@dataclass(frozen=True)
class WaitingChat:
    chat_id: str
    campaign_id: str
    queued_at: datetime
    queued_position: int = 0  # the Queued event's place in the log: the queue's order (R16), never a tie


@dataclass(frozen=True)
class AgentLoad:
    agent_id: str
    open_chats: int
    capacity: int
    last_assigned_at: datetime | None
    campaigns: frozenset[str]
    available: bool
    status: str = ""
    last_assigned_position: int | None = None  # the last ChatTaken's place in the log: exact tie-breaks

    @property
    def load(self) -> float:
        return self.open_chats / self.capacity if self.capacity else 1.0

    def can_take(self, campaign_id: str) -> bool:
        return self.available and campaign_id in self.campaigns and self.open_chats < self.capacity

    def took_one(self, at: datetime, position: int) -> AgentLoad:
        return replace(self, open_chats=self.open_chats + 1, last_assigned_at=at, last_assigned_position=position)


@dataclass(frozen=True)
class RoutingSnapshot:
    """What routing knew at one place in the log: `position`, the last event it had applied."""

    position: int
    waiting: tuple[WaitingChat, ...]
    agents: tuple[AgentLoad, ...]
    settings: Mapping[str, Any]
    last_chosen: Mapping[str, str | None]


@dataclass(frozen=True)
class RoutingDecision:
    """Why a chat went to an agent (R5): the policy, every candidate with its load, the choice."""

    chat_id: str
    campaign_id: str
    policy: str
    candidates: tuple[AgentLoad, ...]
    chosen_agent_id: str | None
    basis_position: int = 0  # the log position whose state this decision was made on
    pass_index: int = 0  # its place among the decisions made on that same state, in order
    last_chosen: str | None = None  # round robin: who the campaign's previous automatic choice was

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "campaign_id": self.campaign_id,
            "chosen_agent_id": self.chosen_agent_id,
            "basis_position": self.basis_position,
            "pass_index": self.pass_index,
            "last_chosen": self.last_chosen,
            "candidates": [
                {"agent_id": c.agent_id, "open_chats": c.open_chats, "capacity": c.capacity,
                 "last_assigned_at": c.last_assigned_at.isoformat() if c.last_assigned_at else None,
                 "last_assigned_position": c.last_assigned_position}
                for c in self.candidates
            ],
        }

    @property
    def explanation_es(self) -> str:
        """Recorded with the assignment (R5); pages show it in the reader's language from the decision."""
        if self.chosen_agent_id is None:
            return ASSIGNMENT_EXPLANATIONS[""]
        policy = self.policy if self.policy in ASSIGNMENT_EXPLANATIONS else ROUND_ROBIN
        return ASSIGNMENT_EXPLANATIONS[policy] % {"count": len(self.candidates)}


def choose(chat: WaitingChat, agents: Iterable[AgentLoad], policy: str,
           last_chosen: str | None = None) -> RoutingDecision:
    """The decision for one chat: only available members of its campaign under capacity compete."""
    candidates = tuple(sorted((a for a in agents if a.can_take(chat.campaign_id)), key=lambda a: a.agent_id))
    if not candidates:
        return RoutingDecision(chat.chat_id, chat.campaign_id, policy, (), None, last_chosen=last_chosen)
    if policy == ROUND_ROBIN:
        after = [a for a in candidates if last_chosen is not None and a.agent_id > last_chosen]
        chosen = (after or list(candidates))[0]
    else:
        chosen = min(candidates, key=_least_load_key)
    return RoutingDecision(chat.chat_id, chat.campaign_id, policy, candidates, chosen.agent_id,
                           last_chosen=last_chosen)


def dispatch(waiting: Sequence[WaitingChat], agents: Iterable[AgentLoad], policies: Mapping[str, str],
             last_chosen: Mapping[str, str | None], now: datetime, *, basis_position: int = 0,
             taking_chats: Callable[[str], bool] = lambda campaign_id: True) -> list[RoutingDecision]:
    """Decide for every waiting chat, oldest first across campaigns, as loads change with each choice.

    An agent in several campaigns therefore takes the oldest waiting chat among them; within a
    campaign the queue is FIFO (R16) because a chat that finds no agent means no later one can.
    Chats of a campaign not `taking_chats` (outside its hours) wait. Decision k of the pass is made
    on the state at `basis_position` plus the k decisions before it.
    """
    loads = {a.agent_id: a for a in agents}
    members = _members_by_campaign(loads.values())
    cursors = dict(last_chosen)
    # Loads only grow during a pass, so a campaign whose chat found nobody stays served by nobody: its later
    # chats are skipped unexamined, which keeps a pass over a long backlog as cheap as over its head.
    stuck: set[str] = set()
    decisions: list[RoutingDecision] = []
    for chat in sorted(waiting, key=lambda w: (w.queued_position, w.queued_at, w.chat_id)):
        if chat.campaign_id in stuck or not taking_chats(chat.campaign_id):
            continue
        decision = choose(chat, (loads[a] for a in members.get(chat.campaign_id, ())),
                          policies.get(chat.campaign_id, LEAST_LOAD), cursors.get(chat.campaign_id))
        chosen = decision.chosen_agent_id
        if chosen is None:
            stuck.add(chat.campaign_id)
            continue
        # Inside the pass, the k-th choice's place in the log is unknown; it comes after the basis,
        # in pass order, which is all a tie-break needs.
        loads[chosen] = loads[chosen].took_one(now, basis_position + 1 + len(decisions))
        cursors[chat.campaign_id] = chosen
        decisions.append(replace(decision, basis_position=basis_position, pass_index=len(decisions)))
    return decisions


def _members_by_campaign(agents: Iterable[AgentLoad]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for agent in agents:
        for campaign_id in agent.campaigns:
            members.setdefault(campaign_id, []).append(agent.agent_id)
    return members


class ReassignmentError(DomainError):
    pass


def check_reassignment_target(target: AgentLoad | None, campaign_id: str, name: str, *,
                              to_unavailable: bool) -> None:
    """A supervisor reassigns to a member of the chat's campaign (R1) with room (R2) who is available — on
    a break or offline only as an explicit exception (`to_unavailable`), recorded with the reason (R17)."""
    if target is None or campaign_id not in target.campaigns:
        raise ReassignmentError("%(name)s no pertenece a la campaña del chat", name=name)
    if target.open_chats >= target.capacity:
        raise ReassignmentError("%(name)s ya tiene %(open)s chats (capacidad %(capacity)s)", name=name,
                                open=target.open_chats, capacity=target.capacity)
    if not target.available and not to_unavailable:
        raise ReassignmentError("%(name)s no está disponible (en pausa o desconectado): marque la excepción para "
                                "reasignarle el chat de todos modos", name=name)


@dataclass(frozen=True)
class ReassignmentFit:
    """Whether a reassignment to one member goes through (`takes`), only as the recorded exception for someone on
    a break or offline (`exception`), or not at all (`refused`, with the refusal)."""

    agent_id: str
    fit: str
    refusal: ReassignmentError | None = None


def reassignment_fit(target: AgentLoad, campaign_id: str, name: str) -> ReassignmentFit:
    """`check_reassignment_target` asked both ways, so the page shows what a reassignment would do."""
    try:
        check_reassignment_target(target, campaign_id, name, to_unavailable=False)
        return ReassignmentFit(target.agent_id, "takes")
    except ReassignmentError as refused:
        try:
            check_reassignment_target(target, campaign_id, name, to_unavailable=True)
            return ReassignmentFit(target.agent_id, "exception")
        except ReassignmentError:
            return ReassignmentFit(target.agent_id, "refused", refused)


def nobody_can_serve(campaign_id: str, agents: Iterable[AgentLoad]) -> bool:
    """No member of the campaign is available, whatever their load: its waiting chats wait for nobody."""
    return not any(a.available and campaign_id in a.campaigns for a in agents)


def _least_load_key(agent: AgentLoad) -> tuple[float, float, float, str]:
    """Least loaded; then the one longest without a new chat: by the log's order, which never ties, and
    by time where the order is not known."""
    taken = float(agent.last_assigned_position) if agent.last_assigned_position is not None else float("-inf")
    taken_at = agent.last_assigned_at.timestamp() if agent.last_assigned_at else float("-inf")
    return agent.load, taken, taken_at, agent.agent_id
