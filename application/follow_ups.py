"""What must happen after each committed event: follow-up work, decided in one place by event type.

A follower of the event log (`projections/follow_ups.py`) asks `FollowUpPolicy.after` about every
event in log order and records the answer with its position, in one transaction; workers then run
each follow-up at least once, through actors that are idempotent by id. No route, actor or use case
enqueues the next step after a save: a crash anywhere between a save and Twilio loses nothing,
because the event is in the log and the follower has either recorded its follow-ups or will.

Routing is the one reaction not listed here: the routing follower (`projections/routing.py`)
decides assignments itself, on its own exact view of the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from domain.broadcasts import Broadcast
from domain.chats import Chat
from domain.messages import InboundMessage, OutboundMessage, media_in
from domain.portfolios import PortfolioJob

PROCESS_CHAT = "process_chat"
SEND_MESSAGE = "send_message"
FINISH_CLOSE = "finish_close"
IMPORT_PORTFOLIO = "import_portfolio"
REPORT_FAKE_DELIVERY = "report_fake_delivery"
KEEP_ATTACHMENTS = "keep_attachments"
START_BROADCAST = "start_broadcast"
SEND_BROADCAST_WAVE = "send_broadcast_wave"
JOBS = (PROCESS_CHAT, SEND_MESSAGE, FINISH_CLOSE, IMPORT_PORTFOLIO, REPORT_FAKE_DELIVERY, KEEP_ATTACHMENTS,
        START_BROADCAST, SEND_BROADCAST_WAVE)


@dataclass(frozen=True)
class FollowUp:
    """One piece of work an event calls for: the job (an actor's name) and its arguments (ids)."""

    job: str
    args: tuple[str, ...]
    delay_seconds: float = 0

    def id_for(self, event: Any) -> str:
        """The same event always asks for the same follow-up id, so a replayed batch adds nothing new."""
        cause = f"{event.originator_id}:{event.originator_version}"
        return str(uuid5(NAMESPACE_URL, f"despacho:follow-up:{cause}:{self.job}:{json.dumps(self.args)}"))


class FollowUpPolicy:
    """Per event type, the follow-ups it calls for. `fake_delivery_seconds` is the embedded demo's stand-in
    for Twilio's status callbacks: the fake transport reports `sent` and `delivered` that long after a
    submission (0: never)."""

    def __init__(self, *, fake_delivery_seconds: float = 0) -> None:
        self._policies: dict[type, Callable[[Any], list[FollowUp]]] = {
            Chat.CustomerWrote: _bot_turn,
            Chat.Closed: _close_work,
            OutboundMessage.Requested: _send,
            PortfolioJob.Queued: _portfolio_import,
            InboundMessage.Received: _attachments,
            Broadcast.Scheduled: _broadcast_start,
            Broadcast.Started: lambda event: [_wave(event, 0)],
            Broadcast.WaveSent: lambda event: [_wave(event, event.wave + 1, event.next_in_seconds)],
            Broadcast.Resumed: _next_wave,
            Broadcast.HeldByRisk: _next_wave,
            Broadcast.ContinuedAfterRisk: _next_wave,
        }
        if fake_delivery_seconds > 0:
            self._policies[OutboundMessage.Submitted] = lambda event: [
                FollowUp(REPORT_FAKE_DELIVERY, (str(event.originator_id),), delay_seconds=fake_delivery_seconds)]

    @property
    def event_types(self) -> tuple[type, ...]:
        return tuple(self._policies)

    def after(self, event: Any) -> list[FollowUp]:
        policy = self._policies.get(type(event))
        return policy(event) if policy else []


def _bot_turn(event: Any) -> list[FollowUp]:
    """Every customer message gets the bot's turn; the turn does nothing once the chat left the bot."""
    return [FollowUp(PROCESS_CHAT, (str(event.originator_id),))]


def _attachments(event: Any) -> list[FollowUp]:
    """A customer's attachments are copied from Twilio into Despacho's storage (application/media.py)."""
    return [FollowUp(KEEP_ATTACHMENTS, (str(event.originator_id),))] if media_in(event.params) else []


def _close_work(event: Any) -> list[FollowUp]:
    """A close, whatever closed it, is finished with one confirmation and one transcript (R8)."""
    return [FollowUp(FINISH_CLOSE, (str(event.originator_id),))]


def _send(event: Any) -> list[FollowUp]:
    return [FollowUp(SEND_MESSAGE, (str(event.originator_id),))]


def _portfolio_import(event: Any) -> list[FollowUp]:
    return [FollowUp(IMPORT_PORTFOLIO, (str(event.originator_id),))]


def _broadcast_start(event: Any) -> list[FollowUp]:
    """A scheduled broadcast starts at its time (the job checks the clock again: a follow-up may come early)."""
    delay = max(0.0, (event.start_at - event.at).total_seconds())
    return [FollowUp(START_BROADCAST, (str(event.originator_id),), delay_seconds=delay)]


def _next_wave(event: Any) -> list[FollowUp]:
    """Resumed, held or continued: the wave it stopped at (held, the job waits until the sender is resumed)."""
    return [_wave(event, event.next_wave)]


def _wave(event: Any, wave: int, delay_seconds: float = 0) -> FollowUp:
    """Waves follow each other at the sender's pace; the number makes a repeated or overtaken job do nothing."""
    return FollowUp(SEND_BROADCAST_WAVE, (str(event.originator_id), str(wave)), delay_seconds=delay_seconds)
