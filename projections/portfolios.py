"""Read model of customer portfolios: customers per campaign, their phones, the imports and the
upload jobs that produce them (with their progress).

A customer is keyed by campaign and identity (document type + number, `domain.documents`): CC
100001 and CE 100001 are two customers. Rows of every import ever recorded carry both.

An import's chunks land in the staging tables, which no query reads; its `Completed` event moves
them into `customers`/`customer_phones` in set-based statements of the same transaction, so the bot
and the pages see the old portfolio until that commit and the whole new one after it. Every hot
statement is built once per projector (SQLAlchemy then compiles it once) and runs as an executemany
or an INSERT … SELECT."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Delete,
    Executable,
    Index,
    Insert,
    Integer,
    MetaData,
    String,
    Table,
    Update,
    bindparam,
    delete,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from domain.portfolios import PortfolioChunk, PortfolioImport, PortfolioJob
from projections.base import Projector, handles
from projections.sql import UtcDateTime, uid, upsert

CUSTOMER_KEY = ("campaign_id", "document_type", "document_number")
CUSTOMER_FIELDS = ("full_name", "phones", "email", "balance", "custom_fields")


@dataclass(frozen=True)
class _Activation:
    """The statements that make an import's staged customers live, in order."""

    upsert_customers: Insert
    delete_replaced_phones: Delete
    insert_phones: Insert
    deactivate_left_out: Update
    clear_staged: tuple[Delete, Delete]


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
        self.staged = Table(
            f"customer_staging{suffix}", metadata,
            Column("import_id", String(36), primary_key=True),
            Column("document_type", String(5), primary_key=True),
            Column("document_number", String(20), primary_key=True),
            Column("full_name", String(200), nullable=False),
            Column("phones", JSON, nullable=False),
            Column("email", String(200)),
            Column("balance", String(32)),
            Column("custom_fields", JSON, nullable=False),
        )
        self.staged_phones = Table(
            f"customer_phone_staging{suffix}", metadata,
            Column("import_id", String(36), primary_key=True),
            Column("document_type", String(5), primary_key=True),
            Column("document_number", String(20), primary_key=True),
            Column("phone", String(20), primary_key=True),
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
        self._activations: dict[str, _Activation] = {}

    @handles(PortfolioImport.Started)
    def started(self, connection: Connection, event: Any) -> None:
        upsert(connection, self.imports, [{
            "id": uid(event.originator_id), "campaign_id": event.campaign_id, "file_name": event.file_name,
            "sha256": event.sha256, "mode": event.mode, "rows_accepted": 0, "counts": None,
            "actor": event.actor, "started_at": event.at, "completed_at": None}], ["id"])

    @handles(PortfolioChunk.Staged)
    def chunk_staged(self, connection: Connection, event: Any) -> None:
        self._stage(connection, event.import_id, event.rows)

    @handles(PortfolioImport.RowsAccepted)
    def rows_accepted(self, connection: Connection, event: Any) -> None:
        """Imports recorded before chunks: their rows came in the import's own events (staged the same way;
        the import's completion follows them in the same save)."""
        latest = {(row["document_type"], row["document_number"]): row for row in event.rows}
        self._stage(connection, uid(event.originator_id), list(latest.values()))

    def _stage(self, connection: Connection, import_id: str, rows: list[dict[str, Any]]) -> None:
        connection.execute(self.staged.insert(), [{
            "import_id": import_id, "document_type": row["document_type"], "document_number": row["document_number"],
            "full_name": row["full_name"], "phones": row["phones"], "email": row.get("email"),
            "balance": row.get("balance"), "custom_fields": row.get("custom_fields", {})} for row in rows])
        phone_rows = [{"import_id": import_id, "document_type": row["document_type"],
                       "document_number": row["document_number"], "phone": phone}
                      for row in rows for phone in dict.fromkeys(row["phones"])]
        if phone_rows:
            connection.execute(self.staged_phones.insert(), phone_rows)
        connection.execute(self._count_staged, {"staged_import": import_id, "rows": len(rows)})

    @cached_property
    def _count_staged(self) -> Update:
        imports = self.imports
        return (update(imports).where(imports.c.id == bindparam("staged_import"))
                .values(rows_accepted=imports.c.rows_accepted + bindparam("rows", type_=Integer)))

    @handles(PortfolioImport.Completed)
    def completed(self, connection: Connection, event: Any) -> None:
        """Activation: the staged customers replace the campaign's live ones in one transaction."""
        import_id = uid(event.originator_id)
        imported = connection.execute(select(self.imports).where(self.imports.c.id == import_id)).one()
        parameters = {"staged_import": import_id, "campaign": imported.campaign_id,
                      "import_started_at": imported.started_at, "completed_at": event.at}
        activation = self._activation(connection.dialect.name)
        statements: list[Executable] = [activation.upsert_customers, activation.delete_replaced_phones,
                                        activation.insert_phones]
        if imported.mode == "replace":
            statements.append(activation.deactivate_left_out)
        for statement in (*statements, *activation.clear_staged):
            connection.execute(statement, parameters)
        connection.execute(update(self.imports).where(self.imports.c.id == import_id)
                           .values(counts=event.counts, completed_at=event.at))
        self.touch(f"campaign:{imported.campaign_id}", "portfolios")
        job_id = connection.execute(select(self.jobs.c.id).where(self.jobs.c.import_id == import_id)).scalar()
        if job_id:
            self.touch(f"portfolio_job:{job_id}")

    @handles(PortfolioImport.Discarded)
    def discarded(self, connection: Connection, event: Any) -> None:
        """An import given up leaves nothing behind: its staged customers and its row go."""
        import_id = uid(event.originator_id)
        for statement in self._activation(connection.dialect.name).clear_staged:
            connection.execute(statement, {"staged_import": import_id})
        connection.execute(delete(self.imports).where(self.imports.c.id == import_id))
        self.touch("portfolios")

    def _activation(self, dialect_name: str) -> _Activation:
        if dialect_name not in self._activations:
            self._activations[dialect_name] = self._activation_statements(dialect_name)
        return self._activations[dialect_name]

    def _activation_statements(self, dialect_name: str) -> _Activation:
        customers, phones, staged, staged_phones = self.customers, self.phones, self.staged, self.staged_phones
        # Parameter names differ from column names: SQLAlchemy keeps those for INSERT/UPDATE values.
        import_id, campaign_id = bindparam("staged_import", type_=String), bindparam("campaign", type_=String)
        dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
        upsert_customers = dialect_insert(customers).from_select(
            [*CUSTOMER_KEY, *CUSTOMER_FIELDS, "active", "import_id", "updated_at"],
            select(campaign_id, staged.c.document_type, staged.c.document_number,
                   *(staged.c[name] for name in CUSTOMER_FIELDS), true(), import_id,
                   bindparam("import_started_at", type_=UtcDateTime())).where(staged.c.import_id == import_id))
        upsert_customers = upsert_customers.on_conflict_do_update(
            index_elements=list(CUSTOMER_KEY), set_={name: upsert_customers.excluded[name] for name in (
                *CUSTOMER_FIELDS, "active", "import_id", "updated_at")})
        staged_keys = select(staged.c.document_type, staged.c.document_number).where(staged.c.import_id == import_id)
        return _Activation(
            upsert_customers=upsert_customers,
            delete_replaced_phones=delete(phones).where(  # by primary-key prefix: an index seek per document
                phones.c.campaign_id == campaign_id,
                tuple_(phones.c.document_type, phones.c.document_number).in_(staged_keys)),
            insert_phones=phones.insert().from_select(
                ["campaign_id", "document_type", "document_number", "phone"],
                select(campaign_id, staged_phones.c.document_type, staged_phones.c.document_number,
                       staged_phones.c.phone).where(staged_phones.c.import_id == import_id)),
            deactivate_left_out=update(customers).where(
                customers.c.campaign_id == campaign_id, customers.c.import_id != import_id).values(
                active=False, updated_at=bindparam("completed_at", type_=UtcDateTime())),
            clear_staged=(delete(staged).where(staged.c.import_id == import_id),
                          delete(staged_phones).where(staged_phones.c.import_id == import_id)),
        )

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
