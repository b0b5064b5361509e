"""Read model of customer portfolios: customers per campaign, their phones, the imports and the
upload jobs that produce them (with their progress).

A customer is keyed by campaign and identity (document type + number, `domain.documents`): CC
100001 and CE 100001 are two customers. Rows of every import ever recorded carry both.

An import's chunks land in `customer_staging` as they are saved, one row a chunk holding its
customers as JSON; no query reads it. The import's `Completed` event expands them in SQL
(`json_each` on SQLite, `json_to_recordset` on PostgreSQL) into `customers`/`customer_phones`
with INSERT … SELECT … ON CONFLICT in the same transaction, so the bot and the pages see the old
portfolio until that commit and the whole new one after it. No Python runs per customer here, and
every statement is built once per projector (SQLAlchemy compiles it once)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Delete,
    Executable,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TextClause,
    Update,
    bindparam,
    delete,
    select,
    text,
    tuple_,
    update,
)

from domain.portfolios import PortfolioChunk, PortfolioImport, PortfolioJob
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, uid
from projections.unit_of_work import UnitOfWork

CUSTOMER_KEY = ("campaign_id", "document_type", "document_number")
CUSTOMER_FIELDS = ("full_name", "phones", "email", "balance", "custom_fields")


@dataclass(frozen=True)
class _Activation:
    """The statements that make an import's staged customers live, in order."""

    upsert_customers: TextClause
    delete_replaced_phones: Delete
    insert_phones: TextClause
    deactivate_left_out: Update
    clear_staged: Delete


@dataclass(frozen=True)
class _JsonExpansion:
    """How each database turns a staged chunk's JSON back into rows, in SQL."""

    rows: str
    customer_columns: str
    key_columns: str
    phones: str
    phone: str
    true: str


_SQLITE_EXPANSION = _JsonExpansion(
    rows=", json_each(s.rows) AS r",
    customer_columns="r.value ->> 'document_type', r.value ->> 'document_number', r.value ->> 'full_name', "
                     "r.value -> 'phones', r.value ->> 'email', r.value ->> 'balance', "
                     "coalesce(r.value -> 'custom_fields', '{}')",
    key_columns="r.value ->> 'document_type', r.value ->> 'document_number'",
    phones=", json_each(r.value -> 'phones') AS p",
    phone="p.value",
    true="1",
)
_POSTGRESQL_EXPANSION = _JsonExpansion(
    rows="CROSS JOIN LATERAL json_to_recordset(CAST(s.rows AS json)) AS r(document_type text, document_number text, "
         "full_name text, phones json, email text, balance text, custom_fields json)",
    customer_columns="r.document_type, r.document_number, r.full_name, r.phones, r.email, r.balance, "
                     "COALESCE(r.custom_fields, CAST('{}' AS json))",
    key_columns="r.document_type, r.document_number",
    phones="CROSS JOIN LATERAL json_array_elements_text(r.phones) AS p(phone)",
    phone="p.phone",
    true="true",
)


