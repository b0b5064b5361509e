"""Accessibility in Chromium (issue 15, item 10): axe-core reads every page each role may open, as the route table
lists them, over a small seeded world (a chat, an agent, a campaign with a canned reply, a portfolio job, a sender),
and finds no serious or critical violation; the focused control is always visibly outlined; and an agent does the
desk's work — open a chat, reply, close it with a disposition — with the keyboard alone.

axe-core comes pinned from npm (a devDependency: node_modules/axe-core, never copied to api/static/vendor) and is
injected into each page by the test. One browser and one server serve the module; each role signs in once."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4

import pytest
from fastapi.routing import APIRoute

from api.app import create_app
from api.security import declarations
from application.broadcasts import NewBroadcast
from domain.broadcasts import Segment
from projections import desk_queries
from projections.message_queries import approved_templates
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser_admin import campaign_ids
from tests.e2e.test_browser_conversation import sign_in
from tests.e2e.test_browser_desk_day import BANCO_A_NUMBER, chat_of, customer_reaches_an_agent
from tests.e2e.test_route_permissions import api_routes

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
LOGINS = {"admin": "admin", "supervisor": "supervisora", "agent": "ana", "auditor": "auditor"}
NOT_PAGES = {
    "/live": "the live updates' event stream",
    "/admin/portfolios/jobs/{job_id}/progress": "a fragment the job page redraws",
    "/chats/{chat_id}/attachments/{message_sid}/{index}": "a customer's file",
    "/chats/{chat_id}/files/{message_id}": "a file an agent sent",
}
"""GET routes outside the JSON API that are not pages; fragments (/fragments/ in the path) and files (a suffix such as
.csv or .pdf) are told apart by their path."""
ALSO_VISITED = {"/desk": ("/desk?chat={chat_id}",), "/alerts": ("/alerts?state=all",),
                "/audit/events": ("/audit/events?aggregate={chat_id}",)}
"""Pages whose most used state needs a query: the desk with a chat open, every alert, one aggregate's events."""
FILE_SUFFIX = re.compile(r"\.[a-z]+$")
phones = (f"whatsapp:+57300{n:07d}" for n in itertools.count(4100001))

FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const opaque = (colour) => !/^rgba\\(.*,\\s*0\\)$/.test(colour) && colour !== "transparent";
  const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 && opaque(style.outlineColor);
  const ringed = [...style.boxShadow.matchAll(/(rgba?\\([^)]*\\))([^,]*)/g)].some(([, colour, sizes]) =>
    opaque(colour) && sizes.trim().split(/\\s+/).slice(2).some((size) => parseFloat(size) > 0));
  return {visible: outlined || ringed,
          name: (element.getAttribute("aria-label") || element.textContent || element.id || element.tagName).trim()};
}"""
"""Whether the focused control shows an outline or a ring (a shadow with a blur or spread in a colour one can see)."""
FOCUS_VISIBLE_RULES = """() => [...document.styleSheets].flatMap((sheet) => {
  try { return [...sheet.cssRules]; } catch (error) { return []; }
}).filter((rule) => (rule.selectorText || "").includes(":focus-visible")).length"""
TAB_STOPS = """() => [...document.querySelectorAll(
  "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]"
)].filter((element) => !element.disabled && element.checkVisibility() && element.tabIndex >= 0)
  .map((element) => element.id || element.outerHTML.slice(0, 120))"""


@dataclass(frozen=True)
class World:
    params: dict[str, str]
    pages: dict[str, Any]

    def url_of(self, path: str) -> str:
        try:
            return path.format_map(self.params)
        except KeyError as missing:
            raise AssertionError(f"{path}: the seeded world has no value for {missing}; add one to `world`") from None


def page_paths(live_server: LiveServer, role: str) -> list[str]:
    """The HTML pages of the route table this role may open (every GET route outside the JSON API that is neither a
    fragment nor a file), with the query variants worth reading too."""
    paths = []
    for route in api_routes(create_app(live_server.despacho)):
        access = list(declarations(route.dependant))
        allowed = any(kind == "roles" and role in roles for kind, roles in access) or (
            role == "anonymous" and ("public", ()) in access)
        if ("GET" in (route.methods or ()) and isinstance(route.original_route, APIRoute)
                and not route.original_route.include_in_schema and allowed and route.path not in NOT_PAGES
                and "/fragments/" not in route.path and not FILE_SUFFIX.search(route.path)):
            paths += [route.path, *ALSO_VISITED.get(route.path, ())]
    return paths


def signed_in_page(browser: Any, live_server: LiveServer, role: str) -> Any:
    context = browser.new_context(locale="es-CO", timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    if role != "anonymous":
        sign_in(page, live_server, LOGINS[role])
    return page


@pytest.fixture(scope="module")
def world(browser: Any, live_server: LiveServer) -> Iterator[World]:
    """Ana available at her desk with a customer's chat; banco_a with a canned reply and a portfolio job."""
    assert AXE.is_file(), f"{AXE} is missing: `make install` runs `npm ci`, which installs the devDependencies"
    despacho = live_server.despacho
    pages = {role: signed_in_page(browser, live_server, role) for role in ("anonymous", *LOGINS)}
    pages["agent"].click(".status-toggle button[value=available]")
    pages["agent"].wait_for_selector("[data-agent-status=available]")
    customer = next(phones)
    customer_reaches_an_agent(live_server, customer)
    banco = campaign_ids(live_server)["banco_a"]
    upload_id, _ = despacho.portfolios.preview_upload("cartera.csv", content=b"documento;nombres\n1020304050;Mar\n")
    despacho.runner.catch_up()
    agents = {name: agent_id for agent_id, name in desk_queries.agent_names(despacho.read_engine).items()}
    params = {
        "chat_id": chat_of(live_server, customer), "campaign_id": banco, "agent_id": agents["Ana Asesora"],
        "reply_id": despacho.canned_replies.write(banco, "Saludo", "Hola {nombre}", actor="test"),
        "job_id": str(despacho.portfolios.queue_import(UUID(banco), upload_id, "cartera.csv", actor="test")),
        "sender": quote(BANCO_A_NUMBER, safe=""),
        "broadcast_id": a_broadcast(live_server, banco),
    }
    yield World(params, pages)
    for page in pages.values():
        page.context.close()


def a_broadcast(live_server: LiveServer, campaign_id: str) -> str:
    """A proactive send of the campaign's first approved template to customers 100 days or more past due."""
    despacho = live_server.despacho
    [template, *_] = approved_templates(despacho.read_engine, campaign_id)
    return despacho.broadcasts.schedule(NewBroadcast(
        campaign_id=campaign_id, name="Mora de más de 100 días", content_sid=template["content_sid"],
        variables={name: "full_name" for name in template["variables"]}, segment=Segment(min_days_past_due=100),
        start_at=despacho.clock.now()), actor="test")


