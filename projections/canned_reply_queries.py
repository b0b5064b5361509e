"""Canned replies as admins manage them and as an agent's composer offers them, filled for the chat's customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select

from application.portfolio_values import reply_variables
from domain.canned_replies import fill
from projections.canned_replies import CannedRepliesProjector

CANNED = CannedRepliesProjector()


def campaign_replies(engine: Engine, campaign_id: str) -> list[dict[str, Any]]:
    """A campaign's canned replies by name."""
    table = CANNED.replies
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            select(table).where(table.c.campaign_id == campaign_id).order_by(table.c.title, table.c.id)).mappings()]


def canned_reply(engine: Engine, reply_id: str) -> dict[str, Any] | None:
    table = CANNED.replies
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == reply_id)).mappings().first()
    return dict(row) if row else None


def filled_for(engine: Engine, campaign_id: str, customer: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The campaign's canned replies with the customer's portfolio values put in; `missing` names the variables
    their row has no value for (left in the text, for the agent to complete)."""
    values = reply_variables(customer)
    replies = []
    for row in campaign_replies(engine, campaign_id):
        filled = fill(row["text"], values)
        replies.append({"id": row["id"], "title": row["title"], "text": filled.text, "missing": list(filled.missing)})
    return replies
