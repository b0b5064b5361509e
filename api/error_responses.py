"""The error responses each operation of /openapi.json declares, read from the same facts that produce them.

An `allow(...)` route answers 401 without a valid token or session and 403 to another role (or without its CSRF
token); a Twilio webhook answers 403 to a bad signature and 400 to a form without its identifiers; a body FastAPI
cannot parse answers 400; a path with an id answers 404 when nothing visible has that id; and any input, or any
rule the use case checks, can answer 422, as FastAPI's list of refused fields or as the domain's one sentence
(api/app.py's handlers). Declaring them here, from the route table, keeps every new route's description honest
without each router repeating it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.security import declarations


class Problem(BaseModel):
    """An error: one sentence for the person who caused it."""

    detail: str


class FieldProblem(BaseModel):
    """One input FastAPI refused: where it was, what was wrong."""

    loc: list[str | int]
    msg: str
    type: str


class InvalidInput(BaseModel):
    """A 422: the inputs FastAPI refused, or the one sentence of the rule the request broke."""

    detail: str | list[FieldProblem]


SCHEMAS_PATH = "#/components/schemas/{model}"
SIGNED_IN = {"401": "Sin token ni sesión válidos",
             "403": "El rol del usuario no puede hacer esto, o falta el token CSRF"}
TWILIO = {"400": "Faltan los identificadores del mensaje", "403": "Firma de Twilio inválida"}
UNREADABLE = "El cuerpo no se pudo leer (JSON o formulario mal formado)"
NOT_FOUND = "No existe, o el usuario no puede verlo"
INVALID = "Datos inválidos, o una regla del negocio no permite la acción"


def describe_errors(app: FastAPI) -> None:
    """Make `app.openapi()` include each operation's error responses (built once, like FastAPI's own)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            app.openapi_schema = with_error_responses(document, _access_by_operation(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_error_responses(document: dict[str, Any], access: dict[tuple[str, str], str]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_error_schemas())
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status, description in _errors_of(path, operation, access.get((method.upper(), path))):
                responses.setdefault(status, {"description": description})
            # A route's own description stays; the body is always the one the handlers answer.
            for status, declared in responses.items():
                if status.startswith("4"):
                    model = "InvalidInput" if status == "422" else "Problem"
                    declared["content"] = {"application/json": {"schema": {"$ref": SCHEMAS_PATH.format(model=model)}}}
    return document


def _errors_of(path: str, operation: dict[str, Any], kind: str | None) -> list[tuple[str, str]]:
    declared = {**(SIGNED_IN if kind == "roles" else TWILIO if kind == "twilio" else {})}
    if operation.get("requestBody"):
        declared["400"] = UNREADABLE
    if "{" in path:
        declared["404"] = NOT_FOUND
    # FastAPI declares a 422 (its list of fields only) wherever there is input; the domain's sentence is one too.
    if "422" in operation["responses"] or operation.get("parameters") or operation.get("requestBody"):
        declared["422"] = INVALID
    return sorted(declared.items())


def _error_schemas() -> dict[str, Any]:
    _, definitions = models_json_schema([(Problem, "serialization"), (InvalidInput, "serialization")],
                                        ref_template=SCHEMAS_PATH)
    schemas: dict[str, Any] = definitions["$defs"]
    return schemas


def _access_by_operation(app: FastAPI) -> dict[tuple[str, str], str]:
    """(METHOD, path) → the kind of access rule its route declares (`roles`, `twilio`, `public`…)."""
    access: dict[tuple[str, str], str] = {}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        kinds = [kind for kind, _ in declarations(route.dependant)]
        for method in route.methods or ():
            access[(method, str(route.path_format))] = kinds[0] if kinds else ""
    return access


