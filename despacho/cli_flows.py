"""`despacho flows check` and `despacho flows test`: what operations staff run on a flow they wrote.

Both default to every flow shipped in `flows/` (and its tests in `flows/tests/`), which is what
CI runs; both exit 1 when anything is wrong. Messages are Spanish and point to file, line and
state.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from adapters.flow_files import (
    SHIPPED_FLOWS_DIR,
    SHIPPED_SCENARIOS_DIR,
    flow_files,
    label,
    scenario_files,
)
from adapters.flow_files.checking import check_file, check_files
from adapters.flow_files.scenario_runs import ScenarioFileRun, run_scenario_files, states_not_visited

PathsArgument = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


@click.group("flows")
def flows() -> None:
    """Flujos del bot: revisarlos y probarlos antes de publicarlos."""


@flows.command("check")
@PathsArgument
def check(paths: tuple[Path, ...]) -> None:
    """Revisa flujos (por defecto, todos los de flows/) y muestra cada problema."""
    files = _expand(paths, flow_files) if paths else flow_files(SHIPPED_FLOWS_DIR)
    if not files:
        _fail("No encontré archivos de flujo (.yaml) para revisar.")
    report = check_files(files)
    for checked in report.files:
        for message in checked.problems:
            click.echo(message)
        if checked.flow is not None and not checked.problems:
            click.echo(f"{checked.label}: sin problemas ({checked.flow.name}, versión {checked.flow.version}, "
                       f"{len(checked.flow.states)} estados)")
    for message in report.set_problems:
        click.echo(message)
    click.echo(f"{report.problem_count} problema(s) en {len(files)} archivo(s) de flujo.")
    if report.problem_count:
        sys.exit(1)


@flows.command("test")
@PathsArgument
def test(paths: tuple[Path, ...]) -> None:
    """Corre las conversaciones de prueba (por defecto, todas las de flows/tests/)."""
    files = _expand(paths, scenario_files) if paths else scenario_files(SHIPPED_SCENARIOS_DIR)
    if not files:
        _fail("No encontré archivos de prueba (.yaml) para correr.")
    report = run_scenario_files(files)
    for message in report.unrunnable:
        click.echo(message)
    failures = len(report.unrunnable) + sum(_report_run(run) for run in report.runs)
    failures += _report_coverage(list(report.runs), check_untested=not paths)
    total = sum(len(run.results) for run in report.runs)
    click.echo(f"{total} escenario(s), {failures} problema(s).")
    if failures:
        sys.exit(1)


def _report_run(run: ScenarioFileRun) -> int:
    click.echo(f"{label(run.path)} (flujo {run.flow.name}, versión {run.flow.version})")
    for result in run.results:
        click.echo(f"  {'bien' if result.passed else 'FALLA'}: {result.name}")
        for failure in result.failures:
            click.echo(f"      {failure}")
    return len(run.failed)


def _report_coverage(runs: list[ScenarioFileRun], *, check_untested: bool) -> int:
    problems = 0
    for (name, version), states in states_not_visited(runs).items():
        if states:
            problems += 1
            click.echo(f"El flujo {name} (versión {version}) tiene estados que ninguna prueba visita: "
                       + ", ".join(states))
    if check_untested:
        tested = {run.flow.name for run in runs}
        for path in flow_files(SHIPPED_FLOWS_DIR):
            flow = check_file(path).flow
            if flow is not None and flow.name not in tested:
                problems += 1
                click.echo(f"El flujo {flow.name} ({label(path)}) no tiene pruebas en {label(SHIPPED_SCENARIOS_DIR)}.")
    return problems


def _expand(paths: tuple[Path, ...], files_in: Callable[[Path], list[Path]]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found += files_in(path) if path.is_dir() else [path]
    return found


def _fail(message: str) -> None:
    click.echo(message)
    sys.exit(1)
