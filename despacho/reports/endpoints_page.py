"""docs/endpoints.md: the endpoint inventory as a Spanish markdown page, one table per area."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

from despacho.reports.endpoints import TESTS_SHOWN, Endpoint, RunRecord, State

HEADER = """# Endpoints de Despacho

Generado con `despacho report endpoints` a partir de la tabla de rutas de la aplicación
(`app.routes`: páginas, descargas, `/live` y webhooks incluidos), de su descripción OpenAPI y del
registro de la última corrida de pruebas (`make test` lo deja en `{record}`). No lo edite a mano.

Estados: **implementado** (ninguna prueba automática lo ejercita), **funcional** (lo ejercitan
pruebas y todas pasaron), **con fallas** (falló al menos una prueba que lo ejercita).
Las descripciones son el resumen OpenAPI o el docstring de cada ruta, tal como están en el código
(en inglés); el tipo se deduce de la ruta. «API JSON» son las rutas de la descripción OpenAPI.
"""
NO_RECORD = ("**Sin datos de pruebas:** no se encontró el registro `{record}`; corra `make test` "
             "(o `pytest --record-routes={record}`) y vuelva a generar este informe.")
COLUMNS = "| Método | Ruta | Descripción | Tipo | Quién puede llamarla | Pruebas que la ejercitan | Estado |"
RULE = "|---|---|---|---|---|---|---|"


def endpoints_markdown(endpoints: list[Endpoint], record: RunRecord | None, record_name: str) -> str:
    lines = [HEADER.format(record=record_name), _summary(endpoints, record, record_name), ""]
    ordered = sorted(endpoints, key=lambda endpoint: (_area(endpoint), endpoint.path, endpoint.method))
    for area, members in groupby(ordered, key=_area):
        lines += [f"## {area}", "", COLUMNS, RULE]
        lines += [_row(endpoint, record) for endpoint in members]
        lines.append("")
    return "\n".join(lines)


def _summary(endpoints: list[Endpoint], record: RunRecord | None, record_name: str) -> str:
    if record is None:
        return f"{len(endpoints)} endpoints.\n\n" + NO_RECORD.format(record=record_name)
    states = Counter(record.state_of(endpoint) for endpoint in endpoints)
    outcomes = Counter(record.outcomes.values())
    return (f"{len(endpoints)} endpoints: {states[State.FUNCTIONAL]} funcionales, "
            f"{states[State.FAILING]} con fallas, {states[State.IMPLEMENTED]} implementados sin prueba que los "
            f"ejercite.\n\nCorrida registrada: {len(record.outcomes)} pruebas ({outcomes['passed']} pasaron, "
            f"{outcomes['failed']} fallaron, {outcomes['skipped']} omitidas).")


def _area(endpoint: Endpoint) -> str:
    parts = [part for part in endpoint.path.split("/") if part and not part.startswith("{")]
    if not parts:
        return "/"
    depth = 2 if parts[0] in ("api", "admin") and len(parts) > 1 else 1
    return "/" + "/".join(parts[:depth])


def _row(endpoint: Endpoint, record: RunRecord | None) -> str:
    state = State.NO_DATA if record is None else record.state_of(endpoint)
    tests = "—" if record is None else _tests_cell(record.tests_of(endpoint))
    shown_state = f"**{state.value}**" if state is State.FAILING else state.value
    cells = [endpoint.method, f"`{endpoint.path}`", endpoint.description, endpoint.kind, endpoint.access, tests,
             shown_state]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _tests_cell(node_ids: list[str]) -> str:
    """Tests by function (one parametrized test once), the first few named, the rest counted."""
    functions = sorted({node_id.split("[", 1)[0] for node_id in node_ids})
    if not functions:
        return "—"
    shown = ", ".join(f"`{function}`" for function in functions[:TESTS_SHOWN])
    rest = len(functions) - TESTS_SHOWN
    return shown + (f" y {rest} más" if rest > 0 else "")
