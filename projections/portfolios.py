"""Read model of customer portfolios: customers per campaign, their phones, the imports and the
upload jobs that produce them (with their progress).

A customer is keyed by campaign and identity (document type + number, `domain.documents`): CC
100001 and CE 100001 are two customers. Rows of every import ever recorded carry both."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TextClause,
    bindparam,
    delete,
    select,
    text,
    tuple_,
    update,
)

from domain.portfolios import PortfolioImport, PortfolioJob
from projections.base import Projector, handles
from projections.sql import UtcDateTime, uid, upsert

CUSTOMER_KEY = ("campaign_id", "document_type", "document_number")


class PortfoliosProjector(Projector):
    name = "portfolios"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.customers = Table(
            f"customers{suffix}", metadata,
            Column("campaign_id", String(36), primary_key=True),
            Column("document_type", String(5), primary_key=True),
            Column("document_number", String(20), primary_key=True),
            Column("full_name", String(200), nullable=False),
            Column("phones", JSON, nullable=False),
            Column("email", String(200)),
            Column("balance", String(32)),
            Column("custom_fields", JSON, nullable=False),
            Column("active", Boolean, nullable=False),
            Column("import_id", String(36), nullable=False),
            Column("updated_at", UtcDateTime, nullable=False),
            Index(f"ix_customers_document{suffix}", "document_number", "document_type"),
        )
        self.phones = Table(
            f"customer_phones{suffix}", metadata,
            Column("campaign_id", String(36), primary_key=True),
            Column("document_type", String(5), primary_key=True),
            Column("document_number", String(20), primary_key=True),
            Column("phone", String(20), primary_key=True),
            Index(f"ix_customer_phones_phone{suffix}", "phone"),
        )
        self.imports = Table(
            f"portfolio_imports{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("campaign_id", String(36), nullable=False, index=True),
            Column("file_name", String(255), nullable=False),
            Column("sha256", String(64), nullable=False),
            Column("mode", String(10), nullable=False),
            Column("rows_accepted", Integer, nullable=False),
            Column("counts", JSON),
            Column("actor", String(80), nullable=False),
            Column("started_at", UtcDateTime, nullable=False),
            Column("completed_at", UtcDateTime),
        )
        self.jobs = Table(
            f"portfolio_jobs{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("campaign_id", String(36), nullable=False, index=True),
            Column("file_name", String(255), nullable=False),
            Column("sha256", String(64), nullable=False),
            Column("mode", String(10), nullable=False),
            Column("sheet", String(100)),
            Column("status", String(10), nullable=False),
            Column("import_id", String(36), index=True),
            Column("counts", JSON),
            Column("error", String(500)),
            Column("actor", String(80), nullable=False),
            Column("queued_at", UtcDateTime, nullable=False),
            Column("finished_at", UtcDateTime),
            Index(f"ix_portfolio_jobs_status_queued{suffix}", "status", "queued_at"),
        )

    @handles(PortfolioImport.Started)
    def started(self, connection: Connection, event: Any) -> None:
        upsert(connection, self.imports, [{
            "id": uid(event.originator_id), "campaign_id": event.campaign_id, "file_name": event.file_name,
            "sha256": event.sha256, "mode": event.mode, "rows_accepted": 0, "counts": None,
            "actor": event.actor, "started_at": event.at, "completed_at": None}], ["id"])

    @handles(PortfolioImport.RowsAccepted)
    def rows_accepted(self, connection: Connection, event: Any) -> None:
        import_id = uid(event.originator_id)
        imported = connection.execute(select(self.imports.c.campaign_id, self.imports.c.started_at)
                                      .where(self.imports.c.id == import_id)).one()
        campaign_id = imported.campaign_id
        if connection.dialect.name == "postgresql":
            self._rows_accepted_postgresql(connection, campaign_id, import_id, imported.started_at, event.rows)
        else:
            self._rows_accepted_portable(connection, campaign_id, import_id, imported.started_at, event.rows)
        connection.execute(update(self.imports).where(self.imports.c.id == import_id)
                           .values(rows_accepted=self.imports.c.rows_accepted + len(event.rows)))

    def _rows_accepted_portable(self, connection: Connection, campaign_id: str, import_id: str,
                                started_at: datetime, rows: list[dict[str, Any]]) -> None:
        upsert(connection, self.customers, [{
            "campaign_id": campaign_id, "document_number": row["document_number"],
            "document_type": row["document_type"], "full_name": row["full_name"], "phones": row["phones"],
            "email": row.get("email"), "balance": row.get("balance"),
            "custom_fields": row.get("custom_fields", {}), "active": True, "import_id": import_id,
            "updated_at": started_at} for row in rows], list(CUSTOMER_KEY))
        connection.execute(delete(self.phones).where(  # by primary-key prefix: an index seek per document
            self.phones.c.campaign_id == campaign_id,
            tuple_(self.phones.c.document_type, self.phones.c.document_number).in_(
                [(row["document_type"], row["document_number"]) for row in rows])))
        phone_rows = [{"campaign_id": campaign_id, "document_type": row["document_type"],
                       "document_number": row["document_number"], "phone": phone}
                      for row in rows for phone in dict.fromkeys(row["phones"])]
        if phone_rows:
            connection.execute(self.phones.insert(), phone_rows)

    def _rows_accepted_postgresql(self, connection: Connection, campaign_id: str, import_id: str,
                                  started_at: datetime, rows: list[dict[str, Any]]) -> None:
        """The portable path in three statements per batch: the rows travel as one JSON parameter that
        `json_to_recordset` turns back into rows (executemany costs a round trip per row)."""
        latest = {(row["document_type"], row["document_number"]): row for row in rows}  # ON CONFLICT: once a key
        parameters = {"campaign_id": campaign_id, "import_id": import_id, "updated_at": started_at,
                      "rows": json.dumps(list(latest.values()))}
        for statement in self._postgresql_statements:
            connection.execute(statement, parameters)

    @cached_property
    def _postgresql_statements(self) -> tuple[TextClause, ...]:
        """Upsert the customers, then replace their phones; table names carry the rebuild suffix."""
        customers, phones = self.customers.name, self.phones.name
        recordset = """json_to_recordset(CAST(:rows AS json)) AS r(
            document_number text, document_type text, full_name text, phones json, email text, balance text,
            custom_fields json)"""
        return (text(f"""
            INSERT INTO {customers} (campaign_id, document_number, document_type, full_name, phones, email,
                                     balance, custom_fields, active, import_id, updated_at)
            SELECT :campaign_id, r.document_number, r.document_type, r.full_name, r.phones, r.email, r.balance,
                   COALESCE(r.custom_fields, CAST('{{}}' AS json)), true, :import_id, :updated_at
            FROM {recordset}
            ON CONFLICT (campaign_id, document_type, document_number) DO UPDATE SET
                full_name = excluded.full_name, phones = excluded.phones,
                email = excluded.email, balance = excluded.balance, custom_fields = excluded.custom_fields,
                active = excluded.active, import_id = excluded.import_id, updated_at = excluded.updated_at
            """).bindparams(bindparam("updated_at", type_=UtcDateTime())),  # noqa: S608 (our own tables)
        text(f"""
            DELETE FROM {phones} WHERE campaign_id = :campaign_id
            AND (document_type, document_number) IN (SELECT r.document_type, r.document_number FROM {recordset})
            """),  # noqa: S608
        text(f"""
            INSERT INTO {phones} (campaign_id, document_type, document_number, phone)
            SELECT DISTINCT :campaign_id, r.document_type, r.document_number, p.phone
            FROM {recordset} CROSS JOIN LATERAL json_array_elements_text(r.phones) AS p(phone)"""))  # noqa: S608

    @handles(PortfolioImport.Completed)
    def completed(self, connection: Connection, event: Any) -> None:
        import_id = uid(event.originator_id)
        imported = connection.execute(select(self.imports).where(self.imports.c.id == import_id)).one()
        connection.execute(update(self.imports).where(self.imports.c.id == import_id)
                           .values(counts=event.counts, completed_at=event.at))
        if imported.mode == "replace":
            connection.execute(update(self.customers).where(
                self.customers.c.campaign_id == imported.campaign_id,
                self.customers.c.import_id != import_id).values(active=False, updated_at=event.at))
        self.touch(f"campaign:{imported.campaign_id}", "portfolios")
        job_id = connection.execute(select(self.jobs.c.id).where(self.jobs.c.import_id == import_id)).scalar()
        if job_id:
            self.touch(f"portfolio_job:{job_id}")

    @handles(PortfolioJob.Queued)
    def job_queued(self, connection: Connection, event: Any) -> None:
        upsert(connection, self.jobs, [{
            "id": uid(event.originator_id), "campaign_id": event.campaign_id, "file_name": event.file_name,
            "sha256": event.sha256, "mode": event.mode, "sheet": event.sheet, "status": "queued",
            "import_id": None, "counts": None, "error": None, "actor": event.actor, "queued_at": event.at,
            "finished_at": None}], ["id"])
        self.touch("portfolios")

    @handles(PortfolioJob.Started)
    def job_started(self, connection: Connection, event: Any) -> None:
        self._job(connection, event, status="running")

    @handles(PortfolioJob.Finished)
    def job_finished(self, connection: Connection, event: Any) -> None:
        self._job(connection, event, status="done", import_id=event.import_id, counts=event.counts,
                  finished_at=event.at)

    @handles(PortfolioJob.Failed)
    def job_failed(self, connection: Connection, event: Any) -> None:
        self._job(connection, event, status="failed", error=event.reason, finished_at=event.at)

    def _job(self, connection: Connection, event: Any, **values: Any) -> None:
        job_id = uid(event.originator_id)
        connection.execute(update(self.jobs).where(self.jobs.c.id == job_id).values(**values))
        self.touch("portfolios", f"portfolio_job:{job_id}")
