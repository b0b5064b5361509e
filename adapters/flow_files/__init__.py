"""Bot flows and their tests as YAML files: reading, writing, and the flows shipped in `flows/`.

A flow file holds one version of one flow (`nombre`, `version`). Campaigns name a flow and get
its latest version; a chat keeps the version it started with (`BotState.flow_version`), which
`FlowCatalog.get(name, version)` finds again. Flow tests live in `flows/tests/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from adapters.flow_files.flow_document import flow_from_document
from adapters.flow_files.flow_writing import flow_to_document
from adapters.flow_files.scenario_document import ScenarioFile, scenarios_from_document
from adapters.flow_files.yaml_text import FlowFileError, FlowLines, dump_yaml, flow_lines, load_yaml
from domain.flows import Flow

SHIPPED_FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
SHIPPED_SCENARIOS_DIR = SHIPPED_FLOWS_DIR / "tests"
FLOW_FILE_SUFFIXES = (".yaml", ".yml")

__all__ = [
    "SHIPPED_FLOWS_DIR",
    "SHIPPED_SCENARIOS_DIR",
    "FlowCatalog",
    "FlowFileError",
    "FlowLines",
    "FlowNotFoundError",
    "ScenarioFile",
    "flow_files",
    "flow_for_scenarios",
    "flow_lines",
    "flow_to_yaml",
    "label",
    "parse_flow",
    "parse_scenarios",
    "read_flow",
    "read_scenarios",
    "read_text",
    "scenario_files",
]


class FlowNotFoundError(LookupError):
    """No flow with that name (and version); the message is Spanish."""


def parse_flow(text: str, source: str = "") -> Flow:
    """A flow from YAML text (a file's content, or a flow stored through the API)."""
    return flow_from_document(load_yaml(text, source), source, flow_lines(text))


def flow_to_yaml(flow: Flow) -> str:
    return dump_yaml(flow_to_document(flow))


def parse_scenarios(text: str, source: str = "") -> ScenarioFile:
    return scenarios_from_document(load_yaml(text, source), source)


def read_flow(path: Path) -> Flow:
    return parse_flow(read_text(path), label(path))


def read_scenarios(path: Path) -> ScenarioFile:
    return parse_scenarios(read_text(path), label(path))


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FlowFileError([f"{label(path)}: el archivo no está guardado en UTF-8."]) from exc
    except OSError as exc:
        raise FlowFileError([f"{label(path)}: no se pudo abrir ({exc.strerror})."]) from exc


def label(path: Path) -> str:
    """The path as people see it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def flow_files(directory: Path = SHIPPED_FLOWS_DIR) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in FLOW_FILE_SUFFIXES)


def scenario_files(directory: Path = SHIPPED_SCENARIOS_DIR) -> list[Path]:
    return flow_files(directory) if directory.is_dir() else []


class FlowCatalog:
    """Every version of every flow in a set of files, by name."""

    def __init__(self, flows: Iterable[Flow]) -> None:
        self._flows: dict[tuple[str, int], Flow] = {}
        for flow in flows:
            if (flow.name, flow.version) in self._flows:
                raise FlowFileError([f"Hay dos archivos con el flujo '{flow.name}' versión {flow.version}."])
            self._flows[(flow.name, flow.version)] = flow

    @classmethod
    def from_directory(cls, directory: Path = SHIPPED_FLOWS_DIR) -> FlowCatalog:
        problems: list[str] = []
        flows = []
        for path in flow_files(directory):
            try:
                flows.append(read_flow(path))
            except FlowFileError as exc:
                problems += exc.problems
        if problems:
            raise FlowFileError(problems)
        return cls(flows)

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._flows})

    def versions(self, name: str) -> list[int]:
        return sorted(version for flow_name, version in self._flows if flow_name == name)

    def latest(self, name: str) -> Flow:
        versions = self.versions(name)
        if not versions:
            raise FlowNotFoundError(f"No existe el flujo '{name}'.")
        return self._flows[(name, versions[-1])]

    def get(self, name: str, version: int) -> Flow:
        if (name, version) not in self._flows:
            raise FlowNotFoundError(f"No existe la versión {version} del flujo '{name}'.")
        return self._flows[(name, version)]


def flow_for_scenarios(path: Path, scenarios: ScenarioFile) -> Flow:
    """The flow a test file names: a file beside it, or by name in the flows folder above or beside it."""
    reference = scenarios.flow_reference
    if reference.endswith(FLOW_FILE_SUFFIXES):
        return read_flow(path.parent / reference)
    candidates = []
    for directory in dict.fromkeys([path.parent.parent, path.parent]):
        for flow_path in flow_files(directory):
            if flow_path.resolve() == path.resolve():
                continue
            try:
                flow = read_flow(flow_path)
            except FlowFileError:
                if flow_path.stem == reference:
                    raise
                continue
            if flow.name == reference:
                candidates.append(flow)
    if not candidates:
        raise FlowNotFoundError(f"{label(path)}: no encuentro el flujo '{reference}' en "
                                f"{label(path.parent.parent)} ni en {label(path.parent)}.")
    return max(candidates, key=lambda flow: flow.version)
