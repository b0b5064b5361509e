"""The FastAPI application: thin routers over the use cases, built around one `Despacho`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeSerializer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.flash import FLASH_COOKIE, read_flashes
from api.routers import (
    admin_agents,
    admin_campaigns,
    admin_flows,
    admin_portfolios,
    alerts,
    audit,
    auth,
    campaigns,
    chats,
    dashboard,
    desk,
    health,
    live,
    message_audit,
    portfolios,
    simulator,
    staff,
    supervisor,
    webhooks,
)
from api.security import LANGUAGE_COOKIE, SESSION_COOKIE, BrowserSession, NotAuthenticatedError, SessionCodec
from api.templating import DEFAULT_LANGUAGE, Pages, choose_language
from application.staff import Identity
from despacho.assets import static_fingerprint
from despacho.bootstrap import Despacho
from domain.common import DomainError, NotAllowedError, NotFoundError

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
ANONYMOUS_CSRF_COOKIE = "despacho_csrf"
WEBHOOKS_PREFIX = "/webhooks/"


def create_app(despacho: Despacho) -> FastAPI:
    app = FastAPI(title="Despacho", version="0.1.0",
                  description="Enrutamiento de chats de WhatsApp y SMS por campaña para call centers.")
    secret = despacho.settings.secret_key.get_secret_value()
    app.state.despacho = despacho
    app.state.pages = Pages(asset_version=static_fingerprint(STATIC_DIR))
    app.state.sessions = SessionCodec(secret)
    app.state.flash_serializer = URLSafeSerializer(secret, salt="despacho-flash")
    app.state.secure_cookies = despacho.settings.served_over_https
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    for router in (health.router, auth.router, dashboard.router, audit.router, live.router,
                   campaigns.router, staff.router, webhooks.router):
        app.include_router(router)
    for router in (portfolios.router, admin_campaigns.router, admin_agents.router, admin_portfolios.router,
                   admin_flows.router):
        app.include_router(router)
    for router in (desk.router, chats.router, supervisor.router, simulator.router, alerts.router,
                   message_audit.router):
        app.include_router(router)
    app.middleware("http")(authenticate)
    _install_error_handlers(app)
    return app


async def authenticate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Resolve the caller from a bearer token or the session cookie; forget a cookie whose session ended."""
    if request.url.path.startswith(WEBHOOKS_PREFIX):  # Twilio: its signature is the only credential; no cookies
        request.state.user, request.state.auth_kind = None, "twilio"
        return await call_next(request)
    despacho: Despacho = request.app.state.despacho
    request.state.flashes = read_flashes(request)
    request.state.user, request.state.auth_kind = None, ""
    authorization = request.headers.get("authorization", "")
    session = None
    if authorization.lower().startswith("bearer "):
        request.state.user = await run_in_threadpool(despacho.staff.verify_token, authorization[7:].strip())
        request.state.auth_kind = "bearer" if request.state.user else ""
    else:
        session = request.app.state.sessions.loads(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            request.state.user = await run_in_threadpool(_session_identity, despacho, session)
            request.state.auth_kind = "cookie" if request.state.user else ""
            request.state.csrf_token = session.csrf_token
            request.state.session_id = session.session_id if request.state.user else ""
    request.state.lang = choose_language(getattr(request.state.user, "language", None),
                                         request.cookies.get(LANGUAGE_COOKIE))
    if request.state.user is None and session is None:
        request.state.auth_kind = "anonymous"
        request.state.csrf_token = request.cookies.get(ANONYMOUS_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = await call_next(request)
    if request.state.auth_kind == "anonymous" and ANONYMOUS_CSRF_COOKIE not in request.cookies:
        response.set_cookie(ANONYMOUS_CSRF_COOKIE, request.state.csrf_token, httponly=True, samesite="strict",
                            secure=request.app.state.secure_cookies)
    if request.state.flashes and FLASH_COOKIE in request.cookies and "set-cookie" not in response.headers:
        response.delete_cookie(FLASH_COOKIE)
    if session is not None and request.state.user is None:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _session_identity(despacho: Despacho, session: BrowserSession) -> Identity | None:
    try:
        session_id = UUID(session.session_id)
    except ValueError:
        return None
    return despacho.staff.session_identity(session_id, session.user_id)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticatedError)
    async def not_authenticated(request: Request, _: NotAuthenticatedError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "Autenticación requerida"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        detail = request.app.state.pages.explain(getattr(request.state, "lang", DEFAULT_LANGUAGE), exc)
        status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, NotAllowedError) else 422
        return JSONResponse({"detail": detail}, status_code=status)

    # Starlette's class, so the router's own 404 (no such page) gets the page too, not only our raises.
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_json(request) or exc.status_code not in (403, 404):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        pages: Pages = request.app.state.pages
        message = str(exc.detail) if exc.status_code == 403 else pages.translate(
            request.state.lang, "La página que busca no existe.")
        return pages.render(request, f"errors/{exc.status_code}.html", {"message": message},
                            status_code=exc.status_code)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/webhooks/")) or \
        "application/json" in request.headers.get("accept", "")
