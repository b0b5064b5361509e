"""One-shot messages shown on the next page (after a redirect), in a signed cookie."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

FLASH_COOKIE = "despacho_flash"
CATEGORIES = ("success", "info", "warning", "error")


def redirect_with_flash(request: Request, url: str, category: str, message: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    add_flash(request, response, category, message)
    return response


def add_flash(request: Request, response: Response, category: str, message: str) -> None:
    serializer: URLSafeSerializer = request.app.state.flash_serializer
    pending = [*read_flashes(request, consume=False), (category if category in CATEGORIES else "info", message)]
    response.set_cookie(FLASH_COOKIE, serializer.dumps(pending[-5:]), httponly=True, samesite="lax",
                        secure=request.app.state.secure_cookies)


def read_flashes(request: Request, *, consume: bool = True) -> list[tuple[str, str]]:
    serializer: URLSafeSerializer = request.app.state.flash_serializer
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        return [(str(c), str(m)) for c, m in serializer.loads(raw)]
    except (BadSignature, ValueError, TypeError):
        return []
