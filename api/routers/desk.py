"""The agent's desk: my open chats (live), the selected conversation with the customer's data, status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from api.chat_access import search_scope, visible_chat
from api.deps import ClockDep, PagesDep, ProjectionsDep, ReadDb, StaffDep
from api.flash import redirect_with_flash
from api.forms import form_outcome
from api.security import allow
from application.staff import Identity
from domain.common import actor_for_user
from domain.messaging_rules import whatsapp_window_open
from projections import canned_reply_queries, desk_queries, message_queries
from projections.search_queries import previous_chats

router = APIRouter(include_in_schema=False)
AGENT = allow("agent")
STATUSES = ("available", "break", "offline")


def free_text_allowed(chat: dict[str, Any], now: datetime) -> bool:
    """Free text goes out on SMS always, on WhatsApp only within 24 h of the customer's last message (R12)."""
    return chat["channel"] != "whatsapp" or whatsapp_window_open(chat["last_customer_message_at"], now)


@router.get("/desk")
def desk(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep,
         identity: Annotated[Identity, Depends(AGENT)], chat: UUID | None = None) -> Response:
    open_chats = desk_queries.open_chats_of(read_db, identity.id)
    selected: dict[str, Any] | None = None
    chosen = str(chat) if chat else (open_chats[0]["id"] if open_chats else "")
    if chosen:
        try:
            row = visible_chat(read_db, identity, chosen)
        except HTTPException:
            return redirect_with_flash(request, "/desk", "warning",
                                       pages.translate(request.state.lang, "Ese chat ya no está asignado a usted."))
        timeline = message_queries.with_delivery(read_db, desk_queries.timeline(read_db, row["id"]))
        selected = {"chat": row, "timeline": timeline,
                    "customer": desk_queries.customer(read_db, row),
                    "window_open": free_text_allowed(row, clock.now()),
                    "templates": message_queries.approved_templates(read_db, row["campaign_id"])}
        selected["canned_replies"] = canned_reply_queries.filled_for(read_db, row["campaign_id"], selected["customer"])
        selected["history"] = previous_chats(read_db, search_scope(read_db, identity), row)
        selected["transfer_campaigns"] = desk_queries.transfer_destinations(read_db, row)
    return pages.render(request, "desk/desk.html", {
        "open_chats": open_chats, "selected": selected, "me": desk_queries.agent_status(read_db, identity.id),
        "now": clock.now(),
        "statuses": STATUSES, "break_reasons": desk_queries.break_reasons_of(read_db, identity.id)})


@router.get("/desk/fragments/chats")
def my_chats_fragment(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep,
                      identity: Annotated[Identity, Depends(AGENT)], chat: str = "") -> Response:
    return pages.render(request, "desk/_chat_list.html", {
        "open_chats": desk_queries.open_chats_of(read_db, identity.id), "selected_id": chat, "now": clock.now(),
        "me": desk_queries.agent_status(read_db, identity.id)})


@router.post("/desk/status")
def change_status(request: Request, staff: StaffDep, projections: ProjectionsDep, pages: PagesDep,
                  identity: Annotated[Identity, Depends(AGENT)],
                  status: Annotated[str, Form(pattern="^(available|break|offline)$")],
                  reason: Annotated[str, Form(max_length=40)] = "") -> Response:
    return form_outcome(request, projections, pages,
                        lambda: staff.change_status(UUID(identity.id), status, reason=reason,
                                                    session_id=request.state.session_id,
                                                    actor=actor_for_user(identity.id)),
                        back="/desk", success="Estado actualizado.", projectors=("agents",))
