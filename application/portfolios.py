"""Use cases for customer portfolios: preview a file, then import its valid rows for one campaign.

An import is one save: the import's events (start, the rows in batches, completion with counts)
are recorded together or not at all. Customers of another campaign are never touched.

Browsers and API clients upload once: the file is kept (`stage_upload`), previewed, and a
confirmed import becomes a `PortfolioJob` that a worker runs (`run_job`). The job finishes in
the same save as its import, so running it twice imports nothing twice.

A `replace` import deactivates the campaign's active customers it leaves out; `replacement` says how
many, and above a fifth of the portfolio the import (CLI) or its queueing (pages, API) needs
`confirm_deactivation`. Their open chats go on; the desk marks them as out of the portfolio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from application.campaigns import CampaignService
from application.portfolio_check import PortfolioFileError, PortfolioPreview, check_portfolio
from application.portfolio_tables import TableReader
from application.ports import Clock
from application.store import EventStore
from domain.common import SYSTEM, DomainError, NotFoundError
from domain.documents import CustomerIdentity
from domain.portfolios import PortfolioImport, PortfolioImportError, PortfolioJob, Replacement

UPLOADS_PREFIX = "portfolio-uploads"


class UnknownUploadError(PortfolioImportError, NotFoundError):
    pass


class StoredUpload(Protocol):
    @property
    def location(self) -> str: ...


class UploadStore(Protocol):
    """Where uploaded files wait between preview, confirmation and the worker (adapters.file_storage)."""

    def put(self, key: str, content: bytes, content_type: str) -> StoredUpload: ...

    def get(self, location: str) -> bytes: ...

    def exists(self, location: str) -> bool: ...

    def location(self, key: str) -> str: ...


class CustomerDirectory(Protocol):
    """A campaign's portfolio as the read side knows it (projections.portfolio_directory)."""

    def active_customers(self, campaign_id: str) -> set[CustomerIdentity]: ...


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    campaign_id: str
    counts: dict[str, int]
    replacement: Replacement | None = None
    """What a `replace` import deactivated (as the portfolio stood when it was imported)."""


