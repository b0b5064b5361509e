"""The bot's view of the world, answered from read tables: only campaign ids and display names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, select

from adapters.caching import ttl_cache
from domain.business_hours import describe_next_opening, takes_chats_now
from domain.campaigns import CampaignSettings
from domain.documents import CustomerIdentity
from domain.flows.world import BusinessHours, CampaignRef
from projections.queries import CAMPAIGNS, PORTFOLIOS

# Built once: the bot asks it for every customer who gives a document (ix_customers_document serves it).
CAMPAIGNS_HOLDING_DOCUMENT = (
    select(CAMPAIGNS.campaigns.c.id, CAMPAIGNS.campaigns.c.display_name)
    .join(PORTFOLIOS.customers, PORTFOLIOS.customers.c.campaign_id == CAMPAIGNS.campaigns.c.id)
    .where(PORTFOLIOS.customers.c.document_number == bindparam("document_number"),
           PORTFOLIOS.customers.c.document_type == bindparam("document_type"),
           PORTFOLIOS.customers.c.active.is_(True), CAMPAIGNS.campaigns.c.archived.is_(False))
    .order_by(CAMPAIGNS.campaigns.c.display_name))


class SqlBotWorld:
    def __init__(self, engine: Engine, sender_address: str, unidentified_campaign_id: str | None = None) -> None:
        self.engine = engine
        self.sender_address = sender_address
        self.unidentified_campaign_id = unidentified_campaign_id

    def campaigns_for_customer(self, customer: CustomerIdentity) -> Sequence[CampaignRef]:
        # One read, no transaction to open and roll back around it: on PostgreSQL two round trips fewer.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            rows = connection.execute(CAMPAIGNS_HOLDING_DOCUMENT, {"document_number": customer.document_number,
                                                                   "document_type": customer.document_type})
            return [CampaignRef(r.id, r.display_name) for r in rows]

    def campaign_of_number_written_to(self) -> CampaignRef | None:
        owners = campaigns_owning_sender(self.engine, self.sender_address)
        return CampaignRef(owners[0]["id"], owners[0]["display_name"]) if len(owners) == 1 else None

    def business_hours(self, campaign_id: str | None, at: datetime) -> BusinessHours:
        settings = campaign_settings(self.engine, campaign_id or self.unidentified_campaign_id)
        if settings is None:
            return BusinessHours(is_open=True, next_opening="")
        open_now = takes_chats_now(settings, at)
        return BusinessHours(is_open=open_now, next_opening="" if open_now else describe_next_opening(settings, at))


def campaigns_owning_sender(engine: Engine, sender_address: str) -> list[dict[str, Any]]:
    campaigns, senders = CAMPAIGNS.campaigns, CAMPAIGNS.senders
    query = (select(campaigns).join(senders, senders.c.campaign_id == campaigns.c.id)
             .where(senders.c.address == sender_address, campaigns.c.archived.is_(False)))
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def campaign_settings(engine: Engine, campaign_id: str | None) -> CampaignSettings | None:
    if not campaign_id:
        return None
    table = CAMPAIGNS.campaigns
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == campaign_id)).mappings().first()
    return CampaignSettings.from_dict(dict(row)) if row else None


@ttl_cache(seconds=30)
def flow_for_sender(engine: Engine, sender_address: str) -> str | None:
    owners = campaigns_owning_sender(engine, sender_address)
    return str(owners[0]["flow_name"]) if len(owners) == 1 else None


@ttl_cache(seconds=30)
def campaign_of_sender(engine: Engine, sender_address: str) -> str | None:
    """The campaign a number belongs to; None for a number shared by several campaigns (or by none)."""
    owners = campaigns_owning_sender(engine, sender_address)
    return str(owners[0]["id"]) if len(owners) == 1 else None
