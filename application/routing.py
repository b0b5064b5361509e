"""Automatic assignment (R4, R5, R16), reassignment and the exceptional manual assignment.

Candidates and their loads come from the routing follower's snapshot of the log, and each
decision records the position it was made at. The decision is applied to the chat and the agent
aggregates in one save, and the agent aggregate re-checks membership, capacity and availability
(R1, R2) on its current version, so a decision the world overtook fails and is made again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.ports import Clock
from application.store import EventStore, retry_on_conflict
from domain.agents import Agent
from domain.business_hours import takes_chats_now
from domain.chats import Chat, ChatError
from domain.common import DomainError, NotAllowedError
from domain.routing import (
    ReassignmentFit,
    RoutingDecision,
    RoutingSnapshot,
    check_reassignment_target,
    dispatch,
    nobody_can_serve,
    reassignment_fit,
)

ROUTER = "system:router"


class RoutingState(Protocol):
    """The routing follower's view of the log: one consistent snapshot, with the position it is at."""

    def snapshot(self, campaign_ids: set[str] | None = None) -> RoutingSnapshot: ...


@dataclass(frozen=True)
class Assigned:
    chat_id: str
    agent_id: str


class AssignmentService:
    def __init__(self, store: EventStore, clock: Clock, state: RoutingState, *,
                 manual_assignment_allowed: Callable[[], bool] = lambda: False) -> None:
        self.store = store
        self.clock = clock
        self.state = state
        self.manual_assignment_allowed = manual_assignment_allowed

    def dispatch(self) -> list[Assigned]:
        """Assign waiting chats, oldest first, while available members of their campaigns can take them.

        Every decision of the pass is made on one snapshot and records its position; the pass
        stops at the first decision the aggregates refuse (someone moved first), because the
        decisions after it assumed it, and the next dispatch starts again from the new state."""
        snapshot = self.state.snapshot()
        if not snapshot.waiting:
            return []
        now = self.clock.now()
        closed = {c for c, s in snapshot.settings.items() if not takes_chats_now(s, now)}
        decisions = dispatch(snapshot.waiting, snapshot.agents,
                             {c: s.routing_policy for c, s in snapshot.settings.items()}, snapshot.last_chosen, now,
                             basis_position=snapshot.position,
                             taking_chats=lambda c: c in snapshot.settings and c not in closed)
        assigned: list[Assigned] = []
        for decision in decisions:
            done = self._apply(decision)
            if done is None:
                break
            assigned.append(done)
        return assigned

    def alert_unserved(self, campaign_id: str | None) -> int:
        """Chats waiting in a campaign none of whose members is available (the unidentified queue): one alert
        each for the supervisors; returns how many were raised."""
        if not campaign_id:
            return 0
        snapshot = self.state.snapshot({campaign_id})
        if not snapshot.waiting or not nobody_can_serve(campaign_id, snapshot.agents):
            return 0
        return sum(self._raise_no_agent_alert(w.chat_id) for w in snapshot.waiting)

    def _raise_no_agent_alert(self, chat_id: str) -> bool:
        def command() -> bool:
            chat = self._chat(chat_id)
            already = chat.no_agent_alerted
            chat.raise_no_agent_alert(actor=ROUTER, at=self.clock.now())
            self.store.save(chat)
            return chat.no_agent_alerted and not already
        raised: bool = retry_on_conflict(command)
        return raised

    def _apply(self, decision: RoutingDecision) -> Assigned | None:
        agent_id = decision.chosen_agent_id or ""
        try:
            chat, agent = self._chat(decision.chat_id), self._agent(agent_id)
            now = self.clock.now()
            agent.take_chat(decision.chat_id, decision.campaign_id, exceptional=False, actor=ROUTER, at=now)
            chat.assign(agent_id, decision.to_dict(), exceptional=False, reason=decision.explanation_es,
                        actor=ROUTER, at=now)
            self.store.save(chat, agent)
        except (DomainError, IntegrityError):
            return None
        return Assigned(decision.chat_id, agent_id)

    def reassign(self, chat_id: str, to_agent_id: str, *, reason: str, actor: str,
                 to_unavailable: bool = False) -> None:
        """A supervisor moves an assigned chat to another available member of its campaign (R4, R17);
        `to_unavailable` is the explicit exception for one on a break or offline, recorded with the reason."""
        def command() -> None:
            chat = self._chat(chat_id)
            if chat.status != "assigned":
                raise ChatError("Solo se reasignan chats ya asignados; la cola se asigna sola")
            previous, target = self._agent(chat.agent_id), self._agent(to_agent_id)
            loads = {a.agent_id: a for a in self.state.snapshot({chat.campaign_id}).agents}
            check_reassignment_target(loads.get(to_agent_id), chat.campaign_id, target.name,
                                      to_unavailable=to_unavailable)
            now = self.clock.now()
            chat.reassign(to_agent_id, reason=reason, to_unavailable=to_unavailable, actor=actor, at=now)
            # The aggregate re-checks membership, capacity and (unless excepted) availability on its version.
            target.take_chat(chat_id, chat.campaign_id, exceptional=to_unavailable, actor=actor, at=now)
            previous.release_chat(chat_id, reason="reassigned", actor=actor, at=now)
            self.store.save(chat, target, previous)
        retry_on_conflict(command)

    def reassignment_fits(self, campaign_id: str, names: dict[str, str]) -> dict[str, ReassignmentFit]:
        """For each member of the campaign, by agent id, what a reassignment to them would do now: routing's own
        check on routing's own view of their status and load."""
        return {load.agent_id: reassignment_fit(load, campaign_id, names.get(load.agent_id, ""))
                for load in self.state.snapshot({campaign_id}).agents if campaign_id in load.campaigns}

    def assign_manually(self, chat_id: str, agent_id: str, *, reason: str, actor: str) -> None:
        """The exceptional assignment from the queue: its own permission, a reason, marked as such (R4)."""
        if not self.manual_assignment_allowed():
            raise NotAllowedError("La asignación manual desde la cola está desactivada "
                                  "(DESPACHO_ALLOW_MANUAL_ASSIGNMENT)")

        def command() -> None:
            chat, agent = self._chat(chat_id), self._agent(agent_id)
            now = self.clock.now()
            agent.take_chat(chat_id, chat.campaign_id, exceptional=True, actor=actor, at=now)
            chat.assign(agent_id, {"policy": "manual", "chosen_agent_id": agent_id}, exceptional=True,
                        reason=reason, actor=actor, at=now)
            self.store.save(chat, agent)
        retry_on_conflict(command)

    def _chat(self, chat_id: str) -> Chat:
        try:
            chat: Chat = self.store.repository.get(UUID(chat_id))
        except AggregateNotFoundError as exc:
            raise ChatError("Chat desconocido") from exc
        return chat

    def _agent(self, agent_id: str) -> Agent:
        try:
            agent: Agent = self.store.repository.get(UUID(agent_id))
        except AggregateNotFoundError as exc:
            raise ChatError("Asesor desconocido") from exc
        return agent
