"""What the timer job reads: each campaign's SLA and the open chats that may be due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Select, or_, select, union

from domain.sla import Sla
from projections.queries import CAMPAIGNS, CHATS

OPEN = ("bot", "waiting_queue", "assigned")
PARTS_PER_STATEMENT = 300  # SQLite refuses a compound SELECT of more than 500 parts


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
        """One read of the due set: per campaign, three range reads each served by its own index, so the
        sweep reads the due chats rather than every open one."""
        parts = [part for campaign_id, sla in sla_by_campaign.items() for part in _due_parts(campaign_id, now, sla)]
        due: dict[str, None] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(parts), PARTS_PER_STATEMENT):
                rows = connection.execute(union(*parts[start:start + PARTS_PER_STATEMENT]))
                due.update((str(chat_id), None) for chat_id in rows.scalars())
        return list(due)


def _due_parts(campaign_id: str | None, now: datetime, sla: Sla) -> list[Select[tuple[str]]]:
    chats = CHATS.chats.c
    in_campaign = chats.campaign_id.is_(None) if campaign_id is None else chats.campaign_id == campaign_id
    alert_cutoff = now - sla.alert_after
    return [
        # the 24-hour close: ix_chats_status_campaign_last_customer
        select(chats.id).where(chats.status.in_(OPEN), in_campaign,
                               chats.last_customer_message_at <= now - sla.auto_close_after),
        # an unanswered streak to alert: ix_chats_status_campaign_unanswered
        select(chats.id).where(chats.status == "assigned", in_campaign, chats.unanswered_since <= alert_cutoff,
                               or_(chats.alerted_streak_at.is_(None),
                                   chats.alerted_streak_at != chats.unanswered_since)),
        # a long wait in the queue to alert: ix_chats_status_queued
        select(chats.id).where(chats.status == "waiting_queue", in_campaign, chats.queued_at <= alert_cutoff,
                               chats.queue_alerted.is_(False)),
    ]
