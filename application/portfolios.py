"""Use cases for customer portfolios: preview a file, then import its valid rows for one campaign.

An import is one save: the import's events (start, the rows in batches, completion with counts)
are recorded together or not at all. Customers of another campaign are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.campaigns import CampaignService
from application.portfolio_check import PortfolioPreview, check_portfolio
from application.ports import Clock
from application.store import EventStore
from domain.portfolios import PortfolioImport, PortfolioImportError


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    campaign_id: str
    counts: dict[str, int]


class PortfolioService:
    def __init__(self, store: EventStore, clock: Clock, campaigns: CampaignService, max_bytes: int) -> None:
        self.store = store
        self.clock = clock
        self.campaigns = campaigns
        self.max_bytes = max_bytes

    def preview(self, content: bytes, file_name: str, *, sheet: str | None = None) -> PortfolioPreview:
        return check_portfolio(content, file_name, sheet=sheet, max_bytes=self.max_bytes)

    def import_file(self, campaign_id: UUID, content: bytes, file_name: str, *, mode: str = "upsert",
                    sheet: str | None = None, actor: str) -> ImportResult:
        campaign = self.campaigns.get(campaign_id)
        if campaign.archived:
            raise PortfolioImportError(f"La campaña {campaign.code} está archivada")
        preview = self.preview(content, file_name, sheet=sheet)
        if preview.valid_count == 0:
            raise PortfolioImportError("El archivo no tiene filas válidas: no se importó nada")
        counts = counts_of(preview)
        portfolio_import = PortfolioImport.start(str(campaign_id), file_name, preview.sha256, mode, actor=actor,
                                                 at=self.clock.now())
        portfolio_import.accept_rows([row.to_dict() for row in preview.valid_rows])
        portfolio_import.complete(counts, actor=actor, at=self.clock.now())
        self.store.save(portfolio_import)
        return ImportResult(str(portfolio_import.id), str(campaign_id), counts)


def counts_of(preview: PortfolioPreview) -> dict[str, int]:
    return {"rows": preview.total_rows, "valid": preview.valid_count, "invalid": preview.invalid_count,
            "duplicates": preview.duplicate_rows, "warnings": preview.warning_rows}
