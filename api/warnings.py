"""Warnings pages show admins about the whole installation (not about the page itself)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from application.staff import Identity
from projections.admin_queries import campaign_without_agents


def unattended_campaign(read_db: Engine, identity: Identity, unidentified_campaign_id: str | None
                        ) -> dict[str, Any] | None:
    """For admins: the unidentified customers' campaign while it has no agent (its chats would wait forever)."""
    if identity.role != "admin":
        return None
    return campaign_without_agents(read_db, unidentified_campaign_id)
