"""Bot flows: flows as data, a pure interpreter, a checker and scripted conversation tests.

Typical use from the application layer:

    result = start(flow, world, now)                       # when a chat opens
    result = reply(flow, bot_state, text, world, now)      # on each later customer message
    problems = check_flow(flow)                            # before a flow is published
"""

from domain.flows.checker import FlowProblem, check_flow
from domain.flows.conditions import Condition, ConditionSyntaxError, parse_condition
from domain.flows.interpreter import BotEndedError, is_inactive, reply, start
from domain.flows.model import (
    Branch,
    CampaignChoice,
    Close,
    Flow,
    FlowError,
    GoTo,
    Handoff,
    IdentifyCustomer,
    Menu,
    OnInvalid,
    Option,
    Question,
    Rule,
    Shortcut,
    State,
)
from domain.flows.runtime import (
    BotState,
    ClosedByBot,
    HandedOff,
    Identification,
    Outcome,
    Step,
    StepKind,
    TurnResult,
)
from domain.flows.scenarios import (
    UNIDENTIFIED_QUEUE,
    ExpectedStep,
    Scenario,
    ScenarioResult,
    ScriptedCampaign,
    ScriptedQueue,
    ScriptedWorld,
    run_scenario,
)
from domain.flows.world import BotWorld, BusinessHours, CampaignRef

__all__ = [
    "UNIDENTIFIED_QUEUE",
    "BotEndedError",
    "BotState",
    "BotWorld",
    "Branch",
    "BusinessHours",
    "CampaignChoice",
    "CampaignRef",
    "Close",
    "ClosedByBot",
    "Condition",
    "ConditionSyntaxError",
    "ExpectedStep",
    "Flow",
    "FlowError",
    "FlowProblem",
    "GoTo",
    "HandedOff",
    "Handoff",
    "Identification",
    "IdentifyCustomer",
    "Menu",
    "OnInvalid",
    "Option",
    "Outcome",
    "Question",
    "Rule",
    "Scenario",
    "ScenarioResult",
    "ScriptedCampaign",
    "ScriptedQueue",
    "ScriptedWorld",
    "Shortcut",
    "State",
    "Step",
    "StepKind",
    "TurnResult",
    "check_flow",
    "is_inactive",
    "parse_condition",
    "reply",
    "run_scenario",
    "start",
]
