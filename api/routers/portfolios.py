"""Portfolios API: preview an upload for a campaign, import it in a worker, follow its progress."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.datastructures import UploadFile as StarletteUpload

from api.deps import CampaignsDep, PortfoliosDep, ReadDb
from api.security import allow
from application.portfolio_check import PortfolioFileError, PortfolioPreview
from application.portfolio_tables import ensure_within_size_limit
from application.portfolios import PortfolioService
from application.staff import Identity
from projections.admin_queries import job_progress, portfolio_imports, queued_job

router = APIRouter(tags=["portfolios"])
ADMINS = allow("admin")
SHOWN_PROBLEMS = 20


class ImportQueued(BaseModel):
    job_id: UUID
    status_url: str


def read_upload(request: Request, portfolios: PortfolioService, upload: StarletteUpload) -> bytes:
    """The uploaded bytes, refusing (413) a file over the limit before reading it all. Blocking (a large upload
    is spooled to disk): for routes that run in the thread pool."""
    limit = portfolios.max_bytes
    try:
        ensure_within_size_limit(int(request.headers.get("content-length") or 0) - 64 * 1024, limit)
        ensure_within_size_limit(upload.size or 0, limit)
        content = upload.file.read(limit + 1)
        ensure_within_size_limit(len(content), limit)
    except PortfolioFileError as error:
        raise HTTPException(status_code=413, detail=str(error)) from error
    return content


def checked_upload(portfolios: PortfolioService, content: bytes | None, upload_id: str | None, file_name: str,
                   sheet: str | None) -> tuple[str, PortfolioPreview]:
    """Keep a new upload (or find an earlier one) and check it; an unusable file is a 422."""
    if content is None and not upload_id:
        raise HTTPException(status_code=422, detail="Adjunte el archivo de la cartera")
    try:
        return portfolios.preview_upload(file_name, content=content, upload_id=upload_id or "", sheet=sheet or None)
    except PortfolioFileError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error


def error_report(preview: PortfolioPreview) -> Response:
    stem = preview.file_name.rsplit(".", 1)[0] or "cartera"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80]
    return Response(preview.error_report_csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="errores_{safe}.csv"'})


@router.post("/api/campaigns/{campaign_id}/portfolios/preview")
def preview_portfolio(campaign_id: UUID, request: Request, campaigns: CampaignsDep, portfolios: PortfoliosDep,
                            identity: Annotated[Identity, Depends(ADMINS)],
                            file: Annotated[UploadFile | None, File(description="CSV or XLSX")] = None,
                            upload_id: Annotated[str | None, Form()] = None,
                            file_name: Annotated[str, Form()] = "",
                            sheet: Annotated[str | None, Form()] = None) -> dict[str, Any]:
    """Dry run: counts of valid, invalid and duplicate rows, the first errors, what a replace would deactivate,
    and an upload id to import."""
    campaigns.get(campaign_id)
    content = read_upload(request, portfolios, file) if file is not None else None
    name = (file.filename if file is not None else file_name) or "cartera.csv"
    upload_id, preview = checked_upload(portfolios, content, upload_id, name, sheet)
    query = urlencode({"file_name": name, **({"sheet": preview.sheet} if preview.sheet else {})})
    replacement = portfolios.replacement(campaign_id, preview)
    return {**preview.summary(limit=SHOWN_PROBLEMS), "upload_id": upload_id, "campaign_id": str(campaign_id),
            "replace": {"active": replacement.active, "deactivated": replacement.deactivated,
                        "needs_confirmation": replacement.needs_confirmation},
            "error_report_url": f"/api/campaigns/{campaign_id}/portfolios/uploads/{upload_id}/errors.csv?{query}"}


@router.get("/api/campaigns/{campaign_id}/portfolios/uploads/{upload_id}/errors.csv",
            dependencies=[Depends(ADMINS)], responses={200: {"content": {"text/csv": {}}}})
def portfolio_error_report(campaign_id: UUID, upload_id: str, campaigns: CampaignsDep, portfolios: PortfoliosDep,
                           file_name: str = "cartera.csv", sheet: str | None = None) -> Response:
    """Every problem of an uploaded file: row, column, severity and reason (CSV for Excel)."""
    campaigns.get(campaign_id)
    _, preview = checked_upload(portfolios, None, upload_id, file_name, sheet)
    return error_report(preview)


@router.post("/api/campaigns/{campaign_id}/portfolios/import", status_code=202, response_model=ImportQueued)
def import_portfolio(campaign_id: UUID, request: Request, campaigns: CampaignsDep, portfolios: PortfoliosDep,
                           identity: Annotated[Identity, Depends(ADMINS)],
                           file: Annotated[UploadFile | None, File(description="CSV or XLSX")] = None,
                           upload_id: Annotated[str | None, Form(description="From a preview")] = None,
                           file_name: Annotated[str, Form()] = "",
                           mode: Annotated[Literal["upsert", "replace"], Form()] = "upsert",
                           sheet: Annotated[str | None, Form()] = None,
                           confirm_deactivation: Annotated[bool, Form(description=(
                               "replace only: required when it deactivates more than a fifth of the "
                               "campaign's active customers"))] = False) -> ImportQueued:
    """Import the valid rows (all or nothing) in a worker; follow `status_url` for its progress."""
    campaigns.get(campaign_id)
    content = read_upload(request, portfolios, file) if file is not None else None
    name = (file.filename if file is not None else file_name) or "cartera.csv"
    upload_id, preview = checked_upload(portfolios, content, upload_id, name, sheet)
    job_id = queue_import(portfolios, campaign_id, upload_id, name, mode, preview.sheet, f"user:{identity.id}",
                          confirm_deactivation=confirm_deactivation)
    return ImportQueued(job_id=job_id, status_url=f"/api/portfolio-jobs/{job_id}")


def queue_import(portfolios: PortfolioService, campaign_id: UUID, upload_id: str, file_name: str, mode: str,
                 sheet: str | None, actor: str, *, confirm_deactivation: bool = False) -> UUID:
    job_id = portfolios.queue_import(campaign_id, upload_id, file_name, mode=mode, sheet=sheet,
                                     confirm_deactivation=confirm_deactivation, actor=actor)
    return job_id


@router.get("/api/portfolio-jobs/{job_id}", dependencies=[Depends(ADMINS)])
def portfolio_job(job_id: UUID, read_db: ReadDb, portfolios: PortfoliosDep) -> dict[str, Any]:
    """An import's status (queued, running, done, completed, failed), percentage, counts and error."""
    return progress_of(read_db, portfolios, job_id)


def progress_of(read_db: Engine, portfolios: PortfolioService, job_id: UUID) -> dict[str, Any]:
    progress = job_progress(read_db, str(job_id))
    if progress is None and not portfolios.job_exists(job_id):
        raise HTTPException(status_code=404, detail="Carga desconocida")
    return progress or queued_job(str(job_id))


@router.get("/api/campaigns/{campaign_id}/portfolios/imports", dependencies=[Depends(ADMINS)])
def campaign_imports(campaign_id: UUID, campaigns: CampaignsDep, read_db: ReadDb) -> list[dict[str, Any]]:
    """A campaign's imports, newest first: who, when, file, sha256, mode and counts."""
    campaigns.get(campaign_id)
    return portfolio_imports(read_db, {str(campaign_id)})
