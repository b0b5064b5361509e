"""Login and logout for browsers, bearer tokens for API clients, language preference."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import LoginsDep, PagesDep, StaffDep
from api.security import LANGUAGE_COOKIE, SESSION_COOKIE, BrowserSession, allow, check_csrf, current_identity, public
from application.logins import LoginRefusedError, LoginThrottledError
from application.staff import Identity, StaffService

router = APIRouter(tags=["auth"])
EVERYONE = ("admin", "supervisor", "agent", "auditor")


def set_session_cookie(request: Request, response: Response, session: BrowserSession) -> None:
    response.set_cookie(SESSION_COOKIE, request.app.state.sessions.dumps(session), httponly=True,
                        samesite="lax", secure=request.app.state.secure_cookies, path="/")


@router.get("/login", dependencies=[Depends(public())], include_in_schema=False)
def login_page(request: Request, pages: PagesDep, next: str = "/") -> Response:
    if getattr(request.state, "user", None) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return pages.render(request, "login.html", {"error": None, "next": _safe_next(next)})


@router.post("/login", dependencies=[Depends(public())], include_in_schema=False)
async def login(request: Request, logins: LoginsDep, pages: PagesDep, login: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    await check_csrf(request)
    try:  # argon2 is deliberately slow: off the event loop
        signed_in = await run_in_threadpool(logins.log_in, login, password,
                                            client_address=request.client.host if request.client else "",
                                            client=request.headers.get("user-agent", ""))
    except LoginThrottledError as throttled:
        minutes = math.ceil(throttled.seconds / 60)
        message = pages.translate(
            request.state.lang, "Demasiados intentos fallidos. Espere %(minutes)s min y vuelva a intentarlo.",
            minutes=minutes)
        refused = pages.render(request, "login.html", {"error": message, "next": _safe_next(next)}, status_code=429)
        refused.headers["Retry-After"] = str(math.ceil(throttled.seconds))
        return refused
    except LoginRefusedError:
        message = pages.translate(request.state.lang, "Usuario o contraseña incorrectos")
        return pages.render(request, "login.html", {"error": message, "next": _safe_next(next)}, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, BrowserSession.new(signed_in.identity.id, str(signed_in.session_id)))
    return response


def close_own_session(request: Request, staff: StaffService) -> None:
    identity = current_identity(request)
    session_id = request.state.session_id
    if session_id:
        staff.close_session(UUID(session_id), "logout", actor=f"user:{identity.id}")


@router.post("/logout", dependencies=[Depends(allow(*EVERYONE))], include_in_schema=False)
def logout(request: Request, staff: StaffDep) -> Response:
    close_own_session(request, staff)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/api/auth/logout", status_code=204, dependencies=[Depends(allow(*EVERYONE))])
def logout_json(request: Request, staff: StaffDep) -> Response:
    """Close the session the call came through (a browser's, or an agent token's: that token is refused after)."""
    close_own_session(request, staff)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/api/sessions/heartbeat", status_code=204, dependencies=[Depends(allow(*EVERYONE))])
def heartbeat() -> Response:
    """A Despacho tab is still open: the request itself keeps the caller's session alive (401 once it closed)."""
    return Response(status_code=204)


@router.post("/preferences/language", dependencies=[Depends(public())], include_in_schema=False)
async def set_language(request: Request, staff: StaffDep, lang: Annotated[str, Form()] = "es",
                       next: Annotated[str, Form()] = "/") -> Response:
    """Remember the choice in this browser and, for a signed-in user, on their account."""
    await check_csrf(request)
    language = "en" if lang == "en" else "es"
    identity: Identity | None = getattr(request.state, "user", None)
    if identity is not None:
        await run_in_threadpool(staff.choose_language, UUID(identity.id), language, actor=f"user:{identity.id}")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, samesite="lax", max_age=365 * 86400,
                        secure=request.app.state.secure_cookies)
    return response


class TokenCreate(BaseModel):
    label: str = Field(min_length=1, max_length=80, description="What the token is for, e.g. 'equipo de datos'")


class TokenPublic(BaseModel):
    token: str
    note: str = "Guárdelo ahora: no se vuelve a mostrar."


class MePublic(BaseModel):
    id: str
    login: str
    name: str
    role: str
    campaigns: list[str]


@router.post("/api/auth/tokens", response_model=TokenPublic, status_code=201)
def create_token(body: TokenCreate, staff: StaffDep,
                 identity: Annotated[Identity, Depends(allow(*EVERYONE))]) -> TokenPublic:
    """Issue a bearer token for the caller (API clients, the data team)."""
    return TokenPublic(token=staff.issue_token(UUID(identity.id), body.label, actor=f"user:{identity.id}"))


@router.get("/api/me", response_model=MePublic)
def me(identity: Annotated[Identity, Depends(allow(*EVERYONE))]) -> MePublic:
    """Who the caller is."""
    return MePublic(id=identity.id, login=identity.login, name=identity.name, role=identity.role,
                    campaigns=sorted(identity.campaigns))


def _safe_next(target: str) -> str:
    """Only same-site paths: an attacker's `next=https://evil` must not become an open redirect."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


