"""Scripted conversations that test a flow: the customer says X, the bot answers Y, state Z.

A scenario runs against a `ScriptedWorld`, a fake of the outside world described in the test
file (which documents belong to which campaigns, who owns the number written to, which queues
are open). Failures are Spanish sentences for the operations staff who write flows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.documents import CustomerIdentity
from domain.flows.interpreter import reply, start
from domain.flows.model import Flow
from domain.flows.runtime import BotState, ClosedByBot, HandedOff, TurnResult
from domain.flows.world import BusinessHours, CampaignRef

UNIDENTIFIED_QUEUE = "cola_sin_identificar"
SCENARIO_TIME = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
"""Scenarios do not depend on the clock: queue hours are scripted, this instant only fills the call."""


@dataclass(frozen=True)
class ScriptedQueue:
    is_open: bool = True
    next_opening: str = "mañana a las 8:00 a. m."


@dataclass(frozen=True)
class ScriptedCampaign:
    key: str
    display_name: str
    hours: ScriptedQueue = field(default_factory=ScriptedQueue)


@dataclass(frozen=True)
class ScriptedWorld:
    campaigns: dict[str, ScriptedCampaign] = field(default_factory=dict)
    documents: dict[CustomerIdentity, tuple[str, ...]] = field(default_factory=dict)
    """CC 1020304050 → keys of the campaigns whose portfolio holds that document."""
    number_owner: str | None = None
    unidentified_queue: ScriptedQueue = field(default_factory=ScriptedQueue)

    def campaigns_for_customer(self, customer: CustomerIdentity) -> Sequence[CampaignRef]:
        return [self._ref(key) for key in self.documents.get(customer, ()) if key in self.campaigns]

    def campaign_of_number_written_to(self) -> CampaignRef | None:
        return self._ref(self.number_owner) if self.number_owner in self.campaigns else None

    def business_hours(self, campaign_id: str | None, at: datetime) -> BusinessHours:
        campaign = self.campaigns.get(campaign_id or "")
        queue = campaign.hours if campaign else self.unidentified_queue
        return BusinessHours(queue.is_open, "" if queue.is_open else queue.next_opening)

    def _ref(self, key: str | None) -> CampaignRef:
        campaign = self.campaigns[key or ""]
        return CampaignRef(campaign.key, campaign.display_name)


@dataclass(frozen=True)
class ExpectedStep:
    customer: str
    bot_says: tuple[str, ...] | None = None
    """Pieces of text the bot's replies must contain, in this order (case ignored)."""
    bot_says_exactly: tuple[str, ...] | None = None
    state: str | None = None
    handed_off_to: str | None = None
    """A campaign key of the world, or UNIDENTIFIED_QUEUE."""
    outside_hours: bool | None = None
    closed: bool | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    world: ScriptedWorld
    steps: tuple[ExpectedStep, ...]


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    failures: tuple[str, ...]
    visited_states: frozenset[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def run_scenario(flow: Flow, scenario: Scenario) -> ScenarioResult:
    """Play the customer's messages; stop at the first step that does not go as written."""
    visited: set[str] = set()
    state: BotState | None = None
    for number, expected in enumerate(scenario.steps, start=1):
        where = f"paso {number} (cliente: «{expected.customer}»)"
        if state is not None and state.ended:
            return ScenarioResult(scenario.name, (f"{where}: el bot ya había terminado su parte "
                                                  "(transfirió o cerró) antes de este mensaje.",), frozenset(visited))
        turn = (start(flow, scenario.world, SCENARIO_TIME) if state is None
                else reply(flow, state, expected.customer, scenario.world, SCENARIO_TIME))
        visited.update(turn.states_entered)
        state = turn.state
        failures = [f"{where}: {failure}" for failure in step_failures(expected, turn)]
        if failures:
            return ScenarioResult(scenario.name, tuple(failures), frozenset(visited))
    return ScenarioResult(scenario.name, (), frozenset(visited))


def step_failures(expected: ExpectedStep, turn: TurnResult) -> list[str]:
    said = "\n".join(turn.replies)
    failures = []
    if expected.bot_says is not None:
        failures += _missing_text(expected.bot_says, turn.replies)
    if expected.bot_says_exactly is not None and tuple(expected.bot_says_exactly) != turn.replies:
        failures.append(f"el bot debía decir exactamente «{' | '.join(expected.bot_says_exactly)}» "
                        f"y dijo «{' | '.join(turn.replies)}».")
    if expected.state is not None and expected.state != turn.state.state:
        failures.append(f"el estado debía ser '{expected.state}' y es '{turn.state.state}'. El bot dijo: «{said}».")
    return failures + _outcome_failures(expected, turn)


def _missing_text(pieces: Sequence[str], replies: Sequence[str]) -> list[str]:
    said = "\n".join(replies)
    remaining = said.casefold()
    for piece in pieces:
        position = remaining.find(piece.casefold())
        if position < 0:
            return [f"el bot debía decir «{piece}» y dijo: «{said}»."]
        remaining = remaining[position + len(piece.casefold()):]
    return []


def _outcome_failures(expected: ExpectedStep, turn: TurnResult) -> list[str]:
    outcome = turn.outcome
    if isinstance(outcome, HandedOff):
        destination = outcome.campaign_id or UNIDENTIFIED_QUEUE
        if expected.handed_off_to is None:
            return [f"el bot transfirió el chat a '{destination}', pero la prueba no lo esperaba "
                    "(agregue transferido_a)."]
        if expected.handed_off_to != destination:
            return [f"el chat debía ir a '{expected.handed_off_to}' y fue a '{destination}'."]
        if expected.outside_hours is not None and expected.outside_hours != outcome.outside_hours:
            return ["la transferencia debía ser " + ("fuera" if expected.outside_hours else "dentro")
                    + " del horario de atención."]
        return []
    if isinstance(outcome, ClosedByBot):
        return [] if expected.closed else ["el bot cerró la conversación, pero la prueba no lo esperaba "
                                           "(agregue cerrado: sí)."]
    if expected.handed_off_to is not None:
        return [f"el chat debía transferirse a '{expected.handed_off_to}' y sigue en el bot."]
    if expected.closed:
        return ["el bot debía cerrar la conversación y sigue en el bot."]
    return []
