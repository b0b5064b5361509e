"""Interfaces the use cases need from the outside, implemented in adapters/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.throttling import Pace, WaitingLine


class Clock(Protocol):
    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class FailedLoginLimits(Protocol):
    """Counts failed sign-ins per account and per client address, over a moving window."""

    def seconds_blocked(self, login: str, client_address: str) -> float | None:
        """How long until another attempt is allowed, when either count is exhausted; None when allowed."""
        ...

    def count_failure(self, login: str, client_address: str) -> None: ...

    def forget_account(self, login: str) -> None:
        """After a successful sign-in the account's own count starts again (the address's does not)."""
        ...


@dataclass(frozen=True)
class Delivery:
    """What the send worker hands the transport: everything Twilio needs, nothing else.

    `sender` is a WhatsApp sender (`whatsapp:+57...`), an SMS number (`+57...`) or a Messaging
    Service SID (`MG...`). `message_id` is Despacho's id for the message; it travels in the
    status-callback URL so a message can be found at Twilio after a crash (see `find_sent`).
    """

    message_id: str
    to: str
    sender: str
    body: str = ""
    content_sid: str = ""
    content_variables: dict[str, str] = field(default_factory=dict)
    status_callback: str = ""
    media_url: str = ""
    """Where Twilio fetches the file the message carries: a signed address that expires (adapters/file_links.py)."""


@dataclass(frozen=True)
class Submitted:
    sid: str
    status: str


class SendFailedError(Exception):
    """Twilio refused or could not be reached. `retryable` says whether trying later may help."""

    def __init__(self, code: str, reason: str, *, retryable: bool, opted_out: bool = False) -> None:
        super().__init__(reason)
        self.code, self.reason, self.retryable, self.opted_out = code, reason, retryable, opted_out


@dataclass(frozen=True)
class ReportedStatus:
    """What Twilio says about a message it accepted, when asked (reconciliation)."""

    status: str
    error_code: str = ""
    error_message: str = ""


class Transport(Protocol):
    def send(self, delivery: Delivery) -> Submitted: ...

    def current_status(self, sid: str) -> ReportedStatus | None:
        """Ask Twilio for a message's status now; None when it cannot say (unknown SID, unreachable)."""

    def find_sent(self, delivery: Delivery) -> Submitted | None:
        """The message Twilio already accepted for this delivery, if an earlier attempt got through."""


class RiskLevels(Protocol):
    """The risk level of a sender: `ok`, `watch`, `high` or `critical` (see domain/throttling.py for what each
    changes in the pace of its messages)."""

    def level_of(self, sender: str) -> str: ...


class TokenBuckets(Protocol):
    """Token buckets shared by every process that sends (Redis), or by this process's threads (embedded)."""

    def take(self, message_id: str, sender: str, lane: str, buckets: Sequence[tuple[str, Pace]]) -> float:
        """A token from every named bucket at once, or none: 0 when granted, else the seconds to wait (the message
        then counts as waiting for `sender` until it is granted or released)."""
        ...

    def hold(self, message_id: str, sender: str) -> None:
        """Count a message as waiting for its sender without trying to take a token."""

    def release(self, message_id: str, sender: str) -> None:
        """The message waits no more (it was refused)."""

    def waiting(self) -> dict[str, int]:
        """Messages waiting for a token, per sender (each counted once, however often it tried)."""
        ...

    def waiting_lines(self) -> dict[str, WaitingLine]:
        """Per sender with messages waiting: how many, and the longest wait since each first asked (or was held)."""
        ...


class BusinessMessageCounts(Protocol):
    def sent_since(self, to: str, since: Sequence[datetime]) -> list[int]:
        """Business-initiated messages (templates) handed to Twilio for this customer since each instant."""
        ...