def serious_violations(page: Any) -> list[str]:
    """What axe-core finds serious or critical on the page as it stands, one readable line per element."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} — {' '.join(node['target'])}: "
            f"{node['failureSummary'].splitlines()[-1].strip()}"
            for violation in violations if violation["impact"] in BLOCKING for node in violation["nodes"]]


def readable(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{url}\n  " + "\n  ".join(lines) for url, lines in found.items() if lines)


@pytest.mark.parametrize("role", ["anonymous", *LOGINS])
def test_no_page_a_role_opens_has_a_serious_or_critical_accessibility_violation(
        world: World, live_server: LiveServer, role: str) -> None:
    page = world.pages[role]
    paths = page_paths(live_server, role)
    found: dict[str, list[str]] = {}

    for path in paths:
        url = world.url_of(path)
        response = page.goto(live_server.url(url))
        assert response is not None and response.status == 200, f"{url} answered {response and response.status}"
        assert "text/html" in response.headers["content-type"], f"{path} is not a page: add it to NOT_PAGES"
        found[url] = serious_violations(page)

    assert len(paths) >= {"anonymous": 1, "agent": 6}.get(role, 8), f"too few pages found for {role}: {paths}"
    assert readable(found) == "", f"serious or critical accessibility violations:\n{readable(found)}"


def test_the_routes_told_apart_as_not_pages_are_still_routes(live_server: LiveServer) -> None:
    assert set(NOT_PAGES) <= {route.path for route in api_routes(create_app(live_server.despacho))}


def test_the_error_pages_have_no_serious_or_critical_violation(world: World, live_server: LiveServer) -> None:
    found: dict[str, list[str]] = {}
    for role, path, status in (("supervisor", f"/chats/{uuid4()}", 404), ("agent", "/admin/flows", 403),
                               ("anonymous", "/no-existe", 404)):
        page = world.pages[role]
        response = page.goto(live_server.url(path))
        assert response is not None and response.status == status, path
        assert "text/html" in response.headers["content-type"], f"{path} answers a page, not data"
        found[f"{role} {path}"] = serious_violations(page)

    assert readable(found) == "", f"serious or critical accessibility violations:\n{readable(found)}"


def test_the_desk_with_its_canned_reply_list_open_has_no_serious_or_critical_violation(
        world: World, live_server: LiveServer) -> None:
    page = world.pages["agent"]
    page.goto(live_server.url(world.url_of("/desk?chat={chat_id}")))
    page.locator("#reply-body").focus()
    page.keyboard.type("/")
    page.locator("#canned-replies").wait_for(state="visible")

    found = serious_violations(page)

    page.keyboard.press("Escape")
    page.fill("#reply-body", "")
    assert readable({"/desk with the list open": found}) == ""


def tab_to(page: Any, selector: str, limit: int = 80) -> dict[str, Any]:
    """Press Tab until the focus reaches `selector`; returns how the focused control looks."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            ring: dict[str, Any] = page.evaluate(FOCUS_RING)
            return ring
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_the_skip_link_and_every_control_of_the_desk_are_reached_with_tab_and_visibly_focused(
        world: World, live_server: LiveServer) -> None:
    page = world.pages["agent"]
    page.goto(live_server.url(world.url_of("/desk?chat={chat_id}")))
    assert page.evaluate(FOCUS_VISIBLE_RULES) > 0, "the styles give keyboard focus a :focus-visible outline"
    expected = set(page.evaluate(TAB_STOPS))

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0, "the skip link shows when focused"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null"), "the skip link jumps over the top bar"
    reached: set[str] = set()
    unringed: list[str] = []
    for _ in range(2 * len(expected)):  # past the page's end, round to the top bar, and on to where it started
        ring = page.evaluate(FOCUS_RING)
        stop = page.evaluate("() => document.activeElement.id || document.activeElement.outerHTML.slice(0, 120)")
        if stop in expected:
            reached.add(stop)
            if not ring["visible"]:
                unringed.append(ring["name"])
        page.keyboard.press("Tab")

    assert len(expected) > 15 and expected - reached == set(), "every control on the desk is reached with Tab"
    assert unringed == [], "each focused control shows an outline or a ring"


def test_an_agent_opens_a_chat_replies_and_closes_it_with_the_keyboard_only(
        world: World, live_server: LiveServer) -> None:
    page = world.pages["agent"]
    page.goto(live_server.url("/desk"))
    customer = next(phones)
    customer_reaches_an_agent(live_server, customer)
    chat_id = chat_of(live_server, customer)
    page.wait_for_selector(f".chat-list a[data-chat-id='{chat_id}']")

    assert tab_to(page, f".chat-list a[data-chat-id='{chat_id}']")["visible"]
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk?chat={chat_id}")
    assert tab_to(page, "#reply-body")["visible"]
    page.keyboard.type("Buenos días, ya reviso su caso.")
    page.keyboard.press("Enter")
    page.wait_for_selector(".timeline [data-author=agent] >> text=Buenos días, ya reviso su caso.")
    assert tab_to(page, "#field-disposition")["visible"]
    page.keyboard.press("ArrowDown")
    assert page.input_value("#field-disposition") != "", "the arrow keys choose a disposition"
    assert tab_to(page, "form[data-confirm] button[type=submit]")["visible"]
    page.keyboard.press("Enter")  # the confirmation dialog is accepted (world's pages accept every dialog)

    page.wait_for_selector(".flashes >> text=Chat cerrado.")
    [chat] = [c for c in desk_queries.chats_of_customer(live_server.despacho.read_engine, customer)
              if str(c["id"]) == chat_id]
    assert chat["status"] == "closed"
