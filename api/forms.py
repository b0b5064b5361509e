"""How a server-rendered form ends: a refusal goes back with its reason, a success waits for the read
side (so the next page shows the change) and goes on with a confirmation."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.chat_access import see_own_writes
from api.flash import redirect_with_flash
from api.templating import Pages
from domain.common import DomainError
from projections.runner import ProjectionRunner


def form_outcome(request: Request, projections: ProjectionRunner, pages: Pages, command: Callable[[], object], *,
                 back: str, success: str, then: str | None = None, projectors: tuple[str, ...] = ()) -> Response:
    """Run `command`; on a domain refusal return to `back` with the reason, otherwise to `then` (or `back`)."""
    try:
        command()
    except DomainError as exc:
        return redirect_with_flash(request, back, "error", pages.explain(request.state.lang, exc))
    return redirect_once_seen(request, projections, then or back, pages.translate(request.state.lang, success),
                              projectors)


def redirect_once_seen(request: Request, projections: ProjectionRunner, url: str, message: str,
                       projectors: tuple[str, ...]) -> RedirectResponse:
    """A success's redirect, once the read tables of `projectors` show it (or the page after would not)."""
    see_own_writes(projections, *projectors)
    return redirect_with_flash(request, url, "success", message)
