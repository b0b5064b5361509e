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

from api.deps import DespachoDep, PagesDep
from api.flash import redirect_with_flash
from api.security import allow
from application.staff import Identity
from despacho import simulator
from despacho.bootstrap import Despacho
from projections import desk_queries

router = APIRouter(include_in_schema=False)
SIMULATORS = allow("admin", "supervisor")
SENDER_PATTERN = r"^(whatsapp:)?\+\d{6,15}$"


def embedded_only(despacho: Despacho) -> None:
    if not despacho.settings.is_embedded:
        raise HTTPException(status_code=404, detail="No existe")


def _view(despacho: Despacho, customer: str) -> dict[str, Any]:
    written = desk_queries.customer_messages(despacho.read_engine, customer) if customer else []
    chats = desk_queries.chats_of_customer(despacho.read_engine, customer) if customer else []
    return {"customer": customer, "chat": chats[-1] if chats else None,
            "lines": simulator.conversation(despacho.transport, written, customer) if customer else []}


@router.get("/simulator")
def simulator_page(request: Request, despacho: DespachoDep, pages: PagesDep,
                   identity: Annotated[Identity, Depends(SIMULATORS)], customer: str = "",
                   crowd: str = "") -> Response:
    embedded_only(despacho)
    senders = desk_queries.senders(despacho.read_engine)
    return pages.render(request, "simulator/simulator.html", {
        **_view(despacho, customer), "senders": senders, "crowd": [c for c in crowd.split(",") if c],
        "suggested_phone": simulator.random_phones(1)[0]})


@router.get("/simulator/fragments/conversation")
def conversation_fragment(request: Request, despacho: DespachoDep, pages: PagesDep,
                          identity: Annotated[Identity, Depends(SIMULATORS)], customer: str = "") -> Response:
    embedded_only(despacho)
    return pages.render(request, "simulator/_conversation.html", _view(despacho, customer))


def _client(request: Request, despacho: Despacho) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=request.app), base_url=despacho.settings.public_url,
                             timeout=30)


@router.post("/simulator/messages")
async def write(request: Request, despacho: DespachoDep, identity: Annotated[Identity, Depends(SIMULATORS)],
                phone: Annotated[str, Form(pattern=SENDER_PATTERN)],
                to: Annotated[str, Form(pattern=SENDER_PATTERN)],
                body: Annotated[str, Form(min_length=1, max_length=1600)]) -> Response:
    embedded_only(despacho)
    customer = simulator.customer_address(phone, to)
    async with _client(request, despacho) as client:
        await simulator.send(client, despacho.settings, customer, to, body)
    return Response(status_code=303, headers={"location": "/simulator?" + urlencode({"customer": customer,
                                                                                     "to": to})})


@router.post("/simulator/crowd")
async def crowd(request: Request, despacho: DespachoDep, pages: PagesDep,
                identity: Annotated[Identity, Depends(SIMULATORS)],
                to: Annotated[str, Form(pattern=SENDER_PATTERN)],
                document: Annotated[str, Form(min_length=3, max_length=20)],
                customers: Annotated[int, Form(ge=1, le=simulator.MAX_CUSTOMERS)] = 5) -> Response:
    embedded_only(despacho)
    addresses = [simulator.customer_address(p, to) for p in simulator.random_phones(customers)]
    async with _client(request, despacho) as client:
        await simulator.play(client, despacho.settings, addresses, to, simulator.identification_script(document))
    message = pages.translate(request.state.lang, "Clientes simulados: %(count)s", count=len(addresses))
    return redirect_with_flash(request, "/simulator?" + urlencode({"crowd": ",".join(addresses)}), "success",
                               message)
