"""The authorization matrix: every route of the app × role × campaign membership, generated from the route table.

Campaign A's supervisor (sandra) and agent (ana) call each route with A's ids ("own") and with B's ("other"); the
admin, the auditor and an anonymous caller with A's. A role that `allow(...)` leaves out is refused (anonymous: 401,
or a page's redirect to /login); A's people asking for B's resources get 403 or 404, never a success, and no answer
they get — pages, JSON, CSV, XLSX — holds any of B's strings. Routes without a path parameter are asked for B
through the query string or the body (campaign_id=B, chat=B's chat…). Calls that would change the world are made
only where they must be refused; the last test checks that B's read tables are as the world left them. /live is
checked topic by topic: what B's topics publish never reaches A's people.

A route whose path parameter this module cannot fill fails, so a new route cannot slip past the matrix.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from httpx import Response
from sqlalchemy import MetaData, select

from adapters.clock import FixedClock
from api.app import create_app
from api.flash import FLASH_COOKIE
from api.security import declarations
from despacho.bootstrap import build
from despacho.settings import Settings
from tests.conftest import START
from tests.e2e.authz_world import DISPOSITION, Campaign, World, authorization_world
from tests.e2e.test_api_auth import topics_delivered
from tests.e2e.test_route_permissions import api_routes

CALLERS = {"admin": "admin", "auditor": "auditor", "supervisor": "sandra", "agent": "ana"}
MEMBERS = ("supervisor", "agent")
UNSAFE = frozenset({"POST", "PUT", "DELETE", "PATCH"})
# Parameters no campaign owns: the same value serves every caller.
FREE_PARAMETERS = {"section": "queue", "index": "0", "action": "pause", "token": "enlace-sin-firma"}
# A few routes act on a chat in one state: the PDF exists once it closed, a manual assignment takes a queued chat.
CHAT_IN_STATE = {"/chats/{chat_id}/transcript.pdf": "closed_chat_id", "/api/chats/{chat_id}/assign": "queued_chat_id",
                 "/chats/{chat_id}/assign": "queued_chat_id"}
# Routes without a path parameter whose body names a campaign's things: asked with B's, they must not act on B.
BODY_SCOPED = {"/api/agents", "/admin/agents", "/api/alerts/acknowledge", "/alerts/acknowledge", "/broadcasts",
               "/broadcasts/preview", "/api/broadcasts/preview", "/simulator/messages", "/simulator/crowd",
               "/api/campaigns"}
LIVE_PATH = "/live"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    kind: str
    roles: tuple[str, ...]

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"\{([a-z_]+)(?::[a-z]+)?\}", self.path)

    @property
    def campaign_bound(self) -> bool:
        return any(name not in FREE_PARAMETERS for name in self.parameters)


@dataclass(frozen=True)
class Case:
    route: Route
    role: str
    membership: str  # "own": A's ids (or none needed), "other": B's

    @property
    def id(self) -> str:
        return f"{self.route.method} {self.route.path} as {self.role} ({self.membership})"


def route_table() -> list[Route]:
    """The app's routes as it serves them, each with its access rule, read off an app built on a scratch SQLite."""
    with tempfile.TemporaryDirectory() as scratch:
        despacho = build(Settings(var_dir=Path(scratch) / "var"))
        try:
            routes = []
            for route in api_routes(create_app(despacho)):
                [(kind, roles)] = list(declarations(route.dependant))
                routes += [Route(method, route.path or "", kind, roles) for method in sorted(route.methods or ())]
            return routes
        finally:
            despacho.close()


def cases(routes: list[Route]) -> list[Case]:
    found = []
    for route in routes:
        for role in ("anonymous", *CALLERS):
            allowed = role in route.roles
            if allowed and route.path == LIVE_PATH:
                continue  # a stream: the live tests below
            if allowed and role in MEMBERS and _asked_for_b(route):
                found.append(Case(route, role, "other"))
            if not (allowed and route.method in UNSAFE):  # an allowed change is the feature tests' to make
                found.append(Case(route, role, "own"))
    return found


