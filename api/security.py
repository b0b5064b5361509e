"""Who is calling and what they may do.

Browsers carry a signed, HttpOnly, SameSite=Lax session cookie (Secure over HTTPS) with the
user id, the agent-session id and a CSRF token; forms and fetches must send that token back.
The cookie is written once, at login, and works only while its session is open and not idle
(`StaffService.session_identity`): logging out or expiring refuses every copy of it at once.
API clients send `Authorization: Bearer dsp_…` and need no CSRF token. Every route declares its
rule with `allow(...)`, `public()` or `twilio_signed()` — the route-permission test fails when
one does not.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.dependencies.models import Dependant
from itsdangerous import BadSignature, URLSafeSerializer

from application.staff import Identity

SESSION_COOKIE = "despacho_session"
LANGUAGE_COOKIE = "lang"
ROLES = ("admin", "supervisor", "agent", "auditor")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACCESS_MARK = "__despacho_access__"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class BrowserSession:
    user_id: str
    session_id: str
    csrf_token: str

    @classmethod
    def new(cls, user_id: str, session_id: str) -> BrowserSession:
        return cls(user_id, session_id, secrets.token_urlsafe(24))


class SessionCodec:
    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="despacho-session")

    def dumps(self, session: BrowserSession) -> str:
        return self._serializer.dumps([session.user_id, session.session_id, session.csrf_token])

    def loads(self, cookie: str | None) -> BrowserSession | None:
        if not cookie:
            return None
        try:
            user_id, session_id, csrf_token = self._serializer.loads(cookie)
        except (BadSignature, ValueError, TypeError):
            return None
        return BrowserSession(str(user_id), str(session_id), str(csrf_token))


class NotAuthenticatedError(Exception):
    """No valid session or token; pages redirect to /login, the API answers 401."""


def current_identity(request: Request) -> Identity:
    identity: Identity | None = getattr(request.state, "user", None)
    if identity is None:
        raise NotAuthenticatedError
    return identity


def allow(*roles: str) -> Callable[[Request], Awaitable[Identity]]:
    """Dependency: the caller must be signed in with one of these roles (and pass CSRF)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    async def check(request: Request) -> Identity:
        identity = current_identity(request)
        if identity.role not in roles:
            raise HTTPException(status_code=403, detail="No tiene permiso para esta acción")
        await check_csrf(request)
        return identity

    setattr(check, ACCESS_MARK, ("roles", roles))
    return check


def public() -> Callable[[], None]:
    """Dependency marking a route anyone may call (login page, health check)."""

    def check() -> None:
        return None

    setattr(check, ACCESS_MARK, ("public", ()))
    return check


def twilio_signed() -> Callable[[], Awaitable[None]]:
    """Marker for webhooks: the route validates Twilio's signature itself before anything else."""

    async def check() -> None:  # async: FastAPI would run a plain function in the thread pool, a hop for nothing
        return None

    setattr(check, ACCESS_MARK, ("twilio", ()))
    return check


def signed_link() -> Callable[[], Awaitable[None]]:
    """Marker for addresses Twilio fetches without credentials: the route verifies the link's signature and
    expiry itself (adapters/file_links.py)."""

    async def check() -> None:
        return None

    setattr(check, ACCESS_MARK, ("signed_link", ()))
    return check


async def check_csrf(request: Request) -> None:
    """Browser (cookie or anonymous) unsafe requests must echo their CSRF token; bearer calls need none."""
    if request.method in SAFE_METHODS or getattr(request.state, "auth_kind", "") not in ("cookie", "anonymous"):
        return
    expected = getattr(request.state, "csrf_token", "")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        sent = str((await request.form()).get("csrf_token", ""))
    if not expected or not secrets.compare_digest(expected, sent or ""):
        raise HTTPException(status_code=403, detail="Token CSRF inválido o ausente; recargue la página")


def declared_access(dependency: Any) -> tuple[str, tuple[str, ...]] | None:
    access: tuple[str, tuple[str, ...]] | None = getattr(dependency, ACCESS_MARK, None)
    return access


def declarations(dependant: Dependant) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every access declaration among a route's dependencies, however deep (routers add theirs)."""
    for dependency in dependant.dependencies:
        access = declared_access(dependency.call)
        if access is not None:
            yield access
        yield from declarations(dependency)
