"""Delivery problems worth a supervisor's attention, and agent retries of failed messages.

Each alert has a natural id (the message, or the sender/campaign and the time window, or the
account problem and the hour), so the same problem is raised once however many workers notice it
at the same time: the second save collides with the first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, natural_id, require_aware
from domain.delivery_errors import explain
from domain.labels import label
from domain.messages import FAILED_STATUSES as FAILED_STATUSES  # re-exported: outbound reads it here
from domain.risk import recommended_action

ALERT_KINDS = ("message_failed", "message_stuck", "failure_rate", "account", "spam_or_block", "sender_risk")

# Failures a second attempt cannot fix: the customer opted out, the number is not valid or not a
# mobile, the customer or the carrier blocks us, the content breaks a policy, the window is closed
# (send a template instead), or the account itself is refused. Anything else (timeouts, queues,
# unreachable handsets, unknown carrier errors, unknown codes) may be retried by the agent.
NOT_RETRYABLE_CODES = frozenset({
    "opted_out", "outside_window", "21610", "63016",
    "21211", "21614", "30005", "30006", "63003", "63024", "63032",
    "21408", "30004", "30007", "30034", "63013", "63014", "63049",
    "20003", "10001", "30002", "63051",
})


class DeliveryAlertError(DomainError):
    pass


def is_account_problem(error_code: str) -> bool:
    """The whole account cannot send (credentials, suspension, permissions), not just this message."""
    return explain(error_code).is_account_problem


def is_spam_risk(error_code: str) -> bool:
    """Twilio, the carrier or WhatsApp filtered or blocked the message: the sender's reputation is at stake."""
    return explain(error_code).is_spam_risk


def failure_detail(error_code: str, reason: str) -> str:
    """What a failure alert says: the catalogue's meaning and action, with Twilio's own words for a code it lacks."""
    explanation = explain(error_code)
    if explanation.category == "unknown" and reason:
        return f"{explanation.sentence} (Twilio: {reason})"
    return explanation.sentence


def _labelled(error_code: str) -> str:
    explanation = explain(error_code)
    return f"{explanation.category_label} ({error_code}): {explanation.sentence}"


def may_retry(status: str, error_code: str) -> bool:
    """Whether an agent may send a failed message again (as a new message): not when it cannot help."""
    return status in FAILED_STATUSES and error_code not in NOT_RETRYABLE_CODES


def window_slot(at: datetime, window_minutes: int) -> int:
    """The number of the `window_minutes`-long time slot `at` falls in (same for every worker)."""
    return int(require_aware(at).timestamp() // (window_minutes * 60))


class DeliveryAlert(Aggregate):
    """One delivery problem: a failed or stuck message, a high failure rate, or the account refused."""

    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        return natural_id("delivery-alert", key)

    @event("Raised")
    def __init__(self, key: str, kind: str, campaign_id: str, message_id: str, chat_id: str, sender: str,
                 error_code: str, detail: str, figures: dict[str, Any], actor: str, at: datetime) -> None:
        self.key = key
        self.kind = kind
        self.campaign_id = campaign_id
        self.acknowledged = False

    @classmethod
    def raise_alert(cls, key: str, kind: str, *, campaign_id: str, detail: str, message_id: str = "",
                    chat_id: str = "", sender: str = "", error_code: str = "",
                    figures: dict[str, Any] | None = None, actor: str, at: datetime) -> DeliveryAlert:
        if kind not in ALERT_KINDS:
            raise DeliveryAlertError("Tipo de alerta de entrega desconocido: %(kind)s", kind=kind)
        return cls(key=key, kind=kind, campaign_id=campaign_id, message_id=message_id, chat_id=chat_id,
                   sender=sender, error_code=error_code, detail=detail, figures=dict(figures or {}),
                   actor=actor, at=require_aware(at))

    @classmethod
    def message_failed(cls, *, message_id: str, campaign_id: str, chat_id: str, sender: str, error_code: str,
                       reason: str, actor: str, at: datetime) -> DeliveryAlert:
        return cls.raise_alert(f"failed:{message_id}", "message_failed", campaign_id=campaign_id,
                               message_id=message_id, chat_id=chat_id, sender=sender, error_code=error_code,
                               detail=failure_detail(error_code, reason), actor=actor, at=at)

    @classmethod
    def account_problem(cls, *, error_code: str, campaign_id: str, sender: str, message_id: str, actor: str,
                        at: datetime) -> DeliveryAlert:
        """Raised once per code, campaign and hour while Twilio keeps refusing the account."""
        return cls.raise_alert(cls.account_key(error_code, campaign_id, at), "account", campaign_id=campaign_id,
                               message_id=message_id, sender=sender, error_code=error_code,
                               detail=_labelled(error_code), actor=actor, at=at)

    @classmethod
    def spam_or_block(cls, *, error_code: str, campaign_id: str, sender: str, message_id: str, actor: str,
                      at: datetime) -> DeliveryAlert:
        """Raised once per code, sender, campaign and hour while messages of a sender are filtered or blocked."""
        detail = f"Posible spam o bloqueo del remitente {sender}. {_labelled(error_code)}"
        return cls.raise_alert(cls.spam_key(error_code, sender, campaign_id, at), "spam_or_block",
                               campaign_id=campaign_id, message_id=message_id, sender=sender, error_code=error_code,
                               detail=detail, actor=actor, at=at)

    @classmethod
    def sender_risk(cls, *, sender: str, campaign_id: str, level: str, signal: str, figures: dict[str, Any],
                    change: int, actor: str, at: datetime) -> DeliveryAlert:
        """Raised once per rise of a sender's risk level (`change`: the level aggregate's version) and campaign."""
        detail = (f"Riesgo de bloqueo o spam del remitente {sender}: nivel {label('risk_level', level)} por "
                  f"{label('risk_signal', signal)}. {recommended_action(level, signal)}")
        return cls.raise_alert(f"risk:{sender}:{campaign_id}:{change}", "sender_risk", campaign_id=campaign_id,
                               sender=sender, detail=detail, figures=figures, actor=actor, at=at)

    @staticmethod
    def account_key(error_code: str, campaign_id: str, at: datetime) -> str:
        return f"account:{error_code}:{campaign_id}:{_hour(at)}"

    @staticmethod
    def spam_key(error_code: str, sender: str, campaign_id: str, at: datetime) -> str:
        return f"spam:{error_code}:{sender}:{campaign_id}:{_hour(at)}"

    def acknowledge(self, *, actor: str, at: datetime) -> None:
        if self.acknowledged:
            raise DeliveryAlertError("La alerta ya fue marcada como vista")
        self._acknowledged(actor=actor, at=require_aware(at))

    @event("Acknowledged")
    def _acknowledged(self, actor: str, at: datetime) -> None:
        self.acknowledged = True


def _hour(at: datetime) -> str:
    return require_aware(at).strftime("%Y-%m-%dT%H")


class MessageRetry(Aggregate):
    """An agent's retry of a failed message: a new message, at most one per failed message."""

    @staticmethod
    def create_id(original_message_id: str, **_: Any) -> UUID:
        return natural_id("message-retry", original_message_id)

    @event("Requested")
    def __init__(self, original_message_id: str, retry_message_id: str, actor: str, at: datetime) -> None:
        self.original_message_id = original_message_id
        self.retry_message_id = retry_message_id

    @classmethod
    def request(cls, original_message_id: str, retry_message_id: str, *, actor: str,
                at: datetime) -> MessageRetry:
        return cls(original_message_id=original_message_id, retry_message_id=retry_message_id, actor=actor,
                   at=require_aware(at))
