"""One chat: its page and JSON (timeline, assignments with their reasons), replies and closing."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from api.chat_access import campaign_scope, search_scope, visible_chat
from api.deps import (
    ClosingDep,
    DeskDep,
    OutboundDep,
    PagesDep,
    ProjectionsDep,
    ReadDb,
    RouterDep,
    SettingsDep,
    TransfersDep,
)
from api.forms import form_outcome
from api.reassign_candidates import reassign_candidates
from api.security import allow
from application.closing import ClosingService
from application.desk import DeskService
from application.outbound import OutboundService
from application.staff import Identity
from application.transfers import CampaignTransfers
from domain.common import actor_for_user
from projections import desk_queries, message_queries
from projections.search_queries import previous_chats

router = APIRouter(tags=["chats"])
READERS = allow("admin", "supervisor", "agent", "auditor")
CLOSERS = allow("admin", "supervisor", "agent")
NOTE_WRITERS = allow("supervisor", "agent")
TRANSFERRERS = allow("admin", "supervisor", "agent")


class ReplyCreate(BaseModel):
    """Free text (`body`), or outside the WhatsApp window one of the campaign's approved templates."""

    body: str = Field(default="", max_length=1600)
    content_sid: str = Field(default="", max_length=64)
    content_variables: dict[str, str] = Field(default_factory=dict, max_length=20)


class MessageRef(BaseModel):
    message_id: str


class ChatSeen(BaseModel):
    """How many of the customer's messages the agent's screen showed (the timeline's first N)."""

    customer_messages: int = Field(ge=0, le=1_000_000)


class ChatClose(BaseModel):
    disposition: str = Field(default="", max_length=60)
    note: str = Field(default="", max_length=1000)


def chat_view(read_db: Engine, row: dict[str, Any]) -> dict[str, Any]:
    return {"chat": row, "timeline": message_queries.with_delivery(read_db, desk_queries.timeline(read_db, row["id"])),
            "assignments": desk_queries.assignments(read_db, row["id"]),
            "customer": desk_queries.customer(read_db, row),
            "transfer_campaigns": desk_queries.transfer_destinations(read_db, row)}


@router.get("/api/chats/{chat_id}")
def chat_json(chat_id: UUID, read_db: ReadDb, identity: Annotated[Identity, Depends(READERS)]) -> dict[str, Any]:
    """A chat with its timeline, assignments (policy, candidates, chosen) and the customer's portfolio row."""
    return chat_view(read_db, visible_chat(read_db, identity, str(chat_id)))


@router.get("/chats/{chat_id}", include_in_schema=False)
def chat_page(chat_id: UUID, request: Request, read_db: ReadDb, settings: SettingsDep, pages: PagesDep,
              assignments: RouterDep, identity: Annotated[Identity, Depends(READERS)]) -> Response:
    view = chat_view(read_db, visible_chat(read_db, identity, str(chat_id)))
    manages = identity.role in ("admin", "supervisor")  # only they reassign or assign, so only they need candidates
    members = reassign_candidates(read_db, assignments, pages, request.state.lang,
                                  view["chat"]["campaign_id"] or "") if manages else []
    return pages.render(request, "chats/chat.html", {
        **view, "members": members, "can_retry": may_retry_in(view["chat"], identity),
        "people": desk_queries.agent_names(read_db), "manual_allowed": settings.allow_manual_assignment,
        "history": previous_chats(read_db, search_scope(read_db, identity), view["chat"])})


@router.get("/fragments/chats/{chat_id}/timeline", include_in_schema=False)
def timeline_fragment(chat_id: UUID, request: Request, read_db: ReadDb, pages: PagesDep,
                      identity: Annotated[Identity, Depends(READERS)]) -> Response:
    row = visible_chat(read_db, identity, str(chat_id))
    timeline = message_queries.with_delivery(read_db, desk_queries.timeline(read_db, row["id"]))
    return pages.render(request, "chats/_timeline.html",
                        {"messages": timeline, "can_retry": may_retry_in(row, identity)})


def may_retry_in(chat: dict[str, Any], identity: Identity) -> bool:
    """Only the assigned agent retries, while the chat is theirs."""
    return identity.role == "agent" and chat["agent_id"] == identity.id and chat["status"] == "assigned"


def send_reply(desk: DeskService, read_db: Engine, request: Request, identity: Identity, chat_id: str, body: str,
               content_sid: str = "", content_variables: dict[str, str] | None = None) -> str:
    visible_chat(read_db, identity, chat_id)
    message_id = desk.reply(chat_id, identity.id, body=body, content_sid=content_sid,
                            content_variables=content_variables,
                            session_id=request.state.session_id)
    return message_id


