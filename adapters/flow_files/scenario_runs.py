"""Run flow test files and gather which states of each flow they visited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from adapters.flow_files import FlowFileError, FlowNotFoundError, flow_for_scenarios, label, read_scenarios
from domain.flows import Flow, ScenarioResult, run_scenario


@dataclass(frozen=True)
class ScenarioFileRun:
    path: Path
    flow: Flow
    results: tuple[ScenarioResult, ...]

    @property
    def failed(self) -> list[ScenarioResult]:
        return [result for result in self.results if not result.passed]


def run_scenario_file(path: Path) -> ScenarioFileRun:
    """Raises FlowFileError or FlowNotFoundError when the file or its flow cannot be read."""
    scenarios = read_scenarios(path)
    flow = flow_for_scenarios(path, scenarios)
    return ScenarioFileRun(path, flow, tuple(run_scenario(flow, scenario) for scenario in scenarios.scenarios))


def states_not_visited(runs: Iterable[ScenarioFileRun]) -> dict[tuple[str, int], list[str]]:
    """Per flow (name, version), the states no scenario entered, in the order the flow lists them."""
    flows: dict[tuple[str, int], Flow] = {}
    visited: dict[tuple[str, int], set[str]] = {}
    for run in runs:
        key = (run.flow.name, run.flow.version)
        flows[key] = run.flow
        visited.setdefault(key, set()).update(*(result.visited_states for result in run.results))
    return {key: [name for name in flow.states if name not in visited[key]] for key, flow in flows.items()}


@dataclass(frozen=True)
class FlowsTest:
    """`despacho flows test` over some files: each file's run, and the files that could not be run, with why."""

    runs: tuple[ScenarioFileRun, ...]
    unrunnable: tuple[str, ...]

    def runs_of(self, flow_name: str) -> list[ScenarioFileRun]:
        return [run for run in self.runs if run.flow.name == flow_name]

    def untested_states(self) -> dict[tuple[str, int], list[str]]:
        return {key: states for key, states in states_not_visited(self.runs).items() if states}


def run_scenario_files(paths: Iterable[Path]) -> FlowsTest:
    runs, unrunnable = [], []
    for path in paths:
        try:
            runs.append(run_scenario_file(path))
        except (FlowFileError, FlowNotFoundError) as exc:
            unrunnable.append(str(exc) or label(path))
    return FlowsTest(tuple(runs), tuple(unrunnable))
