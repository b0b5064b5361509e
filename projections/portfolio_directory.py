"""What the portfolio use cases read: a campaign's active customers, by identity."""

from __future__ import annotations

from sqlalchemy import Engine, select

from domain.documents import CustomerIdentity
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
