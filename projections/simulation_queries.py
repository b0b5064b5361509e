"""What a simulated run left in the read tables, for its summary (`despacho simulate month`): every campaign,
no viewer scoping (an operations command, like `projections status`)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from projections.campaigns import CampaignsProjector
from projections.chats import ChatsProjector
from projections.messages import MessagesProjector

CAMPAIGNS = CampaignsProjector()
CHATS = ChatsProjector()
MESSAGES = MessagesProjector()


def assignment_moves_since(engine: Engine, since: datetime | None) -> list[Any]:
    """Every assignment, reassignment and requeue from `since` on (all of them without it), in log order."""
    moves = CHATS.assignments
    query = select(moves.c.event_id, moves.c.chat_id, moves.c.agent_id, moves.c.kind).order_by(moves.c.at,
                                                                                                 moves.c.event_id)
    if since is not None:
        query = query.where(moves.c.at >= since)
    with engine.connect() as connection:
        return list(connection.execute(query).all())


def chat_status(engine: Engine, chat_id: str) -> tuple[str, str | None]:
    """The chat's status and the agent it is assigned to, as the chats table says."""
    chats = CHATS.chats
    with engine.connect() as connection:
        row = connection.execute(select(chats.c.status, chats.c.agent_id).where(chats.c.id == chat_id)).one()
    return str(row.status), row.agent_id


def open_chat_of(engine: Engine, address: str) -> str | None:
    """The id of the customer's open chat, if they have one."""
    chats = CHATS.chats
    with engine.connect() as connection:
        found = connection.execute(select(chats.c.id).where(chats.c.customer_address == address,
                                                             chats.c.status != "closed").limit(1)).scalar()
    return None if found is None else str(found)


def run_figures(engine: Engine) -> dict[str, Any]:
    """Counts over the whole log as the read tables hold them: chats, messages, closes, assignments."""
    chats, campaigns = CHATS.chats, CAMPAIGNS.campaigns
    code = func.coalesce(campaigns.c.code, "")
    with engine.connect() as connection:
        chat_rows = connection.execute(
            select(code.label("campaign"), chats.c.status, chats.c.close_reason, chats.c.disposition,
                   chats.c.unattended, chats.c.bot_inactive_since.is_not(None).label("dropped"),
                   chats.c.document_number.is_not(None).label("identified"))
            .select_from(chats.outerjoin(campaigns, campaigns.c.id == chats.c.campaign_id))).mappings().all()
        inbound = connection.execute(select(func.count()).select_from(CHATS.timeline)
                                     .where(CHATS.timeline.c.author_kind == "customer")).scalar_one()
        outbound: dict[str, int] = dict(connection.execute(select(MESSAGES.messages.c.status, func.count())
                                           .group_by(MESSAGES.messages.c.status)).all())
        moves: dict[str, int] = dict(connection.execute(select(CHATS.assignments.c.kind, func.count())
                                        .group_by(CHATS.assignments.c.kind)).all())
    return {"chats": _chat_figures(chat_rows), "inbound_messages": int(inbound),
            "outbound_by_status": {str(k): int(v) for k, v in sorted(outbound.items())},
            "assignments_by_kind": {str(k): int(v) for k, v in sorted(moves.items())},
            "per_campaign": _per_campaign(chat_rows)}


def _chat_figures(rows: Any) -> dict[str, Any]:
    return {"total": len(rows),
            "by_status": _counted(r["status"] for r in rows),
            "closes_by_reason": _counted(r["close_reason"] for r in rows if r["close_reason"]),
            "dispositions": _counted(r["disposition"] for r in rows if r["disposition"]),
            "unattended": sum(1 for r in rows if r["unattended"]),
            "bot_drop_outs": sum(1 for r in rows if r["dropped"]),
            "identified": sum(1 for r in rows if r["identified"])}


def _per_campaign(rows: Any) -> dict[str, Any]:
    campaigns = sorted({r["campaign"] for r in rows})
    return {campaign or "-": {"chats": sum(1 for r in rows if r["campaign"] == campaign),
                              "closes_by_reason": _counted(r["close_reason"] for r in rows
                                                           if r["campaign"] == campaign and r["close_reason"])}
            for campaign in campaigns}


def _counted(values: Any) -> dict[str, int]:
    return dict(sorted(Counter(str(v) for v in values).items()))
