"""Admin pages for portfolios: upload for a chosen campaign, preview, confirm, follow the import, history."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine
from starlette.datastructures import UploadFile

from api.deps import CampaignsDep, PagesDep, PortfoliosDep, PostedForm, ReadDb, SettingsDep
from api.routers.portfolios import (
    SHOWN_PROBLEMS,
    checked_upload,
    error_report,
    progress_of,
    queue_import,
    read_upload,
)
from api.security import allow, current_identity
from api.templating import Pages
from despacho.settings import Settings
from domain.common import DomainError
from projections.admin_queries import portfolio_imports, unfinished_or_failed_jobs
from projections.desk_queries import agent_names
from projections.queries import list_campaigns

router = APIRouter(prefix="/admin/portfolios", include_in_schema=False, dependencies=[Depends(allow("admin"))])


def _upload_page(request: Request, pages: Pages, read_db: Engine, settings: Settings, values: dict[str, str],
                 error: str | None = None, status_code: int = 200) -> Response:
    return pages.render(request, "admin/portfolios.html", {
        "campaigns": list_campaigns(read_db), "values": values, "error": error,
        "jobs": unfinished_or_failed_jobs(read_db), "imports": portfolio_imports(read_db),
        "max_megabytes": settings.max_upload_megabytes, "people": agent_names(read_db),
    }, status_code=status_code)


@router.get("")
def portfolios_page(request: Request, pages: PagesDep, read_db: ReadDb, settings: SettingsDep,
                    campaign: str = "") -> Response:
    return _upload_page(request, pages, read_db, settings, {"campaign_id": campaign, "mode": "upsert"})


@router.post("/preview")
def preview(request: Request, form: PostedForm, campaigns: CampaignsDep, portfolios: PortfoliosDep, read_db: ReadDb,
            settings: SettingsDep, pages: PagesDep) -> Response:
    """Check the file without importing anything; show counts, first problems and the confirm step."""
    values = {key: str(form.get(key) or "") for key in ("campaign_id", "mode", "upload_id", "file_name", "sheet")}
    values["mode"] = values["mode"] if values["mode"] in ("upsert", "replace") else "upsert"
    upload = form.get("file")
    try:
        if not values["campaign_id"]:
            raise HTTPException(422, pages.translate(request.state.lang, "Elija la campaña de la cartera."))
        campaign = campaigns.get(UUID(values["campaign_id"]))
        content = None
        if isinstance(upload, UploadFile) and upload.filename:
            content = read_upload(request, portfolios, upload)
            values["file_name"], values["upload_id"], values["sheet"] = upload.filename, "", ""
        upload_id, checked = checked_upload(portfolios, content, values["upload_id"], values["file_name"],
                                            values["sheet"] or None)
    except HTTPException as error:
        return _upload_page(request, pages, read_db, settings, values, str(error.detail), error.status_code)
    except DomainError as error:
        return _upload_page(request, pages, read_db, settings, values, pages.explain(request.state.lang, error), 422)
    except ValueError as error:  # a file that cannot be read: its message is already for users
        return _upload_page(request, pages, read_db, settings, values, str(error), 422)
    replacement = (portfolios.replacement(UUID(values["campaign_id"]), checked)
                   if values["mode"] == "replace" else None)
    return pages.render(request, "admin/portfolio_preview.html", {
        "campaign": campaign, "values": {**values, "upload_id": upload_id, "sheet": checked.sheet or ""},
        "summary": checked.summary(limit=SHOWN_PROBLEMS), "replacement": replacement})


@router.get("/uploads/{upload_id}/errors.csv")
def download_errors(upload_id: str, portfolios: PortfoliosDep, file_name: str = "cartera.csv",
                    sheet: str | None = None) -> Response:
    """The full error report (row, column, severity, reason) as a CSV for Excel."""
    _, checked = checked_upload(portfolios, None, upload_id, file_name, sheet)
    return error_report(checked)


@router.post("/import")
def confirm_import(request: Request, form: PostedForm, portfolios: PortfoliosDep, read_db: ReadDb,
                   settings: SettingsDep, pages: PagesDep) -> Response:
    values = {key: str(form.get(key) or "") for key in ("campaign_id", "mode", "upload_id", "file_name", "sheet")}
    try:
        job_id = queue_import(portfolios, UUID(values["campaign_id"]), values["upload_id"], values["file_name"],
                              values["mode"], values["sheet"] or None, f"user:{current_identity(request).id}",
                              confirm_deactivation=form.get("confirm_deactivation") == "yes")
    except DomainError as error:
        return _upload_page(request, pages, read_db, settings, values, pages.explain(request.state.lang, error), 422)
    except ValueError as error:  # a file that cannot be read: its message is already for users
        return _upload_page(request, pages, read_db, settings, values, str(error), 422)
    return RedirectResponse(f"/admin/portfolios/jobs/{job_id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(job_id: UUID, request: Request, read_db: ReadDb, portfolios: PortfoliosDep, pages: PagesDep) -> Response:
    return pages.render(request, "admin/portfolio_job.html", {"job": progress_of(read_db, portfolios, job_id)})


@router.get("/jobs/{job_id}/progress")
def job_progress_fragment(job_id: UUID, request: Request, read_db: ReadDb, portfolios: PortfoliosDep,
                          pages: PagesDep) -> Response:
    return pages.render(request, "admin/_job_progress.html", {"job": progress_of(read_db, portfolios, job_id)})
