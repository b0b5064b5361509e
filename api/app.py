"""The FastAPI application: thin routers over the use cases, built around one `Despacho`."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeSerializer
from starlette.exceptions import HTTPException

from api.authentication import Authentication
from api.error_responses import describe_errors
from api.routers import (
    admin_agents,
    admin_campaigns,
    admin_canned_replies,
    admin_flows,
    admin_portfolios,
    alerts,
    attachments,
    attendance,
    audit,
    auth,
    broadcasts,
    campaigns,
    chats,
    dashboard,
    desk,
    health,
    live,
    message_audit,
    metrics,
    portfolios,
    prometheus,
    risk,
    search,
    simulator,
    staff,
    supervisor,
    time_machine,
    webhooks,
)
from api.security import NotAuthenticatedError, SessionCodec
from api.templating import DEFAULT_LANGUAGE, Pages
from despacho.assets import static_fingerprint
from despacho.bootstrap import Despacho
from domain.common import DomainError, NotAllowedError, NotFoundError

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"


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
    # Twilio's webhooks first: the busiest routes, matched before the hundred others are tried.
    for router in (webhooks.router, health.router, prometheus.router, auth.router, dashboard.router, audit.router,
                   live.router, campaigns.router, staff.router):
        app.include_router(router)
    for router in (portfolios.router, admin_campaigns.router, admin_agents.router, admin_portfolios.router,
                   admin_flows.router, admin_canned_replies.router):
        app.include_router(router)
    for router in (desk.router, chats.router, supervisor.router, simulator.router, alerts.router,
                   message_audit.router, attendance.router, metrics.router, risk.router, attachments.router,
                   search.router, broadcasts.router, time_machine.router):
        app.include_router(router)
    app.add_middleware(Authentication, staff=despacho.staff)
    _install_error_handlers(app)
    describe_errors(app)
    return app


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
        # Paths the authentication passes straight through (static files, Twilio's fetches) have no page to show.
        if _wants_json(request) or exc.status_code not in (403, 404) or not hasattr(request.state, "lang"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        pages: Pages = request.app.state.pages
        message = str(exc.detail) if exc.status_code == 403 else pages.translate(
            request.state.lang, "La página que busca no existe.")
        return pages.render(request, f"errors/{exc.status_code}.html", {"message": message},
                            status_code=exc.status_code)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/webhooks/", "/metrics")) or \
        "application/json" in request.headers.get("accept", "")
