"""One upload of a campaign's customer portfolio (cartera), recorded whole or not at all.

Customers travel in batches inside `RowsAccepted` events; the `customers` read table is built
from them. A `replace` import makes every customer of the campaign missing from it inactive;
when that is more than a fifth of the active portfolio, the person importing must confirm it
(a one-row file once silently deactivated a whole campaign).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, require_aware

IMPORT_MODES = ("upsert", "replace")
ROWS_PER_EVENT = 1000


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
    @event("Started")
    def __init__(self, campaign_id: str, file_name: str, sha256: str, mode: str, actor: str,
                 at: datetime) -> None:
        self.campaign_id = campaign_id
        self.file_name = file_name
        self.sha256 = sha256
        self.mode = mode
        self.rows_accepted = 0
        self.completed = False

    @classmethod
    def start(cls, campaign_id: str, file_name: str, sha256: str, mode: str, *, actor: str,
              at: datetime) -> PortfolioImport:
        if mode not in IMPORT_MODES:
            raise PortfolioImportError("Modo de importación desconocido: %(mode)s", mode=mode)
        return cls(campaign_id=campaign_id, file_name=file_name[:255], sha256=sha256, mode=mode,
                   actor=actor, at=require_aware(at))

    def accept_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record customers in events of at most ROWS_PER_EVENT rows each."""
        if self.completed:
            raise PortfolioImportError("La importación ya terminó")
        for start in range(0, len(rows), ROWS_PER_EVENT):
            self._rows_accepted(rows=list(rows[start:start + ROWS_PER_EVENT]))

    @event("RowsAccepted")
    def _rows_accepted(self, rows: list[dict[str, Any]]) -> None:
        self.rows_accepted += len(rows)

    def complete(self, counts: dict[str, int], *, actor: str, at: datetime) -> None:
        if self.completed:
            raise PortfolioImportError("La importación ya terminó")
        if counts.get("valid") != self.rows_accepted:
            raise PortfolioImportError("Las filas registradas no coinciden con las filas válidas")
        self._completed(counts=dict(counts), actor=actor, at=require_aware(at))

    @event("Completed")
    def _completed(self, counts: dict[str, int], actor: str, at: datetime) -> None:
        self.completed = True


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
