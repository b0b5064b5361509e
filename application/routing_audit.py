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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.log_replay import World, apply, read_log
from application.store import EventStore
from domain.business_hours import is_open
from domain.chats import Chat

NOTHING_TO_ASSIGN = "en ese punto la política no asigna ningún chat más"


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
    bases = {event.decision["basis_position"] for _, event in read_log(store) if _is_checkable(event)}
    world, states = World(), {}
    expected: dict[int, list[dict[str, Any]]] = {}
    report = RoutingAudit()
    for position, event in read_log(store):
        for basis in [b for b in bases if b < position and b not in states]:
            states[basis] = copy.deepcopy(world)
        if isinstance(event, Chat.AgentAssigned) and not event.exceptional and _in_range(event, since, until,
                                                                                         campaign_id):
            _check(report, position, event, states, expected)
        apply(world, position, event)
    return report


def _is_checkable(event: Any) -> bool:
    return isinstance(event, Chat.AgentAssigned) and not event.exceptional and "basis_position" in event.decision


def _in_range(event: Any, since: datetime | None, until: datetime | None, campaign_id: str | None) -> bool:
    return ((since is None or event.at >= since) and (until is None or event.at <= until)
            and (campaign_id is None or event.decision.get("campaign_id") == campaign_id))


def _check(report: RoutingAudit, position: int, event: Any, states: dict[int, World],
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


def _overtakes(world: World, position: int, chat_id: str, campaign: str, agent_id: str,
               earlier_in_pass: list[dict[str, Any]]) -> list[Finding]:
    """Older waiting chats of the campaign the chosen agent could have taken instead (R16)."""
    if chat_id not in world.queue:
        return [Finding(position, chat_id, campaign, "el chat no esperaba en la cola en ese punto")]
    taken = {d["chat_id"] for d in earlier_in_pass}
    queued_at = world.queue[chat_id].position
    older = [c for c, w in world.queue.items() if w.campaign_id == campaign and w.position < queued_at
             and c not in taken]
    agent = world.agents.get(agent_id)
    if older and agent is not None and campaign in agent.campaigns:
        return [Finding(position, chat_id, campaign,
                        f"pasó delante de {len(older)} chat(s) más antiguo(s) de la cola (R16)")]
    return []


def _policy_pass(world: World, basis: int, now: datetime) -> list[dict[str, Any]]:
    """The decisions the policy makes on `world`, in queue order, each counting the ones before it."""
    world = copy.deepcopy(world)
    decisions: list[dict[str, Any]] = []
    for chat_id, waiting in sorted(world.queue.items(), key=lambda item: item[1].position):
        campaign = waiting.campaign_id
        known = world.campaigns.get(campaign)
        if known is None or not is_open(known.settings, now):
            continue
        settings = known.settings
        candidates = sorted((agent_id, a) for agent_id, a in world.agents.items() if a.can_take(campaign))
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
