"""The agent's desk: my open chats (live), the selected conversation with the customer's data, status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from api.chat_access import visible_chat
from api.deps import DespachoDep, PagesDep
from api.flash import redirect_with_flash
from api.forms import form_outcome
from api.security import allow
from application.staff import Identity
from domain.common import actor_for_user
from domain.messaging_rules import whatsapp_window_open
from projections import desk_queries, message_queries

router = APIRouter(include_in_schema=False)
AGENT = allow("agent")
STATUSES = ("available", "break", "offline")


def free_text_allowed(chat: dict[str, Any], now: datetime) -> bool:
    """Free text goes out on SMS always, on WhatsApp only within 24 h of the customer's last message (R12)."""
    return chat["channel"] != "whatsapp" or whatsapp_window_open(chat["last_customer_message_at"], now)


@router.get("/desk")
def desk(request: Request, despacho: DespachoDep, pages: PagesDep, identity: Annotated[Identity, Depends(AGENT)],
         chat: UUID | None = None) -> Response:
    engine = despacho.read_engine
    open_chats = desk_queries.open_chats_of(engine, identity.id)
    selected: dict[str, Any] | None = None
    chosen = str(chat) if chat else (open_chats[0]["id"] if open_chats else "")
    if chosen:
        try:
            row = visible_chat(despacho, identity, chosen)
        except HTTPException:
            return redirect_with_flash(request, "/desk", "warning",
                                       pages.translate(request.state.lang, "Ese chat ya no está asignado a usted."))
        timeline = message_queries.with_delivery(engine, desk_queries.timeline(engine, row["id"]))
        selected = {"chat": row, "timeline": timeline,
                    "customer": desk_queries.customer(engine, row),
                    "window_open": free_text_allowed(row, despacho.clock.now()),
                    "templates": message_queries.approved_templates(engine, row["campaign_id"])}
    return pages.render(request, "desk/desk.html", {
        "open_chats": open_chats, "selected": selected, "me": desk_queries.agent_status(engine, identity.id),
        "statuses": STATUSES})


@router.get("/desk/fragments/chats")
def my_chats_fragment(request: Request, despacho: DespachoDep, pages: PagesDep,
                      identity: Annotated[Identity, Depends(AGENT)], chat: str = "") -> Response:
    return pages.render(request, "desk/_chat_list.html", {
        "open_chats": desk_queries.open_chats_of(despacho.read_engine, identity.id), "selected_id": chat,
        "me": desk_queries.agent_status(despacho.read_engine, identity.id)})


@router.post("/desk/status")
def change_status(request: Request, despacho: DespachoDep, pages: PagesDep,
                  identity: Annotated[Identity, Depends(AGENT)],
                  status: Annotated[str, Form(pattern="^(available|break|offline)$")]) -> Response:
    return form_outcome(request, despacho, pages,
                        lambda: despacho.staff.change_status(UUID(identity.id), status,
                                                             actor=actor_for_user(identity.id)),
                        back="/desk", success="Estado actualizado.", projectors=("agents",))
