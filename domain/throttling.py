"""Sending at each sender's pace: token buckets, the two lanes, per-customer caps and what risk changes.

Twilio sends 80 messages/s per WhatsApp sender by default, 1/s per SMS long code and 2,000/s per
account; what goes faster waits in Twilio's queue and fails after 4 hours (30001), and bursts to
one customer are what gets a number reported. So Despacho takes a token per message from the
sender's bucket and the account's before handing it to Twilio.

Two lanes share each bucket. Replies (the customer wrote within the last 24 hours: the bot, the
agent, the close's confirmation, the opt-out acknowledgement) need one token. Business-initiated
messages (a template to a customer whose service window is closed, a proactive send) need
`1 + BULK_RESERVE` tokens and take one: they never take the last token, so a reply finds it,
or has it within one token interval, however much bulk is waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.messaging_rules import whatsapp_window_open

REPLY = "reply"
BULK = "bulk"
BULK_RESERVE = 1.0
BURST_SECONDS = 1.0  # a bucket holds one second of its rate: Twilio's own queue absorbs nothing more for us
WHATSAPP_RATE = 80.0
SMS_LONG_CODE_RATE = 1.0
SHORT_CODE_RATE = 100.0
ACCOUNT_RATE = 2000.0
RISK_LEVELS = ("ok", "watch", "high", "critical")
# The close's confirmation is required of every close (R8) and ends a conversation the customer had: when the
# window is closed it is paced like bulk, and counted, but never refused by a cap nor stopped at critical risk.
REQUIRED_KINDS = frozenset({"closing"})
DAY, WEEK = timedelta(hours=24), timedelta(days=7)


@dataclass(frozen=True)
class Bucket:
    """One bucket's fill at an instant (seconds on any monotonic scale)."""

    tokens: float
    at: float


@dataclass(frozen=True)
class Pace:
    rate: float  # tokens per second, > 0
    capacity: float

    @classmethod
    def of(cls, rate: float) -> Pace:
        if rate <= 0:
            raise ValueError("a bucket's rate must be positive")
        return cls(rate, max(rate * BURST_SECONDS, 1.0) + BULK_RESERVE)


def needed(lane: str) -> float:
    """Tokens that must be in a bucket for a message of this lane to take one."""
    return 1.0 + (BULK_RESERVE if lane == BULK else 0.0)


def refilled(bucket: Bucket | None, pace: Pace, now: float) -> Bucket:
    if bucket is None:
        return Bucket(pace.capacity, now)
    return Bucket(min(pace.capacity, bucket.tokens + max(0.0, now - bucket.at) * pace.rate), now)


def wait_for(bucket: Bucket, pace: Pace, lane: str, ahead: int = 0) -> float:
    """Seconds until this refilled bucket can give the lane a token (0: now), when `ahead` messages of the lane
    are already waiting for theirs: each waiter sleeps until its own turn instead of all waking for every token."""
    missing = needed(lane) - bucket.tokens
    return 0.0 if missing <= 0 else (missing + ahead) / pace.rate


def take(buckets: list[tuple[Bucket | None, Pace]], lane: str, now: float,
         ahead: int = 0) -> tuple[float, list[Bucket]]:
    """A token from every bucket at once, or from none: (0, the buckets after taking) when granted, else
    (seconds to wait, the buckets refilled). The Redis script in adapters/token_buckets.py does the same."""
    filled = [refilled(bucket, pace, now) for bucket, pace in buckets]
    wait = max(wait_for(bucket, pace, lane, ahead) for bucket, (_, pace) in zip(filled, buckets, strict=True))
    if wait > 0:
        return wait, filled
    return 0.0, [Bucket(bucket.tokens - 1.0, now) for bucket in filled]


def default_rate(sender: str) -> float:
    """Twilio's default throughput for a sender: WhatsApp 80/s, an SMS long code 1/s, a short code 100/s; a
    Messaging Service (MG…) or anything else is paced like a long code until its rate is configured."""
    if sender.startswith("whatsapp:"):
        return WHATSAPP_RATE
    if sender.isdigit() and len(sender) in (5, 6):
        return SHORT_CODE_RATE
    return SMS_LONG_CODE_RATE


@dataclass(frozen=True)
class WaitingLine:
    """A sender's messages waiting for a token now: how many, and how long the one waiting longest has waited."""

    count: int = 0
    oldest_seconds: float = 0.0


@dataclass(frozen=True)
class SenderRates:
    """The one answer to "how fast may this sender send": its configured rate (`DESPACHO_SENDER_RATES`, what
    Twilio granted it), else Twilio's default. The throttle paces by it and the risk signals measure against it."""

    configured: Mapping[str, float] = field(default_factory=dict)

    def of(self, sender: str) -> float:
        return self.configured.get(sender) or default_rate(sender)


def lane_of(last_customer_message_at: datetime | None, now: datetime) -> str:
    """A reply while the customer's service window is open (they wrote within 24 hours), else business-initiated."""
    return REPLY if whatsapp_window_open(last_customer_message_at, now) else BULK


def sender_rate(rate: float, level: str, high_fraction: float) -> float:
    """At `high` risk a sender slows to a fraction of its rate, for replies and bulk alike."""
    return rate * high_fraction if level in ("high", "critical") else rate


def bulk_stopped(level: str) -> bool:
    """At `critical` risk business-initiated sends wait until the level comes down (an admin resumes them)."""
    return level == "critical"


@dataclass(frozen=True)
class CustomerCaps:
    """At most `per_day` business-initiated messages to one customer per 24 hours and `per_week` per 7 days."""

    per_day: int
    per_week: int

    def refusal(self, sent_last_day: int, sent_last_week: int) -> str | None:
        """Why one more business-initiated message may not go to this customer now (Spanish), or None."""
        if sent_last_day >= self.per_day:
            return (f"El cliente ya recibió {sent_last_day} mensajes iniciados por la empresa en las últimas 24 "
                    f"horas (máximo {self.per_day}); Despacho no lo envió.")
        if sent_last_week >= self.per_week:
            return (f"El cliente ya recibió {sent_last_week} mensajes iniciados por la empresa en los últimos 7 "
                    f"días (máximo {self.per_week}); Despacho no lo envió.")
        return None
