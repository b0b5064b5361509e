"""Runs a flow one customer message at a time: pure and deterministic, no I/O.

`start` runs when a chat opens (the first message only opens it); `reply` runs on each later
customer message while the chat is in the bot. Both move through states until one waits for
the customer or ends the bot's part (hand-off or close), and return what the bot says.

Identification follows the owner's rules: a document in one campaign identifies the customer;
in several, the number written to decides if it belongs to one of them, otherwise the customer
chooses among the public display names; not found, the flow decides how many attempts before
giving up, and the hand-off then goes to the number's campaign or the unidentified queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.common import DomainError
from domain.documents import CustomerIdentity, InvalidDocumentError
from domain.flows.answers import accepted_answer, matching_label, matching_option, matching_shortcut
from domain.flows.model import (
    CAMPAIGN,
    DOCUMENT_NUMBER,
    DOCUMENT_TYPE,
    NEXT_OPENING,
    NUMBER_CAMPAIGN,
    WITHIN_HOURS,
    Branch,
    CampaignChoice,
    Close,
    Flow,
    GoTo,
    Handoff,
    IdentifyCustomer,
    Menu,
    OnInvalid,
    Question,
    State,
)
from domain.flows.runtime import (
    BotState,
    ChosenBy,
    ClosedByBot,
    HandedOff,
    Identification,
    Outcome,
    Route,
    Step,
    StepKind,
    TurnResult,
)
from domain.flows.text import numbered, render
from domain.flows.world import BotWorld, BusinessHours, CampaignRef

MAX_MOVES_PER_TURN = 100
"""Guards against a flow that loops without waiting for the customer (the checker reports it)."""
NOT_UNDERSTOOD = "No entendí tu respuesta. Inténtalo de nuevo."
SAFETY_HANDOFF_MESSAGE = "Te comunicaremos con un asesor para continuar."


class BotEndedError(DomainError):
    """The bot already handed the chat off or closed it; customer messages go to the agent now."""


def start(flow: Flow, world: BotWorld, now: datetime) -> TurnResult:
    turn = _Turn(flow, world, now, BotState(flow.name, flow.version, flow.start))
    own = world.campaign_of_number_written_to()
    turn.variables[NUMBER_CAMPAIGN] = own.display_name if own else ""
    turn.enter(flow.start)
    return turn.result()


def reply(flow: Flow, bot_state: BotState, text: str, world: BotWorld, now: datetime) -> TurnResult:
    if bot_state.ended:
        raise BotEndedError("El bot ya terminó su parte de esta conversación")
    turn = _Turn(flow, world, now, bot_state)
    current = flow.state(bot_state.state)
    if current is None:
        turn.record(StepKind.RESTARTED, bot_state.state)
        turn.enter(flow.start)
    else:
        turn.answer(current, text)
    return turn.result()


def is_inactive(bot_state: BotState, last_customer_message_at: datetime, now: datetime, flow: Flow) -> bool:
    """Whether the customer left the bot waiting longer than the flow allows (an abandonment)."""
    waited = now - last_customer_message_at
    return not bot_state.ended and waited >= flow.inactivity_limit


class _Turn:
    """The working copy of the bot's state during one turn."""

    def __init__(self, flow: Flow, world: BotWorld, now: datetime, state: BotState) -> None:
        self.flow = flow
        self.world = world
        self.now = now
        self.current = state.state
        self.variables = dict(state.variables)
        self.attempts = dict(state.attempts)
        self.choices = state.choices
        self.campaign_id = state.campaign_id
        self.ended = state.ended
        self.replies: list[str] = []
        self.steps: list[Step] = []
        self.outcome: Outcome = None
        self.identification: Identification | None = None

    def result(self) -> TurnResult:
        state = BotState(self.flow.name, self.flow.version, self.current, self.variables, self.attempts,
                         self.choices, self.campaign_id, self.ended)
        return TurnResult(tuple(self.replies), state, tuple(self.steps), self.outcome, self.identification)

    def record(self, kind: StepKind, state: str, detail: str = "") -> None:
        self.steps.append(Step(kind, state, detail))

    # --- answering the state the bot is waiting in ------------------------------------------

    def answer(self, state: State, text: str) -> None:
        step = state.step
        if isinstance(step, Menu) and (index := matching_option(step.options, text)) is not None:
            self._choose_option(state, step, index)
        elif isinstance(step, CampaignChoice) and (chosen := self._matching_choice(text)) is not None:
            self.record(StepKind.ANSWERED, state.name, f"opción {self.choices.index(chosen) + 1}")
            self._identify_as(chosen, "customer_choice")
            self.enter(step.target)
        elif state.shortcuts_enabled and (shortcut := matching_shortcut(self.flow.shortcuts, text)):
            self.record(StepKind.SHORTCUT, state.name, shortcut.phrases[0])
            self.attempts.pop(state.name, None)
            self.enter(shortcut.target)
        elif isinstance(step, Question) and (value := accepted_answer(step, text, self.variables)) is not None:
            self.record(StepKind.ANSWERED, state.name)
            self._set(state.name, step.save_as, value)
            self.enter(step.target)
        elif isinstance(step, Menu | Question | CampaignChoice):
            self._reject(state, step.on_invalid)
        else:  # the flow changed under a waiting chat and this state no longer waits
            self.enter(state.name)

    def _choose_option(self, state: State, menu: Menu, index: int) -> None:
        option = menu.options[index]
        self.record(StepKind.ANSWERED, state.name, f"opción {index + 1}")
        for name, template in option.set_variables.items():
            self._set(state.name, name, render(template, self.variables))
        self.enter(option.target)

    def _matching_choice(self, text: str) -> CampaignRef | None:
        index = matching_label([c.display_name for c in self.choices], text)
        return None if index is None else self.choices[index]

    def _reject(self, state: State, on_invalid: OnInvalid | None) -> None:
        failures = self.attempts.get(state.name, 0) + 1
        if on_invalid is not None and failures >= on_invalid.max_attempts:
            self.attempts.pop(state.name, None)
            self.record(StepKind.ATTEMPTS_EXHAUSTED, state.name, str(failures))
            self.enter(on_invalid.target)
            return
        self.attempts[state.name] = failures
        self.record(StepKind.INVALID_ANSWER, state.name, str(failures))
        self._say(on_invalid.say if on_invalid else (NOT_UNDERSTOOD,))
        self._show_choices(state)

    # --- moving through states --------------------------------------------------------------

    def enter(self, name: str) -> None:
        for _ in range(MAX_MOVES_PER_TURN):
            state = self.flow.state(name)
            if state is None:
                self._safety_handoff(f"el estado '{name}' no existe")
                return
            self.current = name
            self.record(StepKind.ENTERED, name)
            for variable, template in state.set_variables.items():
                self._set(name, variable, render(template, self.variables))
            next_name = self._run(state)
            if next_name is None:
                return
            name = next_name
        self._safety_handoff("el flujo da vueltas sin esperar al cliente")

    def _run(self, state: State) -> str | None:
        """Do the state's step; the next state's name, or None when the bot waits or ended."""
        step = state.step
        if isinstance(step, Handoff):
            self._hand_off(state, step)
            return None
        self._say(state.say)
        match step:
            case GoTo(target):
                return target
            case Branch():
                return self._branch(step)
            case IdentifyCustomer():
                return self._identify(state, step)
            case Close():
                self.ended = True
                self.outcome = ClosedByBot()
                self.record(StepKind.CLOSED, state.name)
                return None
            case Menu() | Question() | CampaignChoice():
                return self._wait(state, step)
            case _:
                self._safety_handoff(f"el estado '{state.name}' no tiene salida")
                return None

    def _wait(self, state: State, step: Menu | Question | CampaignChoice) -> str | None:
        self.attempts.pop(state.name, None)
        if isinstance(step, CampaignChoice) and not self.choices:
            return step.on_invalid.target if step.on_invalid else step.target
        self._show_choices(state)
        return None

    def _show_choices(self, state: State) -> None:
        step = state.step
        if isinstance(step, Menu):
            self._append_to_last_reply(numbered([option.text for option in step.options]))
        elif isinstance(step, CampaignChoice):
            self._append_to_last_reply(numbered([choice.display_name for choice in self.choices]))

    def _branch(self, branch: Branch) -> str | None:
        for rule in branch.rules:
            facts = self.variables
            if rule.condition.variable == WITHIN_HOURS:
                is_open = self._hours(self._destination()[0]).is_open
                facts = {**self.variables, WITHIN_HOURS: "sí" if is_open else ""}
            if rule.condition.holds(facts):
                return rule.target
        return branch.otherwise

    # --- identification ---------------------------------------------------------------------

    def _identify(self, state: State, step: IdentifyCustomer) -> str:
        matches = self._campaigns_for_document()
        if len(matches) == 1:
            return self._found(state, step, matches[0], "only_match")
        own = self.world.campaign_of_number_written_to()
        if own is not None and (mine := [m for m in matches if m.campaign_id == own.campaign_id]):
            return self._found(state, step, mine[0], "number_written_to")
        if matches:
            self.choices = tuple(matches)
            self.record(StepKind.SEVERAL_CAMPAIGNS, state.name, str(len(matches)))
            return step.several
        failures = self.attempts.get(state.name, 0) + 1
        self.record(StepKind.NOT_FOUND, state.name, f"{failures}/{step.max_attempts}")
        if failures >= step.max_attempts:
            self.attempts.pop(state.name, None)
            return step.attempts_exhausted
        self.attempts[state.name] = failures
        return step.not_found

    def _campaigns_for_document(self) -> list[CampaignRef]:
        customer = self._customer()
        return [] if customer is None else _without_repeats(self.world.campaigns_for_customer(customer))

    def _customer(self) -> CustomerIdentity | None:
        """The identity the customer gave, or None when it cannot be any portfolio's (not found)."""
        try:
            return CustomerIdentity.of(self.variables.get(DOCUMENT_TYPE, ""), self.variables.get(DOCUMENT_NUMBER, ""))
        except InvalidDocumentError:
            return None

    def _found(self, state: State, step: IdentifyCustomer, campaign: CampaignRef, chosen_by: ChosenBy) -> str:
        self.attempts.pop(state.name, None)
        self._identify_as(campaign, chosen_by)
        return step.found

    def _identify_as(self, campaign: CampaignRef, chosen_by: ChosenBy) -> None:
        self.campaign_id = campaign.campaign_id
        self.variables[CAMPAIGN] = campaign.display_name
        self.choices = ()
        customer = self._customer()
        if customer is not None:
            self.identification = Identification(campaign.campaign_id, campaign.display_name,
                                                 customer.document_type, customer.document_number, chosen_by)
        self.record(StepKind.IDENTIFIED, self.current, chosen_by)

    # --- leaving the bot --------------------------------------------------------------------

    def _destination(self) -> tuple[str | None, Route]:
        """The identified campaign, else the number's campaign, else the unidentified queue."""
        if self.campaign_id:
            return self.campaign_id, "identified"
        own = self.world.campaign_of_number_written_to()
        if own is not None:
            self.variables[CAMPAIGN] = own.display_name
            return own.campaign_id, "number_written_to"
        return None, "unidentified_queue"

    def _hours(self, campaign_id: str | None) -> BusinessHours:
        hours = self.world.business_hours(campaign_id, self.now)
        self.variables[NEXT_OPENING] = "" if hours.is_open else hours.next_opening
        return hours

    def _hand_off(self, state: State, step: Handoff) -> None:
        campaign_id, route = self._destination()
        hours = self._hours(campaign_id)
        self._say(state.say if hours.is_open else step.outside_hours_say or state.say)
        self._leave_for(campaign_id, route, hours)
        self.record(StepKind.HANDED_OFF, state.name, route + ("" if hours.is_open else " outside_hours"))

    def _safety_handoff(self, reason: str) -> None:
        campaign_id, route = self._destination()
        hours = self._hours(campaign_id)
        self.record(StepKind.SAFETY_HANDOFF, self.current, reason)
        self._say((SAFETY_HANDOFF_MESSAGE,))
        self._leave_for(campaign_id, route, hours)

    def _leave_for(self, campaign_id: str | None, route: Route, hours: BusinessHours) -> None:
        self.ended = True
        self.outcome = HandedOff(campaign_id, route, not hours.is_open,
                                 "" if hours.is_open else hours.next_opening)

    # --- small helpers ----------------------------------------------------------------------

    def _say(self, templates: Sequence[str]) -> None:
        self.replies.extend(text for t in templates if (text := render(t, self.variables).strip()))

    def _append_to_last_reply(self, text: str) -> None:
        if self.replies:
            self.replies[-1] = f"{self.replies[-1]}\n{text}"
        else:
            self.replies.append(text)

    def _set(self, state: str, name: str, value: str) -> None:
        self.variables[name] = value
        self.record(StepKind.VARIABLE_SET, state, name)


def _without_repeats(campaigns: Sequence[CampaignRef]) -> list[CampaignRef]:
    seen: dict[str, CampaignRef] = {}
    for campaign in campaigns:
        seen.setdefault(campaign.campaign_id, campaign)
    return list(seen.values())