class PortfoliosProjector(BatchProjector):
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
        self.staged = Table(  # one row a chunk: its customers as the JSON the chunk's event carried
            f"customer_staging{suffix}", metadata,
            Column("import_id", String(36), primary_key=True),
            Column("number", Integer, primary_key=True),
            Column("rows", Text, nullable=False),
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
            Column("field_labels", JSON, nullable=False),
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
        self._activations: dict[str, _Activation] = {}

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        batch.load(self.imports, [uid(e.originator_id) for e in events
                                  if isinstance(e, PortfolioImport.Completed | PortfolioImport.Discarded)]
                   + [e.import_id for e in events if isinstance(e, PortfolioChunk.Staged)])
        batch.load(self.jobs, [uid(e.originator_id) for e in events if isinstance(e, PortfolioJob.Event)])
        batch.load_groups(self.jobs, "import_id", [uid(e.originator_id) for e in events
                                                  if isinstance(e, PortfolioImport.Completed)])

    @handles(PortfolioImport.Started)
    def started(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.imports, id=uid(event.originator_id), campaign_id=event.campaign_id,
                      file_name=event.file_name, sha256=event.sha256, mode=event.mode, rows_accepted=0, counts=None,
                      actor=event.actor, started_at=event.at, completed_at=None, field_labels=event.field_labels)

    @handles(PortfolioChunk.Staged)
    def chunk_staged(self, batch: UnitOfWork, event: Any) -> None:
        self._stage(batch, event.import_id, event.number, event.rows)

    @handles(PortfolioImport.RowsAccepted)
    def rows_accepted(self, batch: UnitOfWork, event: Any) -> None:
        """Imports recorded before chunks: their rows came in the import's own events, staged the same way
        (numbered by the event's version; the import's completion follows them in the same save)."""
        latest = {(row["document_type"], row["document_number"]): row for row in event.rows}
        self._stage(batch, uid(event.originator_id), event.originator_version, list(latest.values()))

    def _stage(self, batch: UnitOfWork, import_id: str, number: int, rows: list[dict[str, Any]]) -> None:
        """The rows stay JSON until the activation expands them in SQL."""
        batch.insert(self.staged, import_id=import_id, number=number, rows=json.dumps(rows))
        imported = batch.get(self.imports, import_id)
        if imported is not None:
            batch.update(self.imports, import_id, rows_accepted=imported["rows_accepted"] + len(rows))

    @handles(PortfolioImport.Completed)
    def completed(self, batch: UnitOfWork, event: Any) -> None:
        """Activation: the staged customers replace the campaign's live ones in one transaction. The batch's
        staged chunks are written first, for the SQL to read; customers and phones are written only by SQL."""
        import_id = uid(event.originator_id)
        imported = batch.get(self.imports, import_id)
        if imported is None:
            return
        batch.flush([self.staged])  # the activation's SQL reads the chunks this batch staged
        parameters = {"staged_import": import_id, "campaign": imported["campaign_id"],
                      "import_started_at": imported["started_at"], "completed_at": event.at}
        activation = self._activation(batch.connection.dialect.name)
        statements: list[Executable] = [activation.upsert_customers, activation.delete_replaced_phones,
                                        activation.insert_phones]
        if imported["mode"] == "replace":
            statements.append(activation.deactivate_left_out)
        for statement in statements:
            batch.connection.execute(statement, parameters)
        self._unstage(batch, import_id)
        batch.update(self.imports, import_id, counts=event.counts, completed_at=event.at)
        self.touch(f"campaign:{imported['campaign_id']}", "portfolios")
        for job in batch.where(self.jobs, "import_id", import_id):
            self.touch(f"portfolio_job:{job['id']}")

    @handles(PortfolioImport.Discarded)
    def discarded(self, batch: UnitOfWork, event: Any) -> None:
        """An import given up leaves nothing behind: its staged customers and its row go."""
        import_id = uid(event.originator_id)
        self._unstage(batch, import_id)
        batch.delete(self.imports, import_id)
        self.touch("portfolios")

    def _unstage(self, batch: UnitOfWork, import_id: str) -> None:
        """Staged chunks go once activated or discarded, by one DELETE after the batch's own are written (no
        handler reads staged rows back, so the unit of work's memory of them does not matter)."""
        batch.flush([self.staged])
        batch.connection.execute(self._activation(batch.connection.dialect.name).clear_staged,
                                 {"staged_import": import_id})

    def _activation(self, dialect_name: str) -> _Activation:
        if dialect_name not in self._activations:
            self._activations[dialect_name] = self._activation_statements(dialect_name)
        return self._activations[dialect_name]

    def _activation_statements(self, dialect_name: str) -> _Activation:
        """Parameters: staged_import, campaign, import_started_at, completed_at (names differ from columns:
        SQLAlchemy keeps those for INSERT/UPDATE values; the casts settle their types for PostgreSQL).
        Rows go in in key order: a file's documents come in any order, and a million inserts at random
        places of the primary key thrash SQLite's page cache (gigabytes of WAL for a 100 MB file)."""
        customers, phones, staged = self.customers.name, self.phones, self.staged
        import_id, campaign_id = bindparam("staged_import", type_=String), bindparam("campaign", type_=String)
        expand = _POSTGRESQL_EXPANSION if dialect_name == "postgresql" else _SQLITE_EXPANSION
        conflict_updates = ", ".join(f"{name} = excluded.{name}" for name in (
            *CUSTOMER_FIELDS, "active", "import_id", "updated_at"))
        campaign, this_import = "CAST(:campaign AS VARCHAR(36))", "CAST(:staged_import AS VARCHAR(36))"
        upsert_customers = text(f"""
            INSERT INTO {customers} ({", ".join(CUSTOMER_KEY)}, {", ".join(CUSTOMER_FIELDS)}, active, import_id,
                                     updated_at)
            SELECT {campaign}, {expand.customer_columns}, {expand.true}, {this_import}, :import_started_at
            FROM {staged.name} AS s {expand.rows} WHERE s.import_id = {this_import}
            ORDER BY 2, 3
            ON CONFLICT ({", ".join(CUSTOMER_KEY)}) DO UPDATE SET {conflict_updates}
            """).bindparams(bindparam("import_started_at", type_=UtcDateTime()))  # noqa: S608 (our own tables)
        insert_phones = text(f"""
            INSERT INTO {phones.name} (campaign_id, document_type, document_number, phone)
            SELECT {campaign}, {expand.key_columns}, {expand.phone}
            FROM {staged.name} AS s {expand.rows} {expand.phones} WHERE s.import_id = {this_import}
            ORDER BY 2, 3, 4
            ON CONFLICT DO NOTHING""")  # noqa: S608
        live = self.customers.c
        return _Activation(
            upsert_customers=upsert_customers,
            delete_replaced_phones=delete(phones).where(  # the activated customers' old phones
                phones.c.campaign_id == campaign_id,
                tuple_(phones.c.document_type, phones.c.document_number).in_(
                    select(live.document_type, live.document_number).where(
                        live.campaign_id == campaign_id, live.import_id == import_id))),
            insert_phones=insert_phones,
            deactivate_left_out=update(self.customers).where(
                live.campaign_id == campaign_id, live.import_id != import_id).values(
                active=False, updated_at=bindparam("completed_at", type_=UtcDateTime())),
            clear_staged=delete(staged).where(staged.c.import_id == import_id),
        )


    @handles(PortfolioJob.Queued)
    def job_queued(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.jobs, id=uid(event.originator_id), campaign_id=event.campaign_id,
                      file_name=event.file_name, sha256=event.sha256, mode=event.mode, sheet=event.sheet,
                      status="queued", import_id=None, counts=None, error=None, actor=event.actor,
                      queued_at=event.at, finished_at=None)
        self.touch("portfolios")

    @handles(PortfolioJob.Started)
    def job_started(self, batch: UnitOfWork, event: Any) -> None:
        self._job(batch, event, status="running")

    @handles(PortfolioJob.Finished)
    def job_finished(self, batch: UnitOfWork, event: Any) -> None:
        self._job(batch, event, status="done", import_id=event.import_id, counts=event.counts,
                  finished_at=event.at)

    @handles(PortfolioJob.Failed)
    def job_failed(self, batch: UnitOfWork, event: Any) -> None:
        self._job(batch, event, status="failed", error=event.reason, finished_at=event.at)

    def _job(self, batch: UnitOfWork, event: Any, **values: Any) -> None:
        job_id = uid(event.originator_id)
        batch.update(self.jobs, job_id, **values)
        self.touch("portfolios", f"portfolio_job:{job_id}")