def _asked_for_b(route: Route) -> bool:
    return route.campaign_bound or route.method not in UNSAFE or route.path in BODY_SCOPED


ROUTES = route_table()
CASES = cases(ROUTES)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = Settings(var_dir=tmp_path_factory.mktemp("authz") / "var")
    with authorization_world(settings, FixedClock(START)) as built:
        built.center.settle()
        yield built


@pytest.fixture(scope="module")
def b_as_built(world: World) -> dict[str, list[dict[str, Any]]]:
    return campaign_rows(world, world.b.id)


# ---- filling a route and calling it ----

def url_for(route: Route, campaign: Campaign) -> str:
    path = route.path
    for name in route.parameters:
        value = FREE_PARAMETERS.get(name) or campaign.ids.get(CHAT_IN_STATE.get(route.path, name)
                                                              if name == "chat_id" else name)
        if value is None:
            pytest.fail(f"{route.method} {route.path}: the matrix cannot fill {{{name}}}; add it to the world")
        path = path.replace(f"{{{name}}}", quote(value, safe=""))
    if not route.parameters and route.method not in UNSAFE:
        path += "?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in _query_naming(campaign).items())
    return path


def _query_naming(campaign: Campaign) -> dict[str, str]:
    ids = campaign.ids
    return {"campaign_id": ids["campaign_id"], "campaign": ids["campaign_id"], "chat": ids["chat_id"],
            "agent_id": ids["agent_id"], "agent": ids["agent_id"], "sender": ids["sender"], "q": campaign.customer.name}


def body_naming(campaign: Campaign) -> dict[str, Any]:
    """One body every route's model accepts (they ignore what they do not ask for), all of it campaign's."""
    ids = campaign.ids
    return {"body": "Mensaje de prueba", "text": "Nota de prueba", "note": "Nota de prueba", "reason": "Prueba",
            "customer_messages": 1, "disposition": DISPOSITION, "campaign_id": ids["campaign_id"],
            "campaign_ids": [ids["campaign_id"]], "to_agent_id": ids["agent_id"], "agent_id": ids["agent_id"],
            "alert_ids": [ids["alert_id"]], "login": "intrusa", "name": "Difusión intrusa", "role": "agent",
            "password": "clave-intrusa-123", "capacity": 2, "status": "available", "to": campaign.number,
            "content_sid": "", "customers": 1}


def call(world: World, case: Case) -> Response:
    center, route = world.center, case.route
    campaign = world.campaign(case.membership)
    headers = center.as_user(CALLERS[case.role]) if case.role in CALLERS else {}
    url = url_for(route, campaign)
    if route.method not in UNSAFE:
        response: Response = center.client.request(route.method, url, headers=headers)
    elif url.startswith("/api/"):
        response = center.client.request(route.method, url, headers=headers, json=body_naming(campaign))
    else:
        response = center.client.request(route.method, url, headers=headers, data=body_naming(campaign))
    return response


def readable(response: Response) -> str:
    """The answer as text: a spreadsheet's sheets and shared strings unzipped."""
    if response.headers.get("content-type", "").startswith(XLSX):
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            return "".join(book.read(name).decode() for name in book.namelist() if name.endswith(".xml"))
    return response.content.decode(errors="replace")


# ---- the matrix ----

