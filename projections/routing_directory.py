"""What the router reads: waiting chats, agents' loads and each campaign's settings (policy, hours)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from domain.agents import presence
from domain.campaigns import CampaignSettings
from domain.routing import AgentLoad, WaitingChat
from projections.queries import AGENTS, CAMPAIGNS, CHATS


class SqlRoutingDirectory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def waiting_chats(self, campaign_ids: set[str] | None) -> list[WaitingChat]:
        chats = CHATS.chats
        query = select(chats.c.id, chats.c.campaign_id, chats.c.queued_at).where(chats.c.status == "waiting_queue")
        if campaign_ids is not None:
            query = query.where(chats.c.campaign_id.in_(campaign_ids))
        with self.engine.connect() as connection:
            return [WaitingChat(r.id, r.campaign_id, r.queued_at)
                    for r in connection.execute(query.order_by(chats.c.queued_at, chats.c.id))]

    def agent_loads(self, campaign_ids: set[str] | None) -> list[AgentLoad]:
        agents, members = AGENTS.agents, AGENTS.memberships
        query = select(agents).where(agents.c.role == "agent", agents.c.active.is_(True))
        if campaign_ids is not None:
            query = query.where(agents.c.id.in_(
                select(members.c.agent_id).where(members.c.campaign_id.in_(campaign_ids))))
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
            links = connection.execute(select(members.c.agent_id, members.c.campaign_id).where(
                members.c.agent_id.in_([r["id"] for r in rows]))).all()
        campaigns: dict[str, set[str]] = {}
        for agent_id, campaign_id in links:
            campaigns.setdefault(agent_id, set()).add(campaign_id)
        return [AgentLoad(agent_id=r["id"], open_chats=r["open_chats"], capacity=r["capacity"],
                          last_assigned_at=r["last_assigned_at"], campaigns=frozenset(campaigns.get(r["id"], ())),
                          available=presence(r["status"], r["open_sessions"] > 0) == "available")
                for r in rows]

    def settings(self, campaign_ids: set[str]) -> dict[str, CampaignSettings]:
        table = CAMPAIGNS.campaigns
        with self.engine.connect() as connection:
            rows = connection.execute(select(table).where(table.c.id.in_(campaign_ids))).mappings().all()
        return {row["id"]: CampaignSettings.from_dict(dict(row)) for row in rows}

    def round_robin_cursors(self, campaign_ids: set[str]) -> dict[str, str | None]:
        table = CHATS.assignments
        latest = select(table.c.campaign_id, func.max(table.c.at).label("at")).where(
            table.c.campaign_id.in_(campaign_ids), table.c.kind == "automatic").group_by(table.c.campaign_id).subquery()
        query = select(table.c.campaign_id, table.c.agent_id).join(
            latest, (table.c.campaign_id == latest.c.campaign_id) & (table.c.at == latest.c.at))
        with self.engine.connect() as connection:
            found = dict(connection.execute(query).all())
        return {campaign_id: found.get(campaign_id) for campaign_id in campaign_ids}
