"""Every route says who may call it: exactly one of allow(...), public() or twilio_signed().

A route added without a declaration, or with two, fails here with its method and path. Routes
that are not the API's own (static files, the OpenAPI pages) are listed explicitly, and so are
the few routes anybody may call.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from api.app import create_app
from api.security import declarations
from despacho.bootstrap import Despacho

NOT_API_ROUTES = {"/static", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}
PUBLIC_ROUTES = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"), ("POST", "/preferences/language")}


@pytest.fixture
def app(sqlite_despacho: Despacho) -> FastAPI:
    return create_app(sqlite_despacho)



def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route as the app serves it (path and dependencies include what routers add)."""
    return [route for route in iter_route_contexts(app.routes) if isinstance(route.original_route, APIRoute)]


def described(route: RouteContext) -> str:
    return f"{','.join(sorted(route.methods or ()))} {route.path}"


def test_every_route_is_an_api_route_or_explicitly_known(app: FastAPI) -> None:
    unknown = [route.path or repr(route.original_route) for route in iter_route_contexts(app.routes)
               if not isinstance(route.original_route, APIRoute) and route.path not in NOT_API_ROUTES]

    assert unknown == [], f"routes outside the permission model: {unknown}"


def test_every_api_route_declares_exactly_one_access_rule(app: FastAPI) -> None:
    wrong = {described(route): list(declarations(route.dependant)) for route in api_routes(app)}
    wrong = {route: found for route, found in wrong.items() if len(found) != 1}

    assert wrong == {}, f"routes without exactly one of allow()/public()/twilio_signed(): {wrong}"


def test_only_the_known_routes_are_public(app: FastAPI) -> None:
    public = {(method, route.path) for route in api_routes(app)
              if any(kind == "public" for kind, _ in declarations(route.dependant))
              for method in route.methods or ()}

    assert public - PUBLIC_ROUTES == set(), "routes anybody may call without signing in"
    assert public >= PUBLIC_ROUTES, "the login page, health check and language switch must stay reachable"


def test_the_check_itself_sees_a_route_without_a_declaration(sqlite_despacho: Despacho) -> None:
    app = create_app(sqlite_despacho)

    @app.get("/api/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    [route] = [r for r in api_routes(app) if r.path == "/api/forgotten"]
    assert list(declarations(route.dependant)) == []
