"""Every operation of /openapi.json declares the errors it can answer, each with the body the handlers send:
401 and 403 where a role is required, 403 and 400 on Twilio's signed webhooks, 400 where a body may not parse,
404 where the path names something, 422 where there is input. Schemathesis (test_openapi_schemathesis.py) then
checks that nothing else is answered."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from api.app import create_app
from api.security import declarations
from despacho.bootstrap import Despacho
from tests.e2e.test_route_permissions import api_routes

ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
INVALID_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/InvalidInput"}}}
EXPECTED_BY_ACCESS = {"roles": {"401", "403"}, "twilio": {"400", "403"}, "public": set(), "signed_link": set()}


@pytest.fixture
def app(sqlite_despacho: Despacho) -> FastAPI:
    return create_app(sqlite_despacho)


def access_kinds(app: FastAPI) -> dict[tuple[str, str], str]:
    return {(method.lower(), str(route.path_format)): kind for route in api_routes(app) if route.include_in_schema
            for kind, _ in declarations(route.dependant) for method in route.methods or ()}


def expected_errors(path: str, operation: dict[str, Any], access: str) -> set[str]:
    expected = set(EXPECTED_BY_ACCESS[access])
    if operation.get("requestBody"):
        expected.add("400")
    if "{" in path:
        expected.add("404")
    if operation.get("parameters") or operation.get("requestBody"):
        expected.add("422")
    return expected


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, item in app.openapi()["paths"].items()
            for method, operation in item.items()]


def test_every_operation_declares_the_errors_its_route_can_answer(app: FastAPI) -> None:
    access = access_kinds(app)
    missing = {f"{method.upper()} {path}": sorted(expected_errors(path, operation, access[(method, path)])
                                                  - set(operation["responses"]))
               for method, path, operation in operations(app)}

    assert {operation: codes for operation, codes in missing.items() if codes} == {}


def test_every_declared_error_has_the_body_the_handlers_answer(app: FastAPI) -> None:
    wrong = [f"{method.upper()} {path} {status}" for method, path, operation in operations(app)
             for status, response in operation["responses"].items() if status.startswith("4")
             and response.get("content") != (INVALID_BODY if status == "422" else ERROR_BODY)]

    assert wrong == []


def test_every_operation_declares_its_success(app: FastAPI) -> None:
    without = [f"{method.upper()} {path}" for method, path, operation in operations(app)
               if not any(status.startswith("2") for status in operation["responses"])]

    assert without == []


def test_the_static_check_sees_an_undeclared_error(sqlite_despacho: Despacho) -> None:
    app = create_app(sqlite_despacho)
    operation = app.openapi()["paths"]["/api/campaigns/{campaign_id}"]["get"]
    del operation["responses"]["404"]

    with pytest.raises(AssertionError):
        test_every_operation_declares_the_errors_its_route_can_answer(app)
