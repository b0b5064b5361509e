"""The customer simulator page (embedded mode only; 404 in production).

Messages are signed like Twilio's and posted to the app's own webhook in-process, so they take
exactly the production path; replies are what the fake transport delivered to the customer.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.chat_access import campaign_scope
from api.deps import PagesDep, ReadDb, SettingsDep, TransportDep
from api.flash import redirect_with_flash
from api.security import allow
from application.ports import Transport
from application.staff import Identity
from despacho import simulator
from despacho.settings import Settings
from projections import desk_queries

router = APIRouter(include_in_schema=False)
SIMULATORS = allow("admin", "supervisor")
SENDER_PATTERN = r"^(whatsapp:)?\+\d{6,15}$"


def embedded_only(settings: Settings) -> None:
    if not settings.is_embedded:
        raise HTTPException(status_code=404, detail="No existe")


def _view(read_db: Engine, transport: Transport, identity: Identity, customer: str) -> dict[str, Any]:
    """The customer's conversation as far as it belongs to the viewer's campaigns."""
    if not customer:
        return {"customer": customer, "chat": None, "lines": []}
    scope = campaign_scope(read_db, identity)
    chats = desk_queries.chats_of_customer(read_db, customer, scope)
    lines = simulator.conversation(transport, desk_queries.customer_messages(read_db, customer, scope),
                                   customer, desk_queries.messages_to_customer(read_db, customer, scope))
    return {"customer": customer, "chat": chats[-1] if chats else None, "lines": lines}


def _own_number(read_db: Engine, identity: Identity, to: str) -> None:
    """Supervisors play customers only on their campaigns' numbers."""
    numbers = {s["address"] for s in desk_queries.senders(read_db, campaign_scope(read_db, identity))}
    if to not in numbers:
        raise HTTPException(status_code=403, detail="Ese número no es de sus campañas")


@router.get("/simulator")
def simulator_page(request: Request, settings: SettingsDep, read_db: ReadDb, transport: TransportDep, pages: PagesDep,
                   identity: Annotated[Identity, Depends(SIMULATORS)], customer: str = "",
                   crowd: str = "") -> Response:
    embedded_only(settings)
    senders = desk_queries.senders(read_db, campaign_scope(read_db, identity))
    return pages.render(request, "simulator/simulator.html", {
        **_view(read_db, transport, identity, customer), "senders": senders,
        "crowd": [c for c in crowd.split(",") if c], "suggested_phone": simulator.random_phones(1)[0]})


@router.get("/simulator/fragments/conversation")
def conversation_fragment(request: Request, settings: SettingsDep, read_db: ReadDb, transport: TransportDep,
                          pages: PagesDep, identity: Annotated[Identity, Depends(SIMULATORS)],
                          customer: str = "") -> Response:
    embedded_only(settings)
    return pages.render(request, "simulator/_conversation.html", _view(read_db, transport, identity, customer))


def _client(request: Request, settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=request.app), base_url=settings.public_url, timeout=30)


@router.post("/simulator/messages")
async def write(request: Request, settings: SettingsDep, read_db: ReadDb,
                identity: Annotated[Identity, Depends(SIMULATORS)],
                phone: Annotated[str, Form(pattern=SENDER_PATTERN)],
                to: Annotated[str, Form(pattern=SENDER_PATTERN)],
                body: Annotated[str, Form(min_length=1, max_length=1600)]) -> Response:
    embedded_only(settings)
    await run_in_threadpool(_own_number, read_db, identity, to)
    customer = simulator.customer_address(phone, to)
    async with _client(request, settings) as client:
        await simulator.send(client, settings, customer, to, body)
    return Response(status_code=303, headers={"location": "/simulator?" + urlencode({"customer": customer,
                                                                                     "to": to})})


@router.post("/simulator/crowd")
async def crowd(request: Request, settings: SettingsDep, read_db: ReadDb, pages: PagesDep,
                identity: Annotated[Identity, Depends(SIMULATORS)],
                to: Annotated[str, Form(pattern=SENDER_PATTERN)],
                document: Annotated[str, Form(min_length=3, max_length=20)],
                customers: Annotated[int, Form(ge=1, le=simulator.MAX_CUSTOMERS)] = 5) -> Response:
    embedded_only(settings)
    await run_in_threadpool(_own_number, read_db, identity, to)
    addresses = [simulator.customer_address(p, to) for p in simulator.random_phones(customers)]
    async with _client(request, settings) as client:
        await simulator.play(client, settings, addresses, to, simulator.identification_script(document))
    message = pages.translate(request.state.lang, "Clientes simulados: %(count)s", count=len(addresses))
    return redirect_with_flash(request, "/simulator?" + urlencode({"crowd": ",".join(addresses)}), "success",
                               message)
