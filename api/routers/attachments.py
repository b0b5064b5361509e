"""Customers' attachments, served from Despacho's storage to whoever may see their chat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response

from api.chat_access import visible_chat
from api.deps import FilesDep, ReadDb
from api.security import allow
from application.staff import Identity
from projections import desk_queries

router = APIRouter(tags=["chats"])
SHOWN_INLINE = ("image/", "audio/", "video/", "application/pdf")
MAX_INDEX = 9  # Twilio sends at most ten attachments per message


@router.get("/chats/{chat_id}/attachments/{message_sid}/{index}", include_in_schema=False)
def attachment(chat_id: str, message_sid: Annotated[str, Path(max_length=64)],
               index: Annotated[int, Path(ge=0, le=MAX_INDEX)], read_db: ReadDb, files: FilesDep,
               identity: Annotated[Identity, Depends(allow("admin", "supervisor", "agent", "auditor"))]) -> Response:
    """One attachment a customer sent, as Despacho kept it; nothing of Twilio's reaches the browser."""
    visible_chat(read_db, identity, chat_id)
    kept = desk_queries.kept_attachment(read_db, chat_id, message_sid, index)
    if kept is None:
        raise HTTPException(status_code=404, detail="Este adjunto no está disponible")
    content_type = kept["content_type"]
    disposition = "inline" if content_type.startswith(SHOWN_INLINE) else "attachment"
    # A file written by a customer is never run as a page of Despacho: no script, no sniffing, private cache.
    return Response(files.get(kept["location"]), media_type=content_type, headers={
        "Content-Disposition": f'{disposition}; filename="adjunto-{index + 1}"',
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600"})
