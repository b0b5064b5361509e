"""Read model of customers' attachments: where Despacho keeps each one, or why it could not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

from domain.messages import InboundMessage
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, uid
from projections.unit_of_work import UnitOfWork


class MediaProjector(BatchProjector):
    name = "media"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.attachments = Table(
            f"inbound_attachments_kept{suffix}", metadata,
            Column("message_sid", String(64), primary_key=True),
            Column("position", Integer, primary_key=True),
            Column("inbound_id", String(36), nullable=False),
            Column("status", String(8), nullable=False),
            Column("content_type", String(100), nullable=False),
            Column("location", String(400)),
            Column("size", BigInteger),
            Column("reason", Text),
            Column("at", UtcDateTime, nullable=False),
        )

    @handles(InboundMessage.MediaKept)
    def kept(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.attachments, message_sid=event.message_sid, position=event.index,
                     inbound_id=uid(event.originator_id), status="kept", content_type=event.content_type,
                     location=event.location, size=event.size, reason=None, at=event.at)
        self._shown_in(event.chat_id)

    @handles(InboundMessage.MediaLost)
    def lost(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.attachments, message_sid=event.message_sid, position=event.index,
                     inbound_id=uid(event.originator_id), status="lost", content_type=event.content_type,
                     location=None, size=None, reason=event.reason, at=event.at)
        self._shown_in(event.chat_id)

    def _shown_in(self, chat_id: str) -> None:
        """The chat's open pages redraw its timeline (a message still being attached shows it when it is)."""
        if chat_id:
            self.touch(f"chat:{chat_id}")
