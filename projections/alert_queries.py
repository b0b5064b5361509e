"""Read-side queries of the alerts page: unanswered-streak and queue-wait alerts with their state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from projections.queries import AGENTS, CAMPAIGNS, CHATS

STATES = ("open", "acknowledged", "resolved")


def alerts(engine: Engine, *, campaign_ids: set[str] | None, agent_id: str | None = None,
           states: tuple[str, ...] = ("open", "acknowledged"), limit: int = 500) -> list[dict[str, Any]]:
    """Newest first; `campaign_ids=None` means every campaign, `agent_id` only that agent's chats."""
    table, campaigns, agents, chats = CHATS.alerts, CAMPAIGNS.campaigns, AGENTS.agents, CHATS.chats
    query = (select(table, campaigns.c.name.label("campaign_name"), agents.c.name.label("agent_name"),
                    chats.c.customer_address, chats.c.profile_name, chats.c.customer_name)
             .join(chats, chats.c.id == table.c.chat_id)
             .outerjoin(campaigns, campaigns.c.id == table.c.campaign_id)
             .outerjoin(agents, agents.c.id == table.c.agent_id)
             .where(table.c.state.in_(states)).order_by(table.c.raised_at.desc()).limit(limit))
    if campaign_ids is not None:
        query = query.where(table.c.campaign_id.in_(campaign_ids))
    if agent_id is not None:
        query = query.where(table.c.agent_id == agent_id)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def alert(engine: Engine, alert_id: str) -> dict[str, Any] | None:
    table = CHATS.alerts
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == alert_id)).mappings().first()
    return dict(row) if row else None
