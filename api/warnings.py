"""Warnings pages show admins about the whole installation (not about the page itself)."""

from __future__ import annotations

from typing import Any

from application.staff import Identity
from despacho.bootstrap import Despacho
from projections.admin_queries import campaign_without_agents


def unattended_campaign(despacho: Despacho, identity: Identity) -> dict[str, Any] | None:
    """For admins: the unidentified customers' campaign while it has no agent (its chats would wait forever)."""
    if identity.role != "admin":
        return None
    return campaign_without_agents(despacho.read_engine, despacho.unidentified.campaign_id_if_exists())
