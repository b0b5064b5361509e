"""Admin pages for a campaign's canned replies: list, write, edit, delete."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from api.chat_access import see_own_writes
from api.deps import CannedRepliesDep, PagesDep, ProjectionsDep, ReadDb
from api.flash import redirect_with_flash
from api.security import allow, current_identity
from api.templating import Pages
from domain.common import DomainError
from projections.admin_queries import campaign_row
from projections.canned_reply_queries import campaign_replies, canned_reply

router = APIRouter(prefix="/admin/campaigns/{campaign_id}/canned-replies", include_in_schema=False,
                   dependencies=[Depends(allow("admin"))])
Title = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=4000)]


def _campaign_or_404(read_db: Engine, campaign_id: UUID) -> dict[str, Any]:
    row = campaign_row(read_db, str(campaign_id))
    if row is None:
        raise HTTPException(status_code=404, detail="Campaña desconocida")
    return row


def _reply_or_404(read_db: Engine, campaign_id: UUID, reply_id: UUID) -> dict[str, Any]:
    row = canned_reply(read_db, str(reply_id))
    if row is None or row["campaign_id"] != str(campaign_id):
        raise HTTPException(status_code=404, detail="Respuesta rápida desconocida")
    return row


def _page(request: Request, read_db: Engine, pages: Pages, campaign_id: UUID, *, editing: dict[str, Any] | None = None,
          values: dict[str, str] | None = None, error: str | None = None) -> Response:
    return pages.render(request, "admin/canned_replies.html", {
        "campaign": _campaign_or_404(read_db, campaign_id), "replies": campaign_replies(read_db, str(campaign_id)),
        "editing": editing, "values": values or editing or {"title": "", "text": ""}, "error": error,
    }, status_code=422 if error else 200)


def _saved(request: Request, projections: ProjectionsDep, pages: Pages, campaign_id: UUID, message: str) -> Response:
    see_own_writes(projections, "canned_replies")
    return redirect_with_flash(request, f"/admin/campaigns/{campaign_id}/canned-replies", "success",
                               pages.translate(request.state.lang, message))


@router.get("")
def canned_replies_page(campaign_id: UUID, request: Request, read_db: ReadDb, pages: PagesDep) -> Response:
    return _page(request, read_db, pages, campaign_id)


@router.post("")
def write_canned_reply(campaign_id: UUID, request: Request, read_db: ReadDb, pages: PagesDep,
                       canned: CannedRepliesDep, projections: ProjectionsDep, title: Title = "",
                       text: Text = "") -> Response:
    _campaign_or_404(read_db, campaign_id)
    try:
        canned.write(str(campaign_id), title, text, actor=f"user:{current_identity(request).id}")
    except DomainError as error:
        return _page(request, read_db, pages, campaign_id, values={"title": title, "text": text},
                     error=pages.explain(request.state.lang, error))
    return _saved(request, projections, pages, campaign_id, "Respuesta rápida guardada.")


@router.get("/{reply_id}")
def edit_canned_reply_page(campaign_id: UUID, reply_id: UUID, request: Request, read_db: ReadDb,
                           pages: PagesDep) -> Response:
    return _page(request, read_db, pages, campaign_id, editing=_reply_or_404(read_db, campaign_id, reply_id))


@router.post("/{reply_id}")
def edit_canned_reply(campaign_id: UUID, reply_id: UUID, request: Request, read_db: ReadDb, pages: PagesDep,
                      canned: CannedRepliesDep, projections: ProjectionsDep, title: Title = "",
                      text: Text = "") -> Response:
    editing = _reply_or_404(read_db, campaign_id, reply_id)
    try:
        canned.edit(str(reply_id), title, text, actor=f"user:{current_identity(request).id}")
    except DomainError as error:
        return _page(request, read_db, pages, campaign_id, editing=editing, values={"title": title, "text": text},
                     error=pages.explain(request.state.lang, error))
    return _saved(request, projections, pages, campaign_id, "Respuesta rápida guardada.")


@router.post("/{reply_id}/delete")
def delete_canned_reply(campaign_id: UUID, reply_id: UUID, request: Request, read_db: ReadDb, pages: PagesDep,
                        canned: CannedRepliesDep, projections: ProjectionsDep) -> Response:
    _reply_or_404(read_db, campaign_id, reply_id)
    canned.delete(str(reply_id), actor=f"user:{current_identity(request).id}")
    return _saved(request, projections, pages, campaign_id, "Respuesta rápida eliminada.")
