"""The values a bot turn reads and returns: the bot's state, its steps and the turn's outcome.

`BotState` is what the Chat aggregate stores between customer messages, so it round-trips
through plain JSON-compatible dicts (`to_dict` / `from_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from domain.flows.world import CampaignRef

Route = Literal["identified", "number_written_to", "unidentified_queue"]
ChosenBy = Literal["only_match", "number_written_to", "customer_choice"]


@dataclass(frozen=True)
class BotState:
    flow_name: str
    flow_version: int
    state: str
    variables: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    """Failed attempts per state: invalid answers in a row, or documents not found."""
    choices: tuple[CampaignRef, ...] = ()
    """Campaigns the customer is choosing among, after a document matched several."""
    campaign_id: str = ""
    """The campaign the customer was identified in (or chose); empty until then."""
    ended: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow_name": self.flow_name,
            "flow_version": self.flow_version,
            "state": self.state,
            "variables": dict(self.variables),
            "attempts": dict(self.attempts),
            "choices": [{"campaign_id": c.campaign_id, "display_name": c.display_name} for c in self.choices],
            "campaign_id": self.campaign_id,
            "ended": self.ended,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BotState:
        return cls(
            flow_name=str(data["flow_name"]),
            flow_version=int(data["flow_version"]),
            state=str(data["state"]),
            variables={str(k): str(v) for k, v in dict(data.get("variables", {})).items()},
            attempts={str(k): int(v) for k, v in dict(data.get("attempts", {})).items()},
            choices=tuple(CampaignRef(str(c["campaign_id"]), str(c["display_name"]))
                          for c in data.get("choices", [])),
            campaign_id=str(data.get("campaign_id", "")),
            ended=bool(data.get("ended", False)),
        )


class StepKind(StrEnum):
    ENTERED = "entered"
    VARIABLE_SET = "variable_set"
    ANSWERED = "answered"
    INVALID_ANSWER = "invalid_answer"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    SHORTCUT = "shortcut"
    IDENTIFIED = "identified"
    SEVERAL_CAMPAIGNS = "several_campaigns"
    NOT_FOUND = "not_found"
    HANDED_OFF = "handed_off"
    CLOSED = "closed"
    RESTARTED = "restarted"
    """The stored state no longer exists in the flow (it was edited): the bot started over."""
    SAFETY_HANDOFF = "safety_handoff"
    """The flow could not go on (a flaw the checker reports); the bot handed the chat off."""


@dataclass(frozen=True)
class Step:
    """One thing the bot did, for the transcript and the bot metrics."""

    kind: StepKind
    state: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "state": self.state, "detail": self.detail}


@dataclass(frozen=True)
class HandedOff:
    """The chat leaves the bot for a queue: a campaign's, or the unidentified queue (campaign_id None)."""

    campaign_id: str | None
    route: Route
    outside_hours: bool
    next_opening: str = ""

    @property
    def to_unidentified_queue(self) -> bool:
        return self.campaign_id is None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "handed_off", "campaign_id": self.campaign_id, "route": self.route,
                "outside_hours": self.outside_hours, "next_opening": self.next_opening}


@dataclass(frozen=True)
class ClosedByBot:
    """The bot resolved the conversation on its own ("bot containment")."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "closed_by_bot"}


Outcome = HandedOff | ClosedByBot | None


@dataclass(frozen=True)
class Identification:
    """The customer's document led to one campaign during this turn."""

    campaign_id: str
    display_name: str
    document_type: str
    document_number: str
    chosen_by: ChosenBy


@dataclass(frozen=True)
class TurnResult:
    replies: tuple[str, ...]
    state: BotState
    steps: tuple[Step, ...]
    outcome: Outcome
    identification: Identification | None = None

    @property
    def states_entered(self) -> list[str]:
        return [step.state for step in self.steps if step.kind is StepKind.ENTERED]
