"""The read side's answers for live-topic permissions (application/live_topics.py)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from projections.desk_queries import campaigns_of
from projections.queries import CHATS


class SqlTopicDirectory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def campaigns_of(self, staff_id: str) -> set[str]:
        return campaigns_of(self.engine, staff_id)

    def chat_owner(self, chat_id: str) -> tuple[str | None, str | None] | None:
        chats = CHATS.chats
        with self.engine.connect() as connection:
            row = connection.execute(select(chats.c.campaign_id, chats.c.agent_id)
                                     .where(chats.c.id == chat_id)).first()
        return (row.campaign_id, row.agent_id) if row else None
