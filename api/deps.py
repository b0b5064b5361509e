"""Request-scoped dependencies as `Annotated` aliases, the way routers ask for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.templating import Pages
from despacho.bootstrap import Despacho


def get_despacho(request: Request) -> Despacho:
    despacho: Despacho = request.app.state.despacho
    return despacho


def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


DespachoDep = Annotated[Despacho, Depends(get_despacho)]
PagesDep = Annotated[Pages, Depends(get_pages)]
