"""Every endpoint of the app: who may call it, which tests exercise it, and whether those tests pass.

The route table (`app.routes`) lists everything the app serves, pages, downloads, `/live` and the
webhooks included; the OpenAPI description adds the summaries of the API routes. The access rule is
the one each route declares (`allow(...)`, `public()`, `twilio_signed()`, `signed_link()`), read
the way tests/e2e/test_route_permissions.py reads it. Tests come from the record
tests/route_record.py writes during a run (`pytest --record-routes=PATH`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from api.security import declarations

ACCESS_NAMES = {"public": "público", "twilio": "Twilio (firma)", "signed_link": "enlace firmado"}
ROLE_NAMES = {"admin": "administrador", "supervisor": "supervisor", "agent": "asesor", "auditor": "auditor"}
NOT_DECLARED = "público (fuera del modelo de permisos)"
TESTS_SHOWN = 4
FIXED_KINDS = [("/webhooks/", "webhook de Twilio"), ("/static/", "archivos estáticos"), ("/metrics", "Prometheus"),
               ("/live", "tiempo real (SSE)"), ("/docs", "documentación OpenAPI"), ("/redoc", "documentación OpenAPI"),
               ("/openapi.json", "documentación OpenAPI")]
DOWNLOAD_SUFFIXES = (".csv", ".xlsx", ".pdf")
DOWNLOAD_PARTS = ("/files/", "/attachments/", "/media/")


class State(Enum):
    IMPLEMENTED = "implementado"
    FUNCTIONAL = "funcional"
    FAILING = "con fallas"
    NO_DATA = "sin datos de pruebas"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    description: str
    access: str
    in_openapi: bool

    @property
    def kind(self) -> str:
        """What the route serves, told from where it lives (the route table has no such field)."""
        path = self.path
        for prefix, name in FIXED_KINDS:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return name
        if path.endswith(DOWNLOAD_SUFFIXES) or any(part in path for part in DOWNLOAD_PARTS):
            return "descarga"
        if self.in_openapi:
            return "API JSON"
        if "/fragments/" in path or path.endswith("/progress"):
            return "fragmento HTML"
        return "formulario" if self.method == "POST" else "página"

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class RunRecord:
    routes: dict[str, list[str]]  # "METHOD /template" → node ids
    outcomes: dict[str, str]  # node id → passed / failed / skipped

    @classmethod
    def read(cls, path: Path) -> RunRecord | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(routes=data.get("routes", {}), outcomes=data.get("outcomes", {}))

    def tests_of(self, endpoint: Endpoint) -> list[str]:
        return self.routes.get(endpoint.key, [])

    def state_of(self, endpoint: Endpoint) -> State:
        outcomes = [self.outcomes.get(test) for test in self.tests_of(endpoint)]
        if "failed" in outcomes:
            return State.FAILING
        return State.FUNCTIONAL if "passed" in outcomes else State.IMPLEMENTED


def app_endpoints(app: FastAPI) -> list[Endpoint]:
    summaries = _openapi_summaries(app)
    endpoints = []
    for route in iter_route_contexts(app.routes):
        if route.path is None:
            continue
        original = route.original_route
        if isinstance(original, Mount):
            endpoints.append(Endpoint("GET", route.path + "/{path:path}", "Archivos estáticos (CSS, JS, íconos).",
                                      NOT_DECLARED, in_openapi=False))
            continue
        in_openapi = isinstance(original, APIRoute) and original.include_in_schema
        access = _access(route.dependant) if isinstance(original, APIRoute) else NOT_DECLARED
        for method in sorted(route.methods or ()):
            if method == "HEAD" and "GET" in (route.methods or ()):
                continue  # Starlette adds HEAD to every GET
            description = (summaries.get((method, route.path)) or _first_line(route.endpoint)
                           or f"sin docstring (`{route.name}`)")
            endpoints.append(Endpoint(method, route.path, description, access, in_openapi))
    return endpoints


def _openapi_summaries(app: FastAPI) -> dict[tuple[str, str], str]:
    summaries = {}
    for path, operations in app.openapi().get("paths", {}).items():
        for method, operation in operations.items():
            text = operation.get("description") or operation.get("summary") or ""
            summaries[(method.upper(), path)] = text.strip().splitlines()[0] if text.strip() else ""
    return summaries


def _first_line(endpoint: Any) -> str:
    doc = (getattr(endpoint, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _access(dependant: Dependant) -> str:
    found = list(declarations(dependant))
    if not found:
        return "sin declarar"
    kind, roles = found[0]
    if kind == "roles":
        return ", ".join(ROLE_NAMES.get(role, role) for role in roles)
    return ACCESS_NAMES.get(kind, kind)

