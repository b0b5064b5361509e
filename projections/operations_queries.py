"""The read side's figures for operations (Prometheus `/metrics`): every campaign, by its code, no viewer
scoping — the endpoint is for the monitoring system, behind its own token."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from domain.delivery_errors import explain
from projections.campaigns import CampaignsProjector
from projections.chats import ChatsProjector
from projections.messages import MessagesProjector

CAMPAIGNS = CampaignsProjector()
CHATS = ChatsProjector()
MESSAGES = MessagesProjector()
WAITING = "waiting_queue"
FAILED_STATUSES = ("failed", "undelivered")


@dataclass(frozen=True)
class CampaignQueue:
    campaign: str
    """The campaign's code."""
    waiting: int
    longest_wait_seconds: float


def queues(engine: Engine, now: datetime) -> list[CampaignQueue]:
    """Every campaign (archived ones left out), with how many chats wait for an agent and for how long the
    first of them has waited; 0 and 0 when none does."""
    chats, campaigns = CHATS.chats, CAMPAIGNS.campaigns
    waiting = (select(chats.c.campaign_id, func.count().label("waiting"), func.min(chats.c.queued_at).label("since"))
               .where(chats.c.status == WAITING).group_by(chats.c.campaign_id).subquery())
    query = (select(campaigns.c.code, func.coalesce(waiting.c.waiting, 0).label("waiting"), waiting.c.since)
             .select_from(campaigns.outerjoin(waiting, waiting.c.campaign_id == campaigns.c.id))
             .where(campaigns.c.archived.is_(False)).order_by(campaigns.c.code))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [CampaignQueue(row.code, int(row.waiting), _seconds_since(row.since, now)) for row in rows]


def send_failures(engine: Engine) -> dict[tuple[str, str], int]:
    """Outbound messages that ended failed or undelivered, per (campaign code, error category)."""
    messages, campaigns = MESSAGES.messages, CAMPAIGNS.campaigns
    query = (select(func.coalesce(campaigns.c.code, "").label("campaign"), messages.c.error_code, func.count())
             .select_from(messages.outerjoin(campaigns, campaigns.c.id == messages.c.campaign_id))
             .where(messages.c.status.in_(FAILED_STATUSES))
             .group_by(campaigns.c.code, messages.c.error_code))
    counted: Counter[tuple[str, str]] = Counter()
    with engine.connect() as connection:
        for campaign, code, count in connection.execute(query):
            counted[campaign, explain(code or "").category] += int(count)
    return dict(sorted(counted.items()))


def _seconds_since(instant: datetime | None, now: datetime) -> float:
    return max((now - instant).total_seconds(), 0.0) if instant is not None else 0.0
