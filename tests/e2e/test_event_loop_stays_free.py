"""Nothing a route does blocks the event loop: while one request waits on a slow service or database call,
the health check (and so every other request and live stream) is still answered.

Each case makes one real service (or the read engine) stall inside a route that reads its body or streams
(the `async` ones, and those that read a posted form), then asks /healthz. Were the stalled call made on the
event loop, the health check could only be answered after it finished; the test asserts the opposite order.
Nothing is measured: the stall waits for the test to let it go.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Scope

from adapters.twilio_signatures import sign, webhook_url
from api import deps
from api.app import create_app
from despacho.bootstrap import Despacho
from despacho.simulator import signed_message
from tests.e2e.admin_support import PASSWORD, bearer, despacho_fixture, staff_fixture  # noqa: F401

STALL_LIMIT_SECONDS = 10.0  # only ever reached when the loop is blocked, and then the test fails on the order
SENDER = "whatsapp:+573001110000"
CUSTOMER = "whatsapp:+573009998877"
CSV = b"documento,nombres,celular\n1020304050,Cliente Uno,3001234567\n"


class Stall:
    """A real service or engine whose `method` waits, in whichever thread calls it, until the test lets it go."""

    def __init__(self, target: Any, method: str, *, holding: bool = True) -> None:
        self.target, self.method = target, method
        self.entered, self.finished, self.released = threading.Event(), threading.Event(), threading.Event()
        if not holding:
            self.released.set()

    def hold(self) -> None:
        self.released.clear()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.target, name)
        if name != self.method or self.released.is_set():
            return real

        def stalled(*args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            self.released.wait(STALL_LIMIT_SECONDS)
            try:
                return real(*args, **kwargs)
            finally:
                self.finished.set()
        return stalled


@dataclass(frozen=True)
class World:
    despacho: Despacho
    staff: SimpleNamespace

    def as_user(self, user_id: str) -> dict[str, str]:
        return bearer(self.despacho, user_id)


T = TypeVar("T")
Send = Callable[[httpx.AsyncClient, World], Coroutine[Any, Any, httpx.Response]]


@dataclass(frozen=True)
class Case:
    getter: Callable[..., Any]
    method: str
    send: Send
    answer: int | None  # the slow request's status once let go; None for a stream, which never ends


async def create_agent(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post("/admin/agents", headers=world.as_user(world.staff.admin), data={
        "login": "nuevo", "name": "Asesor Nuevo", "role": "agent", "capacity": "5", "password": PASSWORD,
        "campaign_ids": world.staff.banco_a})


async def edit_agent(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post(f"/admin/agents/{world.staff.agent}", headers=world.as_user(world.staff.admin), data={
        "name": "Ana Asesora", "role": "agent", "capacity": "6", "campaign_ids": world.staff.banco_a})


CAMPAIGN_FORM = {"name": "Seguros D", "display_name": "Seguros D", "time_zone": "America/Bogota",
                 "alert_after_minutes": "30", "auto_close_after_hours": "24", "routing_policy": "least_load",
                 "default_capacity": "5", "flow_name": "default", "closing_message": "Chao",
                 "closing_template_sid": "", "dispositions": "Pago total"}


async def create_campaign(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post("/admin/campaigns", headers=world.as_user(world.staff.admin),
                             data={**CAMPAIGN_FORM, "code": "seguros_d", "sender_channel": "sms"})


async def edit_campaign(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post(f"/admin/campaigns/{world.staff.telco_b}", headers=world.as_user(world.staff.admin),
                             data=CAMPAIGN_FORM)


async def link_sender(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post(f"/admin/campaigns/{world.staff.telco_b}/senders",
                             headers=world.as_user(world.staff.admin),
                             data={"address": "+5716000099", "channel": "sms"})


async def unlink_sender(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post(f"/admin/campaigns/{world.staff.banco_a}/senders/remove",
                             headers=world.as_user(world.staff.admin), data={"address": SENDER})


async def preview_page(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post("/admin/portfolios/preview", headers=world.as_user(world.staff.admin),
                             data={"campaign_id": world.staff.banco_a}, files={"file": ("cartera.csv", CSV)})


async def import_page(client: httpx.AsyncClient, world: World) -> httpx.Response:
    upload_id, _ = world.despacho.portfolios.preview_upload("cartera.csv", content=CSV)
    return await client.post("/admin/portfolios/import", headers=world.as_user(world.staff.admin), data={
        "campaign_id": world.staff.banco_a, "mode": "upsert", "upload_id": upload_id, "file_name": "cartera.csv"})


async def preview_api(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post(f"/api/campaigns/{world.staff.banco_a}/portfolios/preview",
                             headers=world.as_user(world.staff.admin), files={"file": ("cartera.csv", CSV)})


async def import_api(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post(f"/api/campaigns/{world.staff.banco_a}/portfolios/import",
                             headers=world.as_user(world.staff.admin), files={"file": ("cartera.csv", CSV)})


async def log_in(client: httpx.AsyncClient, world: World) -> httpx.Response:
    page = await client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the login page has no CSRF field"
    return await client.post("/login", data={"login": "ana", "password": PASSWORD, "csrf_token": match.group(1)})


async def choose_language(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post("/preferences/language", headers=world.as_user(world.staff.agent), data={"lang": "en"})


async def inbound_webhook(client: httpx.AsyncClient, world: World) -> httpx.Response:
    params, headers = signed_message(world.despacho.settings, CUSTOMER, SENDER, "Hola")
    return await client.post("/webhooks/twilio/messages", data=params, headers=headers)


async def status_webhook(client: httpx.AsyncClient, world: World) -> httpx.Response:
    path = "/webhooks/twilio/status?mid=desconocido"
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    settings = world.despacho.settings
    signature = sign(settings.twilio_auth_token.get_secret_value(), webhook_url(settings.public_url, path), params)
    return await client.post(path, data=params, headers={"X-Twilio-Signature": signature})


async def simulate_customer(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post("/simulator/messages", headers=world.as_user(world.staff.admin),
                             data={"phone": "+573009998877", "to": SENDER, "body": "Hola"})


async def simulate_crowd(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.post("/simulator/crowd", headers=world.as_user(world.staff.admin),
                             data={"to": SENDER, "document": "1020304050", "customers": "1"})


async def follow_queue(client: httpx.AsyncClient, world: World) -> httpx.Response:
    return await client.get("/live?" + urlencode({"topics": f"queue:{world.staff.banco_a}"}),
                            headers=world.as_user(world.staff.supervisor))


CASES = {
    "admin creates an agent": Case(deps.get_staff, "register", create_agent, 303),
    "admin edits an agent": Case(deps.get_staff, "edit", edit_agent, 303),
    "admin creates a campaign": Case(deps.get_campaigns, "register", create_campaign, 303),
    "admin edits a campaign": Case(deps.get_campaigns, "edit", edit_campaign, 303),
    "admin links a sender": Case(deps.get_campaigns, "link_sender", link_sender, 303),
    "admin unlinks a sender": Case(deps.get_campaigns, "unlink_sender", unlink_sender, 303),
    "portfolio preview page": Case(deps.get_campaigns, "get", preview_page, 200),
    "portfolio import page": Case(deps.get_portfolios, "queue_import", import_page, 303),
    "portfolio preview api": Case(deps.get_portfolios, "preview_upload", preview_api, 200),
    "portfolio import api": Case(deps.get_portfolios, "queue_import", import_api, 202),
    "login": Case(deps.get_logins, "log_in", log_in, 303),
    "language choice": Case(deps.get_staff, "choose_language", choose_language, 303),
    "inbound webhook": Case(deps.get_inbound, "receive", inbound_webhook, 200),
    "status webhook": Case(deps.get_outbound, "apply_status", status_webhook, 204),
    "simulated customer": Case(deps.get_read_db, "connect", simulate_customer, 303),
    "simulated crowd": Case(deps.get_read_db, "connect", simulate_crowd, 303),
    "live stream subscribing": Case(deps.get_read_db, "connect", follow_queue, None),
}


@pytest.fixture
def world(despacho: Despacho, staff: SimpleNamespace) -> World:
    despacho.campaigns.link_sender(UUID(staff.banco_a), SENDER, "whatsapp", is_default=True, actor="system:test")
    despacho.runner.catch_up()
    return World(despacho, staff)


def stalled(app: FastAPI, getter: Callable[..., Any], real: Any, method: str, *, holding: bool = True) -> Stall:
    stall = Stall(real, method, holding=holding)
    app.dependency_overrides[getter] = lambda: stall
    return stall


def real_dependency(despacho: Despacho, getter: Callable[..., Any]) -> Any:
    return {deps.get_staff: despacho.staff, deps.get_campaigns: despacho.campaigns,
            deps.get_portfolios: despacho.portfolios, deps.get_logins: despacho.logins,
            deps.get_inbound: despacho.inbound, deps.get_outbound: despacho.outbound,
            deps.get_read_db: despacho.read_engine}[getter]


def run_on_a_loop_of_its_own(scenario: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` in a thread of its own: the browser tests leave Playwright's event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, scenario).result()


async def health_while_stalled(client: httpx.AsyncClient, stall: Stall) -> tuple[int, bool]:
    """Wait (off the loop) until the slow call is inside its stall, then ask for the health check; says whether
    the slow call was still waiting when the health answer came."""
    entered = await asyncio.to_thread(stall.entered.wait, STALL_LIMIT_SECONDS)
    assert entered, "the request never reached the stalled call"
    health = await client.get("/healthz")
    return health.status_code, not stall.finished.is_set()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_request_waiting_on_a_slow_call_leaves_the_health_check_answering(world: World, case: Case) -> None:
    app = create_app(world.despacho)
    stall = stalled(app, case.getter, real_dependency(world.despacho, case.getter), case.method)

    async def scenario() -> tuple[int, bool, int | None]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     timeout=STALL_LIMIT_SECONDS * 2) as client:
            slow = asyncio.create_task(case.send(client, world))
            try:
                health, still_waiting = await health_while_stalled(client, stall)
            finally:
                stall.released.set()
            if case.answer is None:  # a stream never ends: enough that it got past its stalled check
                await asyncio.to_thread(stall.finished.wait, STALL_LIMIT_SECONDS)
                slow.cancel()
                return health, still_waiting, None
            return health, still_waiting, (await slow).status_code

    health, still_waiting, answer = run_on_a_loop_of_its_own(scenario())

    assert health == 200
    assert still_waiting, "the health check was answered only after the slow call finished: the loop was blocked"
    assert answer == case.answer


def test_a_live_topic_checked_again_before_delivery_leaves_the_health_check_answering(world: World) -> None:
    """A supervisor's queue topic is checked against the read tables before each delivery (membership changes)."""
    app = create_app(world.despacho)
    stall = stalled(app, deps.get_read_db, world.despacho.read_engine, "connect", holding=False)
    topic = f"queue:{world.staff.banco_a}"

    async def scenario() -> tuple[int, bool, bytes]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            chunks: asyncio.Queue[bytes] = asyncio.Queue()
            stream = asyncio.create_task(open_stream(app, "/live", {"topics": topic},
                                                     world.as_user(world.staff.supervisor), chunks))
            assert (await chunks.get()).startswith(b"retry:")  # subscribed, its first check done
            stall.hold()
            for _ in range(500):  # until the stream has subscribed to the feed and is checking the topic again
                world.despacho.live.publish([topic])
                if await asyncio.to_thread(stall.entered.wait, 0.02):
                    break
            try:
                health, still_waiting = await health_while_stalled(client, stall)
            finally:
                stall.released.set()
            delivered = await asyncio.wait_for(chunks.get(), STALL_LIMIT_SECONDS)
            stream.cancel()
            return health, still_waiting, delivered

    health, still_waiting, delivered = run_on_a_loop_of_its_own(scenario())

    assert health == 200
    assert still_waiting, "the health check was answered only after the topic check finished: the loop was blocked"
    assert topic.encode() in delivered


async def open_stream(app: FastAPI, path: str, query: dict[str, str], headers: dict[str, str],
                      chunks: asyncio.Queue[bytes]) -> None:
    """Serve one streaming GET straight through ASGI, putting each body chunk on `chunks` as it is sent."""
    scope: Scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 50000),
             "root_path": "", "path": path, "raw_path": path.encode(), "query_string": urlencode(query).encode(),
             "headers": [(key.lower().encode(), value.encode()) for key, value in headers.items()]}

    async def receive() -> Message:
        await asyncio.Event().wait()  # the client never disconnects; the test cancels the stream
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            await chunks.put(message["body"])

    await app(scope, receive, send)
