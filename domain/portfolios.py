"""One upload of a campaign's customer portfolio (cartera), live whole or not at all.

An import is saved in many small transactions and made live by one event. Its customers are staged
in `PortfolioChunk`s of at most ROWS_PER_CHUNK rows, each saved on its own (a big file never makes
one huge transaction, and a worker that died continues from the chunks already saved, whose ids are
derived from the import's); they stay invisible until `Completed`, which makes the whole new version
of the portfolio live at once. `Discarded` drops what was staged.

A `replace` import makes every customer of the campaign missing from it inactive; when that is
more than a fifth of the active portfolio, the person importing must confirm it (a one-row file
once silently deactivated a whole campaign).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, require_aware

IMPORT_MODES = ("upsert", "replace")
ROWS_PER_CHUNK = 1000


class PortfolioImportError(DomainError):
    pass


class DeactivationNotConfirmedError(PortfolioImportError):
    pass


@dataclass(frozen=True)
class Replacement:
    """What a `replace` import would do to the campaign's active customers."""

    active: int
    """Active customers of the campaign before the import."""
    deactivated: int
    """Of them, those the import leaves out (not in the file, or only in invalid rows)."""

    @property
    def needs_confirmation(self) -> bool:
        return self.deactivated * CONFIRMATION_SHARE_DENOMINATOR > self.active

    def check_confirmed(self, confirmed: bool) -> None:
        if self.needs_confirmation and not confirmed:
            raise DeactivationNotConfirmedError(
                "Reemplazar la cartera desactivaría %(deactivated)s de sus %(active)s clientes activos, más de la "
                "quinta parte: confirme la desactivación para importar.", deactivated=self.deactivated,
                active=self.active)


CONFIRMATION_SHARE_DENOMINATOR = 5
"""A replace import deactivating more than 1/5 of the active customers needs an explicit confirmation."""


class PortfolioImport(Aggregate):
    class Started(Aggregate.Created):
        """v2 keeps the file's own headers of its extra columns (`field_labels`, custom field key → header as
        written), so pages name them as the file did; imports started before v2 read with none."""

        class_version = 2
        campaign_id: str
        file_name: str
        sha256: str
        mode: str
        field_labels: dict[str, str]
        actor: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["field_labels"] = {}

    @event(Started)
    def __init__(self, campaign_id: str, file_name: str, sha256: str, mode: str, field_labels: dict[str, str],
                 actor: str, at: datetime) -> None:
        self.campaign_id = campaign_id
        self.field_labels = dict(field_labels)
        self.file_name = file_name
        self.sha256 = sha256
        self.mode = mode
        self.rows_accepted = 0
        self.completed = False
        self.discarded = False

    @classmethod
    def start(cls, campaign_id: str, file_name: str, sha256: str, mode: str, *, actor: str, at: datetime,
              import_id: UUID | None = None, field_labels: Mapping[str, str] | None = None) -> PortfolioImport:
        """`field_labels`: the header each custom field key came from."""
        if mode not in IMPORT_MODES:
            raise PortfolioImportError("Modo de importación desconocido: %(mode)s", mode=mode)
        return cls._create(cls.Started, id=import_id, campaign_id=campaign_id, file_name=file_name[:255],
                           sha256=sha256, mode=mode, field_labels=dict(field_labels or {}), actor=actor,
                           at=require_aware(at))

    @staticmethod
    def id_for_job(job_id: UUID) -> UUID:
        """A job's import has one id, so a worker resuming the job finds the chunks already staged."""
        return uuid5(job_id, "portfolio-import")

    def stage(self, number: int, rows: Sequence[dict[str, Any]]) -> PortfolioChunk:
        """Chunk `number` (from 0) of the customers, staged until the import completes."""
        if self.completed or self.discarded:
            raise PortfolioImportError("La importación ya terminó")
        if not 0 < len(rows) <= ROWS_PER_CHUNK:
            raise PortfolioImportError("Un bloque de la importación tiene entre 1 y %(most)s filas",
                                       most=ROWS_PER_CHUNK)
        return PortfolioChunk(import_id=str(self.id), number=number, rows=list(rows))

    @event("RowsAccepted")
    def _rows_accepted(self, rows: list[dict[str, Any]]) -> None:
        """Imports recorded before chunks carried their rows in their own events; kept so that those logs
        still replay (nothing records it any more)."""
        self.rows_accepted += len(rows)

    def complete(self, counts: dict[str, int], staged_rows: int, *, actor: str, at: datetime) -> None:
        """Make the staged customers the campaign's live portfolio, all at once."""
        if self.completed or self.discarded:
            raise PortfolioImportError("La importación ya terminó")
        if counts.get("valid") != staged_rows:
            raise PortfolioImportError("Las filas registradas no coinciden con las filas válidas")
        self._completed(counts=dict(counts), actor=actor, at=require_aware(at))

    @event("Completed")
    def _completed(self, counts: dict[str, int], actor: str, at: datetime) -> None:
        self.completed = True
        self.rows_accepted = counts["valid"]

    def discard(self, reason: str, *, actor: str, at: datetime) -> None:
        """Give up: what was staged is dropped and the campaign's portfolio stays as it was."""
        if self.completed:
            raise PortfolioImportError("La importación ya terminó")
        if not self.discarded:
            self._discarded(reason=reason[:500], actor=actor, at=require_aware(at))

    @event("Discarded")
    def _discarded(self, reason: str, actor: str, at: datetime) -> None:
        self.discarded = True


