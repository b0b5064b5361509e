"""What the timer job reads: each campaign's SLA and the open chats that may be due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, or_, select

from domain.sla import Sla
from projections.queries import CAMPAIGNS, CHATS

OPEN = ("bot", "waiting_queue", "assigned")


class SqlTimerDirectory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sla_by_campaign(self) -> dict[str | None, Sla]:
        table = CAMPAIGNS.campaigns
        with self.engine.connect() as connection:
            rows = connection.execute(select(table.c.id, table.c.alert_after_minutes,
                                             table.c.auto_close_after_hours)).all()
        slas: dict[str | None, Sla] = {row.id: Sla.of(row.alert_after_minutes, row.auto_close_after_hours)
                                       for row in rows}
        slas[None] = Sla()
        return slas

    def possibly_due(self, now: datetime, sla_by_campaign: dict[str | None, Sla]) -> list[str]:
        chats = CHATS.chats.c
        due: list[str] = []
        with self.engine.connect() as connection:
            for campaign_id, sla in sla_by_campaign.items():
                in_campaign = chats.campaign_id.is_(None) if campaign_id is None else chats.campaign_id == campaign_id
                query = select(chats.id).where(chats.status.in_(OPEN), in_campaign, _due(now, sla))
                due += connection.execute(query).scalars()
        return due


def _due(now: datetime, sla: Sla) -> ColumnElement[bool]:
    chats = CHATS.chats.c
    alert_cutoff = now - sla.alert_after
    return or_(
        chats.last_customer_message_at <= now - sla.auto_close_after,
        and_(chats.status == "assigned", chats.unanswered_since <= alert_cutoff,
             or_(chats.alerted_streak_at.is_(None), chats.alerted_streak_at != chats.unanswered_since)),
        and_(chats.status == "waiting_queue", chats.queued_at <= alert_cutoff, chats.queue_alerted.is_(False)),
    )