def retry_message(outbound: OutboundService, read_db: Engine, request: Request, identity: Identity, chat_id: str,
                  message_id: str) -> str:
    visible_chat(read_db, identity, chat_id)
    found = message_queries.message(read_db, message_id)
    if found is None or found["chat_id"] != chat_id:
        raise HTTPException(status_code=404, detail="Mensaje desconocido en este chat")
    retry_id = outbound.retry(message_id, agent_id=identity.id, actor=actor_for_user(identity.id),
                              session_id=getattr(request.state, "session_id", "") or "")
    return retry_id


@router.post("/api/chats/{chat_id}/replies", status_code=201, response_model=MessageRef)
def reply_json(chat_id: UUID, body: ReplyCreate, request: Request, desk: DeskDep, read_db: ReadDb,
               identity: Annotated[Identity, Depends(allow("agent"))]) -> MessageRef:
    """The assigned agent replies to the customer (sent by a worker)."""
    return MessageRef(message_id=send_reply(desk, read_db, request, identity, str(chat_id), body.body,
                                            body.content_sid, body.content_variables))


@router.post("/api/chats/{chat_id}/seen", status_code=204)
def seen_json(chat_id: UUID, body: ChatSeen, desk: DeskDep, read_db: ReadDb,
              identity: Annotated[Identity, Depends(allow("agent"))]) -> None:
    """The assigned agent has seen the chat's first `customer_messages` customer messages (its unread count)."""
    visible_chat(read_db, identity, str(chat_id))
    desk.mark_seen(str(chat_id), identity.id, body.customer_messages)


@router.post("/api/chats/{chat_id}/messages/{message_id}/retry", status_code=201, response_model=MessageRef)
def retry_json(chat_id: UUID, message_id: UUID, request: Request, outbound: OutboundDep, read_db: ReadDb,
               identity: Annotated[Identity, Depends(allow("agent"))]) -> MessageRef:
    """Send a failed message again, as a new message, when its failure may be fixed by retrying."""
    return MessageRef(message_id=retry_message(outbound, read_db, request, identity, str(chat_id), str(message_id)))


@router.post("/chats/{chat_id}/messages/{message_id}/retry", include_in_schema=False)
def retry_form(chat_id: UUID, message_id: UUID, request: Request, outbound: OutboundDep, read_db: ReadDb,
               projections: ProjectionsDep, pages: PagesDep,
               identity: Annotated[Identity, Depends(allow("agent"))]) -> Response:
    return form_outcome(request, projections, pages,
                        lambda: retry_message(outbound, read_db, request, identity, str(chat_id), str(message_id)),
                        back=f"/desk?chat={chat_id}", success="Reintento enviado.", projectors=("chats", "messages"))


@router.post("/chats/{chat_id}/template-replies", include_in_schema=False)
def template_reply_form(chat_id: UUID, request: Request, desk: DeskDep, read_db: ReadDb, projections: ProjectionsDep,
                        pages: PagesDep,
                        identity: Annotated[Identity, Depends(allow("agent"))],
                        content_sid: Annotated[str, Form(max_length=64)],
                        variable_names: Annotated[list[str] | None, Form(max_length=20)] = None,
                        variables: Annotated[list[str] | None, Form(max_length=20)] = None) -> Response:
    values = dict(zip(variable_names or [], [v[:500] for v in variables or []], strict=False))
    return form_outcome(request, projections, pages,
                        lambda: send_reply(desk, read_db, request, identity, str(chat_id), "", content_sid, values),
                        back=f"/desk?chat={chat_id}", success="Plantilla enviada.")


@router.post("/chats/{chat_id}/replies", include_in_schema=False)
def reply_form(chat_id: UUID, request: Request, desk: DeskDep, read_db: ReadDb, projections: ProjectionsDep,
               pages: PagesDep, identity: Annotated[Identity, Depends(allow("agent"))],
               body: Annotated[str, Form(max_length=1600)] = "") -> Response:
    return form_outcome(request, projections, pages,
                        lambda: send_reply(desk, read_db, request, identity, str(chat_id), body),
                        back=f"/desk?chat={chat_id}", success="Mensaje enviado.")


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class NoteRef(BaseModel):
    note_id: str


def add_note(desk: DeskService, read_db: Engine, identity: Identity, chat_id: str, text: str) -> str:
    visible_chat(read_db, identity, chat_id)
    return desk.add_note(chat_id, identity.id, text)


@router.post("/api/chats/{chat_id}/notes", status_code=201, response_model=NoteRef)
def note_json(chat_id: UUID, body: NoteCreate, desk: DeskDep, read_db: ReadDb,
              identity: Annotated[Identity, Depends(NOTE_WRITERS)]) -> NoteRef:
    """An internal note on the chat for its campaign's agents and supervisors; never sent to the customer."""
    return NoteRef(note_id=add_note(desk, read_db, identity, str(chat_id), body.text))


