"""Use cases for customer portfolios: preview a file, then import its valid rows for one campaign.

An import streams: the file is read and checked as it goes (`stream_portfolio`), its customers are
staged in chunks of ROWS_PER_CHUNK rows saved CHUNKS_PER_SAVE at a time, and one save completes
it, which is when the new portfolio goes live. Nothing of it is visible before (a failed import
leaves the previous portfolio in place). Customers of another campaign are never touched.

Browsers and API clients upload once: the file is kept (`stage_upload`), previewed, and a
confirmed import becomes a `PortfolioJob` that a worker runs (`run_job`). The job's import has an
id derived from the job's, so a worker restarted after a crash continues after the chunks already
saved; the job finishes in the same save as its import completes, so running it twice imports
nothing twice.

A `replace` import deactivates the campaign's active customers it leaves out; `replacement` says how
many, and above a fifth of the portfolio the import (CLI) or its queueing (pages, API) needs
`confirm_deactivation`. Their open chats go on; the desk marks them as out of the portfolio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID, uuid4

from application.campaigns import CampaignService
from application.portfolio_check import PortfolioFileError, PortfolioPreview, preview_portfolio
from application.portfolio_check.stream import StreamedCheck, stream_portfolio
from application.portfolio_tables import TableStreamer
from application.ports import Clock
from application.store import EventStore
from domain.common import SYSTEM, DomainError, NotFoundError
from domain.documents import CustomerIdentity
from domain.portfolios import (
    ROWS_PER_CHUNK,
    PortfolioChunk,
    PortfolioImport,
    PortfolioImportError,
    PortfolioJob,
    Replacement,
)

UPLOADS_PREFIX = "portfolio-uploads"
CHUNKS_PER_SAVE = 5
"""5,000 rows a transaction: small enough for any driver's pipeline, large enough that commits are rare."""


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
                 stream_table: TableStreamer, customers: CustomerDirectory,
                 uploads: UploadStore | None = None) -> None:
        self.stream_table = stream_table
        self.customers = customers
        self.store = store
        self.clock = clock
        self.campaigns = campaigns
        self.max_bytes = max_bytes
        self.uploads = uploads

    def preview(self, content: bytes, file_name: str, *, sheet: str | None = None) -> PortfolioPreview:
        return preview_portfolio(content, file_name, stream_table=self.stream_table, sheet=sheet,
                                 max_bytes=self.max_bytes)

    def replacement(self, campaign_id: UUID, preview: PortfolioPreview) -> Replacement:
        """What importing this preview in `replace` mode would deactivate."""
        active = self.customers.active_customers(str(campaign_id))
        kept = set(preview.valid_identities)
        return Replacement(active=len(active), deactivated=len(active - kept))

    def import_file(self, campaign_id: UUID, content: bytes, file_name: str, *, mode: str = "upsert",
                    sheet: str | None = None, confirm_deactivation: bool = False, actor: str) -> ImportResult:
        """Import now, in the caller's process (the CLI)."""
        self._active_campaign(campaign_id)
        replacement = None
        if mode == "replace":
            replacement = self._checked_replacement(campaign_id, self.preview(content, file_name, sheet=sheet), mode,
                                                    confirm_deactivation)
        check = self._streamed(content, file_name, sheet)
        portfolio_import, last_chunks = self._staged_import(uuid4(), campaign_id, check, mode, actor)
        self.store.save(*last_chunks, portfolio_import)
        return ImportResult(str(portfolio_import.id), str(campaign_id), check.counts, replacement)

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
        """What the worker does; safe to run again, and after a crash it continues. Returns the job's status."""
        job: PortfolioJob = self.store.repository.get(job_id)
        if job.finished:
            return job.status
        job.start(actor=SYSTEM, at=self.clock.now())
        self.store.save(job)
        import_id = PortfolioImport.id_for_job(job_id)
        try:
            self._active_campaign(UUID(job.campaign_id))
            check = self._streamed(self._uploads().get(job.file_location), job.file_name, job.sheet)
            portfolio_import, last_chunks = self._staged_import(import_id, UUID(job.campaign_id), check, job.mode,
                                                                job.requested_by)
        except (DomainError, PortfolioFileError) as error:
            self._fail(job, import_id, str(error))
            return job.status
        job.finish(str(portfolio_import.id), check.counts, actor=SYSTEM, at=self.clock.now())
        # The job first (the activation finds it when projected), the import's completion after its last chunks.
        self.store.save(job, *last_chunks, portfolio_import)
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

    def _streamed(self, content: bytes, file_name: str, sheet: str | None) -> StreamedCheck:
        return stream_portfolio(content, file_name, stream_table=self.stream_table, sheet=sheet,
                                max_bytes=self.max_bytes)

    def _staged_import(self, import_id: UUID, campaign_id: UUID, check: StreamedCheck, mode: str,
                       actor: str) -> tuple[PortfolioImport, list[PortfolioChunk]]:
        """Stage every valid row, saving the chunks as they fill (the first save starts the import),
        and complete the import; returns it with the chunks its completing save must carry before it.
        Chunks saved by an earlier attempt are checked again but not staged twice."""
        portfolio_import = self._resumed_import(import_id) or PortfolioImport.start(
            str(campaign_id), check.file_name, check.sha256, mode, actor=actor, at=self.clock.now(),
            import_id=import_id, field_labels=check.columns.custom_labels())
        already_saved = self._chunks_saved(import_id)
        pending: list[PortfolioChunk] = []
        staged_rows = 0
        for number, rows in enumerate(check.chunks(ROWS_PER_CHUNK)):
            staged_rows += len(rows)
            if number < already_saved:
                continue
            pending.append(portfolio_import.stage(number, [row.to_dict() for row in rows]))
            if len(pending) == CHUNKS_PER_SAVE:
                self.store.save(portfolio_import, *pending)
                pending = []
        if staged_rows == 0:
            raise PortfolioImportError("El archivo no tiene filas válidas: no se importó nada")
        if not self._is_saved(import_id):  # a small file: its start must be projected before its chunks
            self.store.save(portfolio_import, *pending)
            pending = []
        portfolio_import.complete(check.counts, staged_rows, actor=actor, at=self.clock.now())
        return portfolio_import, pending

    def _resumed_import(self, import_id: UUID) -> PortfolioImport | None:
        if self._is_saved(import_id):
            portfolio_import: PortfolioImport = self.store.repository.get(import_id)
            return portfolio_import
        return None

    def _chunks_saved(self, import_id: UUID) -> int:
        """Saves are sequential and each is whole, so the saved chunks are the first N."""
        count = 0
        while self._is_saved(PortfolioChunk.create_id(str(import_id), count)):
            count += 1
        return count

    def _is_saved(self, aggregate_id: UUID) -> bool:
        """Without decoding it (a chunk holds a thousand rows)."""
        return bool(self.store.recorder.select_events(aggregate_id, limit=1))

    def _fail(self, job: PortfolioJob, import_id: UUID, reason: str) -> None:
        """The job fails, and an import it had begun is discarded with what it staged."""
        job.fail(reason, actor=SYSTEM, at=self.clock.now())
        portfolio_import = self._resumed_import(import_id)
        if portfolio_import is not None and not portfolio_import.completed:
            portfolio_import.discard(reason, actor=SYSTEM, at=self.clock.now())
            self.store.save(job, portfolio_import)
        else:
            self.store.save(job)

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

