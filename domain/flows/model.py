"""A bot flow as data: named states, each saying something and then doing one thing.

A state says its messages when the bot enters it, sets any variables it declares, and then
takes exactly one `step`: move on (GoTo, Branch, IdentifyCustomer), wait for the customer
(Menu, Question, CampaignChoice) or end the bot's part of the chat (Handoff, Close). A state
without a step is a dead end, which the checker reports.

The model is permissive on purpose (targets are plain names, error handling is optional) so
that a broken flow can be loaded and every problem in it reported at once by `check_flow`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from domain.common import DomainError
from domain.flows.conditions import Condition

AnswerFormat = Literal["digits", "text", "pattern", "document"]

# Variables the interpreter fills or reads; flows use them by these (Spanish) names.
NUMBER_CAMPAIGN = "campana_del_numero"
"""Public name of the campaign that owns the number written to; empty when none does."""
CAMPAIGN = "campana"
"""Public name of the campaign the chat goes to, once known."""
NEXT_OPENING = "proxima_apertura"
"""When agents are back, e.g. 'mañana a las 8:00 a. m.'; filled when the queue is closed."""
DOCUMENT_TYPE = "tipo_documento"
DOCUMENT_NUMBER = "numero_documento"
WITHIN_HOURS = "dentro_de_horario"
"""Computed only inside conditions: has a value when the destination queue is open."""
FILLED_BY_BOT = frozenset({NUMBER_CAMPAIGN, CAMPAIGN, NEXT_OPENING})


class FlowError(DomainError):
    """A flow cannot be used as given; the message (Spanish) says why."""


@dataclass(frozen=True)
class OnInvalid:
    """What happens when the customer's answer is not accepted."""

    say: tuple[str, ...]
    max_attempts: int
    target: str
    """Where to go once `max_attempts` answers in a row were not accepted."""


@dataclass(frozen=True)
class Option:
    text: str
    target: str
    also_accepts: tuple[str, ...] = ()
    set_variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GoTo:
    target: str


@dataclass(frozen=True)
class Rule:
    condition: Condition
    target: str


@dataclass(frozen=True)
class Branch:
    """The first rule whose condition holds decides; `otherwise` when none does."""

    rules: tuple[Rule, ...]
    otherwise: str | None


@dataclass(frozen=True)
class Menu:
    options: tuple[Option, ...]
    on_invalid: OnInvalid | None


@dataclass(frozen=True)
class Question:
    """Free text, validated, stored in a variable. A `document` answer is a number of the type in
    `tipo_documento`, checked and stored as the portfolio holds it (min and max do not apply)."""

    save_as: str
    target: str
    on_invalid: OnInvalid | None
    format: AnswerFormat = "text"
    min_length: int = 1
    max_length: int = 500
    pattern: str = ""


@dataclass(frozen=True)
class CampaignChoice:
    """A menu whose options are the campaigns the customer's document was found in."""

    target: str
    on_invalid: OnInvalid | None


@dataclass(frozen=True)
class IdentifyCustomer:
    """Look up the document in variables `tipo_documento` and `numero_documento`."""

    found: str
    several: str
    not_found: str
    max_attempts: int
    attempts_exhausted: str


@dataclass(frozen=True)
class Handoff:
    """Hand the chat to an agent's queue; `outside_hours_say` replaces `say` when the queue is closed."""

    outside_hours_say: tuple[str, ...]


@dataclass(frozen=True)
class Close:
    """The bot resolved the conversation by itself."""


StateStep = GoTo | Branch | Menu | Question | CampaignChoice | IdentifyCustomer | Handoff | Close
WAITING_STEPS = (Menu, Question, CampaignChoice)
FINAL_STEPS = (Handoff, Close)


@dataclass(frozen=True)
class State:
    name: str
    say: tuple[str, ...] = ()
    set_variables: dict[str, str] = field(default_factory=dict)
    step: StateStep | None = None
    shortcuts_enabled: bool = True

    @property
    def waits_for_customer(self) -> bool:
        return isinstance(self.step, WAITING_STEPS)

    @property
    def is_final(self) -> bool:
        return isinstance(self.step, FINAL_STEPS)


@dataclass(frozen=True)
class Shortcut:
    """Phrases the customer may write in any state (unless the state opts out) to jump to `target`."""

    phrases: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class Flow:
    name: str
    version: int
    start: str
    states: dict[str, State]
    shortcuts: tuple[Shortcut, ...] = ()
    inactivity_minutes: int = 30
    description: str = ""

    def state(self, name: str) -> State | None:
        return self.states.get(name)

    @property
    def inactivity_limit(self) -> timedelta:
        """How long the bot waits for the customer before counting them as gone (a drop)."""
        return timedelta(minutes=self.inactivity_minutes)


def targets_of(step: StateStep | None) -> list[tuple[str, str]]:
    """Every state a step can lead to, each with a Spanish description of the way out."""
    match step:
        case GoTo(target):
            return [("ir_a", target)]
        case Branch(rules, otherwise):
            ways = [(f"la condición {n} ('{rule.condition.text}')", rule.target)
                    for n, rule in enumerate(rules, start=1)]
            return ways + ([("si_no", otherwise)] if otherwise else [])
        case Menu(options, on_invalid):
            return [(f"la opción {n}", option.target) for n, option in enumerate(options, start=1)] \
                + _invalid_way(on_invalid)
        case Question(target=target, on_invalid=on_invalid) | CampaignChoice(target, on_invalid):
            return [("ir_a", target), *_invalid_way(on_invalid)]
        case IdentifyCustomer(found, several, not_found, _, exhausted):
            return [("si_encontrado", found), ("si_varias_campanas", several),
                    ("si_no_encontrado", not_found), ("si_se_agotan_intentos", exhausted)]
        case _:
            return []


def _invalid_way(on_invalid: OnInvalid | None) -> list[tuple[str, str]]:
    return [("si_invalido", on_invalid.target)] if on_invalid else []
