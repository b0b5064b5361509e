"""The design card's layering, checked on the source: domain/ is pure Python (plus the eventsourcing
aggregate base), application/ never reaches for frameworks or adapters (file readers come in through ports),
nothing below the API imports it, and the workers never reach back to the composition root that wires them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"fastapi", "starlette", "sqlalchemy", "psycopg", "twilio", "dramatiq", "redis", "jinja2", "xhtml2pdf",
              "httpx", "uvicorn", "openpyxl", "boto3"}
FORBIDDEN = {
    "domain": FRAMEWORKS | {"application", "adapters", "api", "projections", "workers", "despacho"},
    "application": FRAMEWORKS | {"adapters", "api", "projections", "workers", "despacho"},
    "projections": {"fastapi", "starlette", "twilio", "dramatiq", "api", "workers", "despacho"},
    "adapters": {"api", "workers", "despacho"},
    "api": {"workers"},
    "workers": {"fastapi", "starlette", "api", "despacho"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_it_must_not(layer: str) -> None:
    offenders = {str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[layer])
                 for path in (ROOT / layer).rglob("*.py")}
    assert not {path: names for path, names in offenders.items() if names}


ENQUEUEING = {"actors", "broker", "import_portfolio", "send_with_options"}


def test_no_route_enqueues_work_after_a_save() -> None:
    """What follows a save is the event-log follower's decision: routes never reach for an actor or a broker."""
    offenders = []
    for path in (ROOT / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ENQUEUEING:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert offenders == []


COMPOSITION_ROOT_NAMES = {"Despacho", "DespachoDep"}
KNOW_THE_COMPOSITION_ROOT = {"api/app.py", "api/deps.py"}


def composition_root_references(source: str) -> list[str]:
    """Where a module reaches for the whole `Despacho` instead of the services it uses (api/deps.py)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "despacho.bootstrap":
            found.append(f"{node.lineno} imports despacho.bootstrap")
        elif isinstance(node, ast.Name) and node.id in COMPOSITION_ROOT_NAMES:
            found.append(f"{node.lineno} {node.id}")
        elif isinstance(node, ast.Constant) and node.value in COMPOSITION_ROOT_NAMES:  # a quoted annotation
            found.append(f"{node.lineno} '{node.value}'")
        elif isinstance(node, ast.Attribute) and node.attr == "despacho":
            found.append(f"{node.lineno} .despacho")
    return found


def test_routers_take_the_services_they_use_not_the_whole_despacho() -> None:
    offenders = {}
    for path in (ROOT / "api").rglob("*.py"):
        name = str(path.relative_to(ROOT))
        if name not in KNOW_THE_COMPOSITION_ROOT:
            offenders[name] = composition_root_references(path.read_text(encoding="utf-8"))
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize("source", [
    "from despacho.bootstrap import build\n",
    "def route(despacho: DespachoDep) -> None: ...\n",
    "def helper(despacho: 'Despacho') -> None: ...\n",
    "engine = request.app.state.despacho.read_engine\n",
])
def test_the_composition_root_check_sees_each_way_of_reaching_for_it(source: str) -> None:
    assert composition_root_references(source) != []
