"""Who may see which chats: agents their own, supervisors their campaigns', admins and auditors all.

Shared by the desk, chat and supervisor routers so the rule is written once.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import Engine

from application.staff import Identity
from projections import desk_queries
from projections.runner import ProjectionRunner, wait_for_position
from projections.search_queries import ChatScope

EVERYWHERE = ("admin", "auditor")


def campaign_scope(read_db: Engine, identity: Identity) -> set[str] | None:
    """The campaigns the caller may see; None means all of them."""
    if identity.role in EVERYWHERE:
        return None
    return desk_queries.campaigns_of(read_db, identity.id)


def narrowed_scope(read_db: Engine, identity: Identity, campaign_id: str) -> set[str] | None:
    """The caller's campaigns, narrowed to one when a page is filtered by it (a dashboard's drill-down)."""
    scope = campaign_scope(read_db, identity)
    if not campaign_id:
        return scope
    return {campaign_id} if scope is None else scope & {campaign_id}


def search_scope(read_db: Engine, identity: Identity) -> ChatScope:
    """The chats the search and a chat's history show the caller. Agents find only the chats they hold or last
    held, in their campaigns: the chat page and its PDF refuse them anyone else's (a customer's conversations are
    personal data, seen on a need-to-know basis), so listing those would only list refusals."""
    scope = campaign_scope(read_db, identity)
    campaigns = None if scope is None else frozenset(scope)
    return ChatScope(campaigns, identity.id if identity.role == "agent" else None)


def alert_scope(read_db: Engine, identity: Identity, unidentified_campaign_id: str | None) -> set[str] | None:
    """The campaigns whose alerts the caller sees: their own, and for supervisors also the unidentified
    queue's, which belongs to no campaign of theirs yet holds customers of any of them."""
    scope = campaign_scope(read_db, identity)
    if scope is None or identity.role != "supervisor" or unidentified_campaign_id is None:
        return scope
    return scope | {unidentified_campaign_id}


def visible_chat(read_db: Engine, identity: Identity, chat_id: str) -> dict[str, Any]:
    """The chat's row, or 404 when it does not exist and 403 when the caller may not see it."""
    row = desk_queries.chat(read_db, chat_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Chat desconocido")
    if identity.role == "agent":
        if row["agent_id"] != identity.id:
            raise HTTPException(status_code=403, detail="Este chat no está asignado a usted")
        return row
    scope = campaign_scope(read_db, identity)
    if scope is not None and row["campaign_id"] not in scope:
        raise HTTPException(status_code=403, detail="Este chat es de una campaña que usted no supervisa")
    return row


def see_own_writes(projections: ProjectionRunner, *projectors: str) -> None:
    """Before a form redirects, let the read tables catch up so the next page shows the change."""
    wait_for_position(projections, projections.head(), projectors or ("chats", "agents"), timeout=3.0)