class PortfolioChunk(Aggregate):
    """Up to ROWS_PER_CHUNK customers of one import, staged; one aggregate each so that a chunk is its own
    small save, and saving the same chunk twice (a worker retried) fails instead of doubling rows."""

    @staticmethod
    def create_id(import_id: str, number: int) -> UUID:
        return uuid5(UUID(import_id), f"chunk-{number}")

    @event("Staged")
    def __init__(self, import_id: str, number: int, rows: list[dict[str, Any]]) -> None:
        self.import_id = import_id
        self.number = number
        self.size = len(rows)


JOB_STATUSES = ("queued", "running", "done", "failed")


class PortfolioJob(Aggregate):
    """A confirmed upload waiting for (or being processed by) a worker.

    The job finishes in the same save as the import it produced, so a retried worker finds it
    done and never imports the file twice.
    """

    @event("Queued")
    def __init__(self, campaign_id: str, file_name: str, file_location: str, sha256: str, mode: str,
                 sheet: str | None, actor: str, at: datetime) -> None:
        self.campaign_id = campaign_id
        self.file_name = file_name
        self.file_location = file_location
        self.sha256 = sha256
        self.mode = mode
        self.sheet = sheet
        self.requested_by = actor
        self.status = "queued"
        self.import_id: str | None = None

    @classmethod
    def queue(cls, campaign_id: str, file_name: str, file_location: str, sha256: str, mode: str,
              sheet: str | None, *, actor: str, at: datetime) -> PortfolioJob:
        if mode not in IMPORT_MODES:
            raise PortfolioImportError("Modo de importación desconocido: %(mode)s", mode=mode)
        return cls(campaign_id=campaign_id, file_name=file_name[:255], file_location=file_location, sha256=sha256,
                   mode=mode, sheet=sheet, actor=actor, at=require_aware(at))

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def start(self, *, actor: str, at: datetime) -> None:
        if self.status == "queued":
            self._started(actor=actor, at=require_aware(at))

    @event("Started")
    def _started(self, actor: str, at: datetime) -> None:
        self.status = "running"

    def finish(self, import_id: str, counts: dict[str, int], *, actor: str, at: datetime) -> None:
        self._check_unfinished()
        self._finished(import_id=import_id, counts=dict(counts), actor=actor, at=require_aware(at))

    @event("Finished")
    def _finished(self, import_id: str, counts: dict[str, int], actor: str, at: datetime) -> None:
        self.status = "done"
        self.import_id = import_id

    def fail(self, reason: str, *, actor: str, at: datetime) -> None:
        self._check_unfinished()
        self._failed(reason=reason[:500], actor=actor, at=require_aware(at))

    @event("Failed")
    def _failed(self, reason: str, actor: str, at: datetime) -> None:
        self.status = "failed"

    def _check_unfinished(self) -> None:
        if self.finished:
            raise PortfolioImportError("La carga ya terminó")
