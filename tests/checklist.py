"""Reads docs/es/checklist-pruebas.md and finds what no longer holds: every case names tests that exist.

The checklist is a markdown table per module under a heading `## Nombre (PREFIJO)`; each row is
`| PREFIJO-NN | what is checked | `tests/…py::test_name` … |`. The test names are checked
statically with `ast` (no pytest collection): a module-level `test…` function, a method of a
`Test…` class, or a `Test…` name assigned at module level (Hypothesis' stateful TestCase).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "docs" / "es" / "checklist-pruebas.md"
REQUIRED_MODULES = {
    "CAM": "campañas", "CAR": "cargas de cartera", "ASE": "asesores", "SES": "sesiones y asistencia",
    "BOT": "bot", "ASG": "asignación", "ESC": "escritorio del asesor", "ENV": "envío de mensajes",
    "AUD": "auditoría de entregas", "ALE": "alertas", "CIE": "cierre", "MET": "métricas",
    "RIE": "riesgo de bloqueo", "DIF": "difusiones", "SUP": "supervisión", "BUS": "búsqueda",
    "TIE": "auditoría en el tiempo",
}
HEADING = re.compile(r"^##\s+(?P<name>.+?)\s+\((?P<prefix>[A-Z]+)\)\s*$")
CASE_ROW = re.compile(r"^\|\s*(?P<id>[A-Z]+-\d+)\s*\|(?P<what>[^|]*)\|(?P<tests>.*)\|\s*$")
TEST_ID = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Case:
    id: str
    module: str  # the prefix of the heading it is listed under
    what: str
    tests: tuple[str, ...]
    line: int


def parse(text: str) -> list[Case]:
    cases, module = [], ""
    for number, line in enumerate(text.splitlines(), start=1):
        heading = HEADING.match(line)
        if heading:
            module = heading["prefix"]
            continue
        row = CASE_ROW.match(line)
        if row:
            cases.append(Case(row["id"], module, row["what"].strip(), tuple(TEST_ID.findall(row["tests"])), number))
    return cases


def problems(cases: list[Case], root: Path = ROOT, required: dict[str, str] = REQUIRED_MODULES) -> list[str]:
    found = [f"{case.id} (línea {case.line}): no nombra ninguna prueba" for case in cases if not case.tests]
    found += [f"{case.id} (línea {case.line}): {problem}" for case in cases for test in case.tests
              if (problem := missing_test(root, test))]
    found += [f"{case_id}: id repetido" for case_id, count in Counter(c.id for c in cases).items() if count > 1]
    found += [f"{case.id} (línea {case.line}): está bajo el módulo {case.module or 'ninguno'}, no {prefix}"
              for case in cases if (prefix := case.id.split("-")[0]) != case.module]
    modules = {case.module for case in cases}
    found += [f"módulo {prefix} ({name}) sin casos" for prefix, name in required.items() if prefix not in modules]
    return found


def missing_test(root: Path, node_id: str) -> str | None:
    """Why `path::name` (or `path::Class::method`, parameters ignored) names no test, or None when it does."""
    path, _, name = node_id.partition("::")
    if not name:
        return f"`{node_id}` no es un id de prueba (ruta::nombre)"
    file = root / path
    if not file.is_file():
        return f"el archivo de prueba `{path}` no existe"
    parts = name.split("[", 1)[0].split("::")
    functions, classes, assigned = test_names(file)
    if len(parts) == 1 and parts[0] in functions:
        return None
    if len(parts) == 2 and (parts[1] in classes.get(parts[0], ()) or parts[0] in assigned):
        return None
    return f"la prueba `{node_id}` no existe"


@cache
def test_names(file: Path) -> tuple[frozenset[str], dict[str, frozenset[str]], frozenset[str]]:
    tree = ast.parse(file.read_text(encoding="utf-8"))
    functions = frozenset(node.name for node in tree.body
                          if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"))
    classes = {node.name: frozenset(item.name for item in node.body
                                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef))
               for node in tree.body if isinstance(node, ast.ClassDef) and node.name.startswith("Test")}
    assigned = frozenset(target.id for node in tree.body if isinstance(node, ast.Assign)
                         for target in node.targets if isinstance(target, ast.Name) and target.id.startswith("Test"))
    return functions, classes, assigned
