"""What the portfolio use cases read: a campaign's active customers, by identity, and the campaigns holding one."""

from __future__ import annotations

from sqlalchemy import Engine, select

from domain.documents import CustomerIdentity
from domain.flows.world import CampaignRef
from projections.bot_world import CAMPAIGNS_HOLDING_DOCUMENT
from projections.queries import PORTFOLIOS


class SqlCustomerDirectory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def active_customers(self, campaign_id: str) -> set[CustomerIdentity]:
        customers = PORTFOLIOS.customers
        query = select(customers.c.document_type, customers.c.document_number).where(
            customers.c.campaign_id == campaign_id, customers.c.active.is_(True))
        with self.engine.connect() as connection:
            return {CustomerIdentity(row.document_type, row.document_number) for row in connection.execute(query)}

    def campaigns_holding(self, customer: CustomerIdentity) -> list[CampaignRef]:
        """Active campaigns whose active portfolio has this document, by display name (the bot's own question)."""
        with self.engine.connect() as connection:
            rows = connection.execute(CAMPAIGNS_HOLDING_DOCUMENT, {"document_number": customer.document_number,
                                                                   "document_type": customer.document_type})
            return [CampaignRef(r.id, r.display_name) for r in rows]