@pytest.mark.usefixtures("b_as_built")  # taken before the first call, for the last test to compare
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_route_answers_each_role_and_campaign_as_its_rule_says(world: World, case: Case) -> None:
    route = case.route
    response = call(world, case)
    world.center.client.cookies.clear()  # a flash one call left must not reach the next
    status = response.status_code
    shown = f"{case.id} → {status}: {response.text[:300]}"

    assert status < 500, shown
    if case.role in MEMBERS:
        leaked = [secret for secret in world.b.secrets if secret in readable(response)]
        assert leaked == [], f"{shown}\nB's strings in A's answer: {leaked}"
    if route.kind != "roles":
        assert status in (401, 403, 404) or route.kind == "public", shown
    elif case.role == "anonymous":
        assert status == 401 or (status == 303 and response.headers["location"].startswith("/login")), shown
    elif case.role not in route.roles:
        assert status == 403, shown
    elif case.membership == "own":
        assert status not in (401, 403), shown
    elif route.campaign_bound:
        assert status in (403, 404) or _refused_before_running(route, response) or _refused_by_form(world, response), \
            shown


def _refused_before_running(route: Route, response: Response) -> bool:
    """A change whose body the route's model refused never ran (FastAPI's 422 lists the fields)."""
    if route.method not in UNSAFE or response.status_code != 422:
        return False
    detail = response.json().get("detail") if "json" in response.headers.get("content-type", "") else None
    return isinstance(detail, list)


def _refused_by_form(world: World, response: Response) -> bool:
    """A page's form answers a refusal by going back with the reason as an error flash (api/forms.py)."""
    cookie = response.cookies.get(FLASH_COOKIE)
    if response.status_code != 303 or not cookie:
        return False
    flashes = world.center.client.app.state.flash_serializer.loads(cookie)
    return any(category == "error" for category, _ in flashes)


def test_every_route_is_in_the_matrix() -> None:
    covered = {(case.route.method, case.route.path) for case in CASES}
    served = {(route.method, route.path) for route in ROUTES}

    assert served - covered == set()
    assert any(case.membership == "other" for case in CASES if case.route.path == "/chats/{chat_id}/transcript.pdf")


def test_every_path_parameter_has_a_value_in_the_world(world: World) -> None:
    unfilled = {f"{route.method} {route.path}": name for route in ROUTES for name in route.parameters
                if name not in FREE_PARAMETERS and name not in world.a.ids}

    assert unfilled == {}


# ---- live topics ----

def b_topics(world: World) -> list[str]:
    b = world.b
    return [f"queue:{b.id}", f"desk:{b.ids['agent_id']}", f"desk:{world.center.ids[b.supervisor]}",
            f"chat:{b.ids['chat_id']}", f"chat:{b.ids['queued_chat_id']}", f"campaign:{b.id}"]


@pytest.mark.parametrize("role", MEMBERS)
def test_b_topics_never_reach_a_member_of_a(world: World, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.routers.live.KEEPALIVE_SECONDS", 0.5)
    center, a = world.center, world.a
    opening = f"desk:{a.ids['agent_id']}" if role == "agent" else f"queue:{a.id}"
    client = center.client
    client.headers.update(center.as_user(CALLERS[role]))
    try:
        delivered = topics_delivered(client, center.despacho, " ".join([opening, *b_topics(world), "queue:*",
                                                                         "chat:*"]),
                                     opening, b_topics(world))
    finally:
        del client.headers["Authorization"]

    assert delivered == [], f"{role} of A received B's topics {delivered}"


# ---- nothing of B changed ----

def campaign_rows(world: World, campaign_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every read table's rows that belong to the campaign (by campaign_id, or by being its id)."""
    engine = world.center.despacho.read_engine
    metadata = MetaData()
    metadata.reflect(bind=engine)
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            column = table.c.get("campaign_id") if "campaign_id" in table.c else (
                table.c.id if table.name == "campaigns" else None)
            if column is None:
                continue
            rows = connection.execute(select(table).where(column == campaign_id)).mappings()
            found[table.name] = sorted((dict(row) for row in rows), key=repr)
    return found


def test_nothing_of_b_changed_after_everything_a_tried(world: World,
                                                      b_as_built: dict[str, list[dict[str, Any]]]) -> None:
    world.center.settle()
    now = campaign_rows(world, world.b.id)

    changed = {table: rows for table, rows in now.items() if rows != b_as_built.get(table)}
    assert changed == {}
