"""Files in chats: customers' attachments, served from Despacho's storage to whoever may see their chat; the
images and PDFs agents send, kept with their message and fetched by Twilio from a signed, expiring address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from adapters.file_links import LINK_PATH, FileLinkError
from api.chat_access import visible_chat
from api.deps import DeskDep, FileLinksDep, FilesDep, PagesDep, PostedForm, ProjectionsDep, ReadDb
from api.forms import form_outcome
from api.routers.chats import MessageRef
from api.security import allow, signed_link
from application.desk import DeskService
from application.staff import Identity
from projections import desk_queries

router = APIRouter(tags=["chats"])
SHOWN_INLINE = ("image/", "audio/", "video/", "application/pdf")
MAX_INDEX = 9  # Twilio sends at most ten attachments per message
MAX_SENT_FILE_BYTES = 16 * 1024 * 1024
VIEWERS = allow("admin", "supervisor", "agent", "auditor")


@router.get("/chats/{chat_id}/attachments/{message_sid}/{index}", include_in_schema=False)
def attachment(chat_id: str, message_sid: Annotated[str, Path(max_length=64)],
               index: Annotated[int, Path(ge=0, le=MAX_INDEX)], read_db: ReadDb, files: FilesDep,
               identity: Annotated[Identity, Depends(VIEWERS)]) -> Response:
    """One attachment a customer sent, as Despacho kept it; nothing of Twilio's reaches the browser."""
    visible_chat(read_db, identity, chat_id)
    kept = desk_queries.kept_attachment(read_db, chat_id, message_sid, index)
    if kept is None:
        raise HTTPException(status_code=404, detail="Este adjunto no está disponible")
    return _file_response(files.get(kept["location"]), kept["content_type"], f"adjunto-{index + 1}")


@router.get("/chats/{chat_id}/files/{message_id}", include_in_schema=False)
def file_sent_in_chat(chat_id: str, message_id: Annotated[str, Path(max_length=36)], read_db: ReadDb,
                      files: FilesDep, identity: Annotated[Identity, Depends(VIEWERS)]) -> Response:
    """The image or PDF an agent sent in this chat, for whoever may see the chat."""
    visible_chat(read_db, identity, chat_id)
    sent = desk_queries.sent_file(read_db, chat_id, message_id)
    if sent is None:
        raise HTTPException(status_code=404, detail="Este archivo no está disponible")
    return _file_response(files.get(sent["location"]), sent["content_type"], sent["file_name"])


@router.post("/chats/{chat_id}/files", include_in_schema=False)
def send_file_form(chat_id: str, request: Request, form: PostedForm, desk: DeskDep, read_db: ReadDb,
                   projections: ProjectionsDep, pages: PagesDep,
                   identity: Annotated[Identity, Depends(allow("agent"))]) -> Response:
    upload, caption = form.get("file"), str(form.get("caption") or "")
    return form_outcome(request, projections, pages,
                        lambda: _send_file(desk, read_db, request, identity, chat_id, upload, caption),
                        back=f"/desk?chat={chat_id}", success="Archivo enviado.")


@router.post("/api/chats/{chat_id}/files", status_code=201, response_model=MessageRef)
def send_file_json(chat_id: str, request: Request, form: PostedForm, desk: DeskDep, read_db: ReadDb,
                   identity: Annotated[Identity, Depends(allow("agent"))]) -> MessageRef:
    """The assigned agent sends an image (JPG, PNG) or a PDF, multipart field `file`, optional `caption`."""
    return MessageRef(message_id=_send_file(desk, read_db, request, identity, chat_id, form.get("file"),
                                            str(form.get("caption") or "")))


@router.get(LINK_PATH + "{token}", include_in_schema=False, dependencies=[Depends(signed_link())])
def sent_file(token: Annotated[str, Path(max_length=2000)], files: FilesDep, links: FileLinksDep) -> Response:
    """Where Twilio fetches a file an agent sent: no session, the signed address is the credential."""
    try:
        linked = links.opened(token)
    except FileLinkError as error:
        raise HTTPException(status_code=404, detail="Este archivo no está disponible") from error
    return _file_response(files.get(linked.location), linked.content_type, linked.file_name)


def _send_file(desk: DeskService, read_db: ReadDb, request: Request, identity: Identity, chat_id: str,
               upload: object, caption: str) -> str:
    visible_chat(read_db, identity, chat_id)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise HTTPException(status_code=422, detail="Elija el archivo que quiere enviar")
    content = upload.file.read(MAX_SENT_FILE_BYTES + 1)
    if len(content) > MAX_SENT_FILE_BYTES:
        raise HTTPException(status_code=413, detail="El archivo pesa más de 16 MB")
    return desk.send_file(chat_id, identity.id, content=content, file_name=upload.filename, caption=caption,
                          session_id=request.state.session_id)


def _file_response(content: bytes, content_type: str, file_name: str) -> Response:
    disposition = "inline" if content_type.startswith(SHOWN_INLINE) else "attachment"
    # A file someone else wrote is never run as a page of Despacho: no script, no sniffing, private cache.
    return Response(content, media_type=content_type, headers={
        "Content-Disposition": f'{disposition}; filename="{file_name}"',
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600"})
