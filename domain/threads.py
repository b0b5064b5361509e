"""Which chat a customer's next message belongs to, per customer address and number written to.

The thread is keyed by the pair, so two webhooks for a customer's first message cannot open two
chats: both try to create the same thread and one of them conflicts and retries. When its chat
closes, the next message opens a new chat that starts in the bot again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, natural_id, require_aware


class ThreadError(DomainError):
    pass


class CustomerThread(Aggregate):
    @staticmethod
    def create_id(customer_address: str, sender_address: str, **_: Any) -> UUID:
        return natural_id("thread", f"{customer_address}|{sender_address}")

    @event("Started")
    def __init__(self, customer_address: str, sender_address: str, actor: str, at: datetime) -> None:
        self.customer_address = customer_address
        self.sender_address = sender_address
        self.open_chat_id = ""
        self.chats = 0

    @classmethod
    def start(cls, customer_address: str, sender_address: str, *, actor: str, at: datetime) -> CustomerThread:
        return cls(customer_address=customer_address, sender_address=sender_address, actor=actor,
                   at=require_aware(at))

    def attach_chat(self, chat_id: str, *, actor: str, at: datetime) -> None:
        if self.open_chat_id:
            raise ThreadError("El cliente ya tiene un chat abierto en este número")
        self._chat_attached(chat_id=chat_id, actor=actor, at=require_aware(at))

    @event("ChatAttached")
    def _chat_attached(self, chat_id: str, actor: str, at: datetime) -> None:
        self.open_chat_id = chat_id
        self.chats += 1

    def detach_chat(self, chat_id: str, *, actor: str, at: datetime) -> None:
        if self.open_chat_id == chat_id:
            self._chat_detached(chat_id=chat_id, actor=actor, at=require_aware(at))

    @event("ChatDetached")
    def _chat_detached(self, chat_id: str, actor: str, at: datetime) -> None:
        self.open_chat_id = ""
        self.last_chat_id = chat_id

    last_chat_id = ""
    """The chat closed last, which a survey answer belongs to. A class default, so threads snapshotted before it was
    kept restore with none."""
