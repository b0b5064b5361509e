"""Read-side queries the pages and the API use (tables only, never aggregates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from projections.agents import AgentsProjector
from projections.campaigns import CampaignsProjector
from projections.chats import ChatsProjector
from projections.portfolios import PortfoliosProjector

CAMPAIGNS = CampaignsProjector()
AGENTS = AgentsProjector()
CHATS = ChatsProjector()
PORTFOLIOS = PortfoliosProjector()


def list_campaigns(engine: Engine, *, include_archived: bool = False) -> list[dict[str, Any]]:
    table = CAMPAIGNS.campaigns
    query = select(table).order_by(table.c.name)
    if not include_archived:
        query = query.where(table.c.archived.is_(False))
    with engine.connect() as connection:
        campaigns = [dict(r) for r in connection.execute(query).mappings()]
        senders = connection.execute(select(CAMPAIGNS.senders)).mappings().all()
    for campaign in campaigns:
        campaign["senders"] = [dict(s) for s in senders if s["campaign_id"] == campaign["id"]]
    return campaigns


def list_agents(engine: Engine, *, role: str | None = None) -> list[dict[str, Any]]:
    table, members = AGENTS.agents, AGENTS.memberships
    query = select(table).order_by(table.c.name)
    if role:
        query = query.where(table.c.role == role)
    with engine.connect() as connection:
        agents = [dict(r) for r in connection.execute(query).mappings()]
        links = connection.execute(select(members.c.agent_id, members.c.campaign_id)).all()
    for agent in agents:
        agent["campaigns"] = sorted(c for a, c in links if a == agent["id"])
    return agents


def open_session_ids(engine: Engine) -> list[str]:
    """Every open session, the oldest first: the idle-session job asks each one's aggregate whether it is idle."""
    sessions = AGENTS.sessions
    with engine.connect() as connection:
        return list(connection.execute(select(sessions.c.id).where(sessions.c.closed_at.is_(None))
                                       .order_by(sessions.c.opened_at)).scalars())


class SqlOfflineDirectory:
    """Assigned chats whose agent has no open session (the offline-agents timer's proposals)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def chats_of_offline_agents(self) -> list[str]:
        chats, agents = CHATS.chats, AGENTS.agents
        query = (select(chats.c.id).join(agents, agents.c.id == chats.c.agent_id)
                 .where(chats.c.status == "assigned", agents.c.open_sessions <= 0, agents.c.signed_out_at.is_not(None))
                 .order_by(chats.c.assigned_at))
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())


def closed_chats_missing_their_close_work(engine: Engine, limit: int = 500) -> list[str]:
    """Closed chats without their closing confirmation or their PDF transcript (R8): must be none."""
    chats = CHATS.chats
    missing = or_(chats.c.confirmation_message_id.is_(None), chats.c.transcript_location.is_(None))
    with engine.connect() as connection:
        return list(connection.execute(select(chats.c.id).where(chats.c.status == "closed", missing)
                                       .order_by(chats.c.closed_at).limit(limit)).scalars())


def confirmations_to_follow(engine: Engine, limit: int = 500) -> list[str]:
    """Closed chats whose confirmation's fate is not on their record yet (R8): lost with no alert raised,
    or accepted by Twilio after a failure while the alert is still open. Oldest close first."""
    chats = CHATS.chats.c
    lost = and_(chats.confirmation_status == "failed", chats.confirmation_failure_recorded.is_(False))
    accepted_again = and_(chats.confirmation_alert_open.is_(True), chats.confirmation_status == "accepted")
    query = select(chats.id).where(or_(lost, accepted_again)).order_by(chats.closed_at, chats.id).limit(limit)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def closes_to_audit(engine: Engine, limit: int = 10_000) -> list[dict[str, Any]]:
    """Closed chats whose close is not done (R8): no confirmation accepted by Twilio, or no PDF. Oldest first."""
    chats = CHATS.chats.c
    unconfirmed = or_(chats.confirmation_status.is_(None), chats.confirmation_status != "accepted")
    query = (select(chats.id, chats.closed_at, chats.confirmation_message_id, chats.confirmation_status,
                    chats.transcript_location)
             .where(chats.status == "closed", or_(unconfirmed, chats.transcript_location.is_(None)))
             .order_by(chats.closed_at, chats.id).limit(limit))
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def chats_idle_in_bot(engine: Engine, silent_since_before: datetime) -> list[str]:
    """Chats in the bot whose customer has been silent since before the cutoff and not yet recorded as idle,
    the longest silent first."""
    chats = CHATS.chats
    query = select(chats.c.id).where(
        chats.c.status == "bot", chats.c.last_customer_message_at < silent_since_before,
        or_(chats.c.bot_inactive_since.is_(None), chats.c.bot_inactive_since != chats.c.last_customer_message_at),
    ).order_by(chats.c.last_customer_message_at, chats.c.id).limit(1000)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())
