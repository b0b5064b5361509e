"""Use cases for canned replies: admins write, edit and delete them per campaign."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.ports import Clock
from application.store import EventStore, retry_on_conflict
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
        try:
            found: object = self.store.repository.get(UUID(campaign_id))
        except (AggregateNotFoundError, ValueError) as exc:
            raise NotFoundError("Campaña desconocida") from exc
        if not isinstance(found, Campaign):
            raise NotFoundError("Campaña desconocida")
        return found

    def _reply(self, reply_id: str) -> CannedReply:
        try:
            found: object = self.store.repository.get(UUID(reply_id))
        except (AggregateNotFoundError, ValueError) as exc:
            raise UnknownCannedReplyError("Respuesta rápida desconocida") from exc
        if not isinstance(found, CannedReply):
            raise UnknownCannedReplyError("Respuesta rápida desconocida")
        return found
