"""Use cases for canned replies: admins write, edit and delete them per campaign."""

from __future__ import annotations

from application.ports import Clock
from application.store import EventStore, aggregate_or, retry_on_conflict
from domain.campaigns import Campaign
from domain.canned_replies import CannedReply
from domain.common import NotFoundError


class UnknownCannedReplyError(NotFoundError):
    pass


class CannedReplyService:
    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def write(self, campaign_id: str, title: str, text: str, *, actor: str) -> str:
        """A new canned reply of an existing campaign; returns its id."""
        self._campaign(campaign_id)
        reply = CannedReply.write(campaign_id, title, text, actor=actor, at=self.clock.now())
        self.store.save(reply)
        return str(reply.id)

    def edit(self, reply_id: str, title: str, text: str, *, actor: str) -> None:
        def command() -> None:
            reply = self._reply(reply_id)
            reply.edit(title, text, actor=actor, at=self.clock.now())
            self.store.save(reply)
        retry_on_conflict(command)

    def delete(self, reply_id: str, *, actor: str) -> None:
        def command() -> None:
            reply = self._reply(reply_id)
            reply.delete(actor=actor, at=self.clock.now())
            self.store.save(reply)
        retry_on_conflict(command)

    def _campaign(self, campaign_id: str) -> Campaign:
        return aggregate_or(self.store, campaign_id, Campaign, NotFoundError("Campaña desconocida"))

    def _reply(self, reply_id: str) -> CannedReply:
        return aggregate_or(self.store, reply_id, CannedReply, UnknownCannedReplyError("Respuesta rápida desconocida"))
