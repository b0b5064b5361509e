"""Read model of canned replies: each campaign's live ones, for its admin page and its agents' composer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, Text

from domain.canned_replies import CannedReply
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, uid
from projections.unit_of_work import UnitOfWork


class CannedRepliesProjector(BatchProjector):
    name = "canned_replies"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.replies = Table(
            f"canned_replies{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("campaign_id", String(36), nullable=False, index=True),
            Column("title", String(80), nullable=False),
            Column("text", Text, nullable=False),
            Column("updated_by", String(80), nullable=False),
            Column("updated_at", UtcDateTime, nullable=False),
        )

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        batch.load(self.replies, [uid(e.originator_id) for e in events if isinstance(e, CannedReply.Event)])

    @handles(CannedReply.Created)
    def created(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.replies, id=uid(event.originator_id), campaign_id=event.campaign_id, title=event.title,
                     text=event.text, updated_by=event.actor, updated_at=event.at)

    @handles(CannedReply.Edited)
    def edited(self, batch: UnitOfWork, event: Any) -> None:
        batch.update(self.replies, uid(event.originator_id), title=event.title, text=event.text,
                     updated_by=event.actor, updated_at=event.at)

    @handles(CannedReply.Deleted)
    def deleted(self, batch: UnitOfWork, event: Any) -> None:
        batch.delete(self.replies, uid(event.originator_id))
