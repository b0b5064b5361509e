"""Whether an outbound message may go to Twilio now: per-customer caps, the sender's risk, its bucket and the
account's (rules in domain/throttling.py).

A message that must wait is not lost: `SendPostponedError` tells the send worker how long, and the worker
tries again (the send is idempotent by message id). A refusal by a cap is recorded on the message with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from application.ports import BusinessMessageCounts, Clock, RiskLevels, TokenBuckets
from domain.messages import OutboundMessage
from domain.throttling import (
    ACCOUNT_RATE,
    BULK,
    DAY,
    REQUIRED_KINDS,
    WEEK,
    CustomerCaps,
    Pace,
    SenderRates,
    WaitingLine,
    bulk_stopped,
    sender_rate,
)

CUSTOMER_CAP_CODE = "customer_cap"
# How often a business-initiated message held by a sender at critical risk looks again whether it was resumed.
CRITICAL_RECHECK_SECONDS = 60.0


class SendPostponedError(Exception):
    """The message must wait this long before it is tried again."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(f"{reason}: retry in {seconds:.3f} s")
        self.seconds, self.reason = seconds, reason


@dataclass(frozen=True)
class ThrottleSettings:
    account_key: str
    caps: CustomerCaps
    sender_rates: Mapping[str, float] = field(default_factory=dict)
    account_rate: float = ACCOUNT_RATE
    high_risk_fraction: float = 0.5

    def rate_of(self, sender: str) -> float:
        return SenderRates(self.sender_rates).of(sender)


class Throttle:
    def __init__(self, buckets: TokenBuckets, risk: RiskLevels, counts: BusinessMessageCounts, clock: Clock,
                 settings: ThrottleSettings) -> None:
        self.buckets, self.risk, self.counts, self.clock, self.settings = buckets, risk, counts, clock, settings

    def admit(self, message: OutboundMessage, lane: str) -> str | None:
        """None when the message may go now (its tokens are taken); the reason when a cap refuses it; raises
        SendPostponedError when it must wait."""
        message_id, sender = str(message.id), message.sender
        optional_bulk = lane == BULK and message.kind not in REQUIRED_KINDS
        if optional_bulk and (refusal := self._capped(message.to)):
            self.buckets.release(message_id, sender)
            return refusal
        level = self.risk.level_of(sender)
        if optional_bulk and bulk_stopped(level):
            self.buckets.hold(message_id, sender)
            raise SendPostponedError(CRITICAL_RECHECK_SECONDS, "sender at critical risk: business-initiated stopped")
        paces = [(f"sender:{sender}", Pace.of(sender_rate(self.settings.rate_of(sender), level,
                                                          self.settings.high_risk_fraction))),
                 (f"account:{self.settings.account_key}", Pace.of(self.settings.account_rate))]
        wait = self.buckets.take(message_id, sender, lane, paces)
        if wait > 0:
            raise SendPostponedError(wait, "waiting for a token")
        return None

    def waiting_for_token(self) -> dict[str, int]:
        """Messages waiting for a token, per sender: what a sender's page or `despacho risk status` shows."""
        return self.buckets.waiting()

    def waiting_line(self, sender: str) -> WaitingLine:
        """The sender's messages waiting for a token now and the longest wait, across every worker process when the
        buckets are in Redis (each worker records its waiters there)."""
        return self.buckets.waiting_lines().get(sender, WaitingLine())

    def _capped(self, to: str) -> str | None:
        now = self.clock.now()
        last_day, last_week = self.counts.sent_since(to, [now - DAY, now - WEEK])
        return self.settings.caps.refusal(last_day, last_week)
