"""Opt-out per customer and sender (R11): after STOP/BAJA nothing is sent but the acknowledgement."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.common import natural_id, require_aware


class Consent(Aggregate):
    @staticmethod
    def create_id(customer_address: str, sender_address: str, **_: Any) -> UUID:
        return natural_id("consent", f"{customer_address}|{sender_address}")

    @event("Recorded")
    def __init__(self, customer_address: str, sender_address: str, actor: str, at: datetime) -> None:
        self.customer_address = customer_address
        self.sender_address = sender_address
        self.opted_out = False

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

    def opt_in(self, source: str, *, actor: str, at: datetime) -> None:
        if self.opted_out:
            self._opted_in(source=source, actor=actor, at=require_aware(at))

    @event("OptedIn")
    def _opted_in(self, source: str, actor: str, at: datetime) -> None:
        self.opted_out = False
