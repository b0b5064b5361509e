"""Who is calling, as pure ASGI middleware: a bearer token or the session cookie, resolved off the event loop.

A plain ASGI layer (not Starlette's BaseHTTPMiddleware) adds no task and no body buffering per
request, and the session and token lookups, which read the event store, run in the thread pool,
so a slow database call never stalls the loop that serves every other request and the live feed.
Twilio's webhooks and static files pass straight through: a signature, not a cookie, is their
only credential.
"""

from __future__ import annotations

import secrets
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.flash import FLASH_COOKIE, read_flashes
from api.security import LANGUAGE_COOKIE, SESSION_COOKIE, BrowserSession
from api.templating import choose_language
from application.staff import Identity, StaffService

ANONYMOUS_CSRF_COOKIE = "despacho_csrf"
PASS_THROUGH = ("/webhooks/", "/static/", "/metrics", "/media/outbound/")  # each checks its own credentials


class Authentication:
    def __init__(self, app: ASGIApp, staff: StaffService) -> None:
        self.app = app
        self.staff = staff

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PASS_THROUGH):
            if scope["type"] == "http":
                state = scope.setdefault("state", {})
                state["user"], state["auth_kind"] = None, "twilio"
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        session = await self._resolve(request)
        always, unless_set = _cookie_changes(request, session)
        await self.app(scope, receive, _adding_cookies(send, always, unless_set) if always or unless_set else send)

    async def _resolve(self, request: Request) -> BrowserSession | None:
        state = request.state
        state.flashes = read_flashes(request)
        state.user, state.auth_kind = None, ""
        authorization = request.headers.get("authorization", "")
        session = None
        state.session_id = ""
        if authorization.lower().startswith("bearer "):
            found = await run_in_threadpool(self.staff.token_identity, authorization[7:].strip(),
                                            client=request.headers.get("user-agent", ""))
            state.user, state.session_id = found if found else (None, "")
            state.auth_kind = "bearer" if state.user else ""
        else:
            session = request.app.state.sessions.loads(request.cookies.get(SESSION_COOKIE))
            if session is not None:
                state.user = await run_in_threadpool(self._session_identity, session)
                state.auth_kind = "cookie" if state.user else ""
                state.csrf_token = session.csrf_token
                state.session_id = session.session_id if state.user else ""
        state.lang = choose_language(getattr(state.user, "language", None), request.cookies.get(LANGUAGE_COOKIE))
        if state.user is None and session is None:
            state.auth_kind = "anonymous"
            state.csrf_token = request.cookies.get(ANONYMOUS_CSRF_COOKIE) or secrets.token_urlsafe(24)
        return session

    def _session_identity(self, session: BrowserSession) -> Identity | None:
        try:
            session_id = UUID(session.session_id)
        except ValueError:
            return None
        return self.staff.session_identity(session_id, session.user_id)


def _cookie_changes(request: Request, session: BrowserSession | None) -> tuple[list[str], list[str]]:
    """The Set-Cookie headers this request's answer needs: always, and only when the route set none itself."""
    state, always, unless_set = request.state, Response(), Response()
    if state.auth_kind == "anonymous" and ANONYMOUS_CSRF_COOKIE not in request.cookies:
        always.set_cookie(ANONYMOUS_CSRF_COOKIE, state.csrf_token, httponly=True, samesite="strict",
                          secure=request.app.state.secure_cookies)
    if session is not None and state.user is None:
        always.delete_cookie(SESSION_COOKIE, path="/")  # its session ended: every copy of it is refused
    if state.flashes and FLASH_COOKIE in request.cookies and _is_a_page(request):
        # Shown on this page, so forget them; but a redirect that sets cookies (a new flash, a login) carries
        # them on to the page it leads to.
        unless_set.delete_cookie(FLASH_COOKIE)
    return always.headers.getlist("set-cookie"), unless_set.headers.getlist("set-cookie")


def _is_a_page(request: Request) -> bool:
    """Whether the browser asked for a page: a live refresh, a heartbeat or the event stream that happen to run
    between a form's redirect and the page it leads to must not take the page's message (browsers say which with
    Sec-Fetch-Dest; a client that does not say is taken at its word as asking for a page)."""
    return request.headers.get("sec-fetch-dest", "document") in ("document", "iframe")


def _adding_cookies(send: Send, always: list[str], unless_set: list[str]) -> Send:
    async def send_with_cookies(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            extra = always if headers.getlist("set-cookie") else [*always, *unless_set]
            for value in extra:
                headers.append("set-cookie", value)
        await send(message)
    return send_with_cookies
