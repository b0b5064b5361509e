"""Opt-out per customer and sender (R11): after STOP/BAJA nothing is sent but the acknowledgement.

An opt-out keeps its source: `keyword:<what the customer wrote>` when Despacho recognised the word (and
acknowledges it), `twilio_keyword:<what the customer wrote>` when Twilio answered it itself (SMS long codes,
Advanced Opt-Out), `twilio_21610` when Twilio refused a send because the customer had opted out with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, natural_id, require_aware

KEYWORD = "keyword:"
TWILIO_KEYWORD = "twilio_keyword:"
TWILIO_REFUSAL = "twilio_21610"


class OptedOutError(DomainError):
    """A send to a customer who opted out from this number (R11); the message says what the customer did."""


class Consent(Aggregate):
    @staticmethod
    def create_id(customer_address: str, sender_address: str, **_: Any) -> UUID:
        return natural_id("consent", f"{customer_address}|{sender_address}")

    @event("Recorded")
    def __init__(self, customer_address: str, sender_address: str, actor: str, at: datetime) -> None:
        self.customer_address = customer_address
        self.sender_address = sender_address
        self.opted_out = False
        self.opted_out_by = ""

    @classmethod
    def for_pair(cls, customer_address: str, sender_address: str, *, actor: str, at: datetime) -> Consent:
        return cls(customer_address=customer_address, sender_address=sender_address, actor=actor,
                   at=require_aware(at))

    def opt_out(self, source: str, *, actor: str, at: datetime) -> None:
        if not self.opted_out:
            self._opted_out(source=source, actor=actor, at=require_aware(at))

    @event("OptedOut")
    def _opted_out(self, source: str, actor: str, at: datetime) -> None:
        self.opted_out = True
        self.opted_out_by = source

    @property
    def answered_by_twilio(self) -> bool:
        """Twilio itself confirmed this opt-out to the customer, so Despacho must not send its own."""
        return self.opted_out and self.opted_out_by.startswith(TWILIO_KEYWORD)

    @property
    def keyword(self) -> str:
        """What the customer wrote to opt out; empty when it was not a keyword."""
        return self.opted_out_by.split(":", 1)[1] if self.opted_out_by.startswith((KEYWORD, TWILIO_KEYWORD)) else ""

    def check_may_receive(self) -> None:
        """After an opt-out nothing more is sent but the acknowledgement; the refusal names what the customer did."""
        if not self.opted_out:
            return
        if self.opted_out_by == TWILIO_REFUSAL:
            raise OptedOutError("Twilio rechaza los envíos a este cliente porque respondió STOP (u otra palabra de "
                                "baja) a este número (error 21610); no se le envía nada más")
        if self.answered_by_twilio:
            raise OptedOutError("El cliente escribió «%(keyword)s» y Twilio lo dio de baja de este número; no se le "
                                "envía nada más", keyword=self.keyword)
        if self.keyword:
            raise OptedOutError("El cliente escribió «%(keyword)s» para no recibir más mensajes; no se le envía nada "
                                "más", keyword=self.keyword)
        raise OptedOutError("El cliente pidió no recibir más mensajes; no se le envía nada más")

    def opt_in(self, source: str, *, actor: str, at: datetime) -> None:
        if self.opted_out:
            self._opted_in(source=source, actor=actor, at=require_aware(at))

    @event("OptedIn")
    def _opted_in(self, source: str, actor: str, at: datetime) -> None:
        self.opted_out = False
        self.opted_out_by = ""