@router.post("/chats/{chat_id}/notes", include_in_schema=False)
def note_form(chat_id: UUID, request: Request, desk: DeskDep, read_db: ReadDb, projections: ProjectionsDep,
              pages: PagesDep, identity: Annotated[Identity, Depends(NOTE_WRITERS)],
              text: Annotated[str, Form(max_length=2000)] = "") -> Response:
    back = f"/desk?chat={chat_id}" if identity.role == "agent" else f"/chats/{chat_id}"
    return form_outcome(request, projections, pages,
                        lambda: add_note(desk, read_db, identity, str(chat_id), text),
                        back=back, success="Nota interna guardada.")


def close_chat(closing: ClosingService, read_db: Engine, request: Request, identity: Identity, chat_id: str,
               disposition: str, note: str) -> None:
    visible_chat(read_db, identity, chat_id)
    reason = "agent" if identity.role == "agent" else "supervisor"
    closing.close(chat_id, reason, disposition=disposition, note=note, actor=actor_for_user(identity.id),
                  session_id=request.state.session_id)


@router.post("/api/chats/{chat_id}/close", status_code=204)
def close_json(chat_id: UUID, body: ChatClose, request: Request, closing: ClosingDep, read_db: ReadDb,
               identity: Annotated[Identity, Depends(CLOSERS)]) -> None:
    """Close a chat with a disposition of its campaign (agents and supervisors alike); a supervisor also says why."""
    close_chat(closing, read_db, request, identity, str(chat_id), body.disposition, body.note)


@router.post("/chats/{chat_id}/close", include_in_schema=False)
def close_form(chat_id: UUID, request: Request, closing: ClosingDep, read_db: ReadDb, projections: ProjectionsDep,
               pages: PagesDep,
               identity: Annotated[Identity, Depends(CLOSERS)],
               disposition: Annotated[str, Form(max_length=60)] = "",
               note: Annotated[str, Form(max_length=1000)] = "") -> Response:
    agent = identity.role == "agent"
    return form_outcome(request, projections, pages,
                        lambda: close_chat(closing, read_db, request, identity, str(chat_id), disposition, note),
                        back=f"/desk?chat={chat_id}" if agent else f"/chats/{chat_id}", success="Chat cerrado.",
                        then="/desk" if agent else f"/chats/{chat_id}")


class ChatTransfer(BaseModel):
    """The campaign that also holds the chat's customer, and why the chat goes there."""

    campaign_id: str = Field(max_length=36)
    reason: str = Field(min_length=1, max_length=500)


def transfer_chat(transfers: CampaignTransfers, read_db: Engine, identity: Identity, chat_id: str, campaign_id: str,
                  reason: str) -> None:
    visible_chat(read_db, identity, chat_id)
    transfers.transfer(chat_id, campaign_id, reason=reason, user_id=identity.id)


@router.post("/api/chats/{chat_id}/transfer", status_code=204)
def transfer_json(chat_id: UUID, body: ChatTransfer, transfers: TransfersDep, read_db: ReadDb,
                  identity: Annotated[Identity, Depends(TRANSFERRERS)]) -> None:
    """Move the chat to another campaign holding its customer, with a reason; it waits in that campaign's queue."""
    transfer_chat(transfers, read_db, identity, str(chat_id), body.campaign_id, body.reason)


@router.post("/chats/{chat_id}/transfer", include_in_schema=False)
def transfer_form(chat_id: UUID, request: Request, transfers: TransfersDep, read_db: ReadDb,
                  projections: ProjectionsDep, pages: PagesDep, identity: Annotated[Identity, Depends(TRANSFERRERS)],
                  campaign_id: Annotated[str, Form(max_length=36)] = "",
                  reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    agent = identity.role == "agent"
    return form_outcome(request, projections, pages,
                        lambda: transfer_chat(transfers, read_db, identity, str(chat_id), campaign_id, reason),
                        back=f"/desk?chat={chat_id}" if agent else f"/chats/{chat_id}",
                        success="Chat transferido a la otra campaña.",
                        then="/desk" if agent else after_transfer(read_db, identity, campaign_id, str(chat_id)),
                        projectors=("chats", "agents", "routing"))


def after_transfer(read_db: Engine, identity: Identity, campaign_id: str, chat_id: str) -> str:
    """Staff who can still see the chat go back to it; a supervisor who cannot, to their queue."""
    scope = campaign_scope(read_db, identity)
    return f"/chats/{chat_id}" if scope is None or campaign_id in scope else "/supervisor/queue"