class PortfolioService:
    def __init__(self, store: EventStore, clock: Clock, campaigns: CampaignService, max_bytes: int, *,
                 read_table: TableReader, customers: CustomerDirectory, uploads: UploadStore | None = None) -> None:
        self.read_table = read_table
        self.customers = customers
        self.store = store
        self.clock = clock
        self.campaigns = campaigns
        self.max_bytes = max_bytes
        self.uploads = uploads

    def preview(self, content: bytes, file_name: str, *, sheet: str | None = None) -> PortfolioPreview:
        return check_portfolio(content, file_name, read_table=self.read_table, sheet=sheet, max_bytes=self.max_bytes)

    def replacement(self, campaign_id: UUID, preview: PortfolioPreview) -> Replacement:
        """What importing this preview in `replace` mode would deactivate."""
        active = self.customers.active_customers(str(campaign_id))
        kept = {CustomerIdentity(row.document_type, row.document_number) for row in preview.valid_rows}
        return Replacement(active=len(active), deactivated=len(active - kept))

    def import_file(self, campaign_id: UUID, content: bytes, file_name: str, *, mode: str = "upsert",
                    sheet: str | None = None, confirm_deactivation: bool = False, actor: str) -> ImportResult:
        """Import now, in the caller's process (the CLI, small files)."""
        self._active_campaign(campaign_id)
        preview = self.preview(content, file_name, sheet=sheet)
        replacement = self._checked_replacement(campaign_id, preview, mode, confirm_deactivation)
        portfolio_import, counts = self._prepared_import(campaign_id, preview, mode, actor)
        self.store.save(portfolio_import)
        return ImportResult(str(portfolio_import.id), str(campaign_id), counts, replacement)

    def preview_upload(self, file_name: str, *, content: bytes | None = None, upload_id: str = "",
                       sheet: str | None = None) -> tuple[str, PortfolioPreview]:
        """Check a new upload and keep it for its import, or check again one kept earlier (another
        sheet, the error report). Returns the upload id (the file's sha256) and the preview."""
        if content is None:
            content = self.read_upload(upload_id)
        preview = self.preview(content, file_name, sheet=sheet)
        if not upload_id:
            self._uploads().put(f"{UPLOADS_PREFIX}/{preview.sha256}", content, "application/octet-stream")
        return preview.sha256, preview

    def read_upload(self, upload_id: str) -> bytes:
        location = self._upload_location(upload_id)
        if not self._uploads().exists(location):
            raise UnknownUploadError("El archivo ya no está disponible: súbalo de nuevo")
        return self._uploads().get(location)

    def queue_import(self, campaign_id: UUID, upload_id: str, file_name: str, *, mode: str = "upsert",
                     sheet: str | None = None, confirm_deactivation: bool = False, actor: str) -> UUID:
        """Record a confirmed import for the worker; returns the job id to follow its progress."""
        self._active_campaign(campaign_id)
        content = self.read_upload(upload_id)
        if mode == "replace":
            self._checked_replacement(campaign_id, self.preview(content, file_name, sheet=sheet), mode,
                                      confirm_deactivation)
        job = PortfolioJob.queue(str(campaign_id), file_name, self._upload_location(upload_id), upload_id, mode,
                                 sheet, actor=actor, at=self.clock.now())
        self.store.save(job)
        return job.id

    def run_job(self, job_id: UUID) -> str:
        """What the worker does; safe to run again. Returns the job's status."""
        job: PortfolioJob = self.store.repository.get(job_id)
        if job.finished:
            return job.status
        job.start(actor=SYSTEM, at=self.clock.now())
        self.store.save(job)
        try:
            self._active_campaign(UUID(job.campaign_id))
            preview = self.preview(self._uploads().get(job.file_location), job.file_name, sheet=job.sheet)
            portfolio_import, counts = self._prepared_import(UUID(job.campaign_id), preview, job.mode,
                                                             job.requested_by)
        except (DomainError, PortfolioFileError) as error:
            job.fail(str(error), actor=SYSTEM, at=self.clock.now())
            self.store.save(job)
            return job.status
        job.finish(str(portfolio_import.id), counts, actor=SYSTEM, at=self.clock.now())
        self.store.save(job, portfolio_import)  # job first: the import's rows find it when projected
        return job.status

    def job_exists(self, job_id: UUID) -> bool:
        """Whether a job was queued (its read-table row may not be projected yet)."""
        return job_id in self.store.repository

    def _checked_replacement(self, campaign_id: UUID, preview: PortfolioPreview, mode: str,
                             confirmed: bool) -> Replacement | None:
        if mode != "replace":
            return None
        replacement = self.replacement(campaign_id, preview)
        replacement.check_confirmed(confirmed)
        return replacement

    def _prepared_import(self, campaign_id: UUID, preview: PortfolioPreview, mode: str,
                         actor: str) -> tuple[PortfolioImport, dict[str, int]]:
        if preview.valid_count == 0:
            raise PortfolioImportError("El archivo no tiene filas válidas: no se importó nada")
        counts = counts_of(preview)
        portfolio_import = PortfolioImport.start(str(campaign_id), preview.file_name, preview.sha256, mode,
                                                 actor=actor, at=self.clock.now())
        portfolio_import.accept_rows([row.to_dict() for row in preview.valid_rows])
        portfolio_import.complete(counts, actor=actor, at=self.clock.now())
        return portfolio_import, counts

    def _active_campaign(self, campaign_id: UUID) -> None:
        campaign = self.campaigns.get(campaign_id)
        if campaign.archived:
            raise PortfolioImportError("La campaña %(campaign)s está archivada", campaign=campaign.name)

    def _uploads(self) -> UploadStore:
        if self.uploads is None:
            raise PortfolioImportError("No hay dónde guardar archivos subidos")
        return self.uploads

    def _upload_location(self, upload_id: str) -> str:
        if len(upload_id) != 64 or not all(c in "0123456789abcdef" for c in upload_id):
            raise UnknownUploadError("Archivo subido desconocido")
        return self._uploads().location(f"{UPLOADS_PREFIX}/{upload_id}")


def counts_of(preview: PortfolioPreview) -> dict[str, int]:
    return {"rows": preview.total_rows, "valid": preview.valid_count, "invalid": preview.invalid_count,
            "duplicates": preview.duplicate_rows, "warnings": preview.warning_rows}
