"""Every shipped flow's scripted conversations pass and, together, visit every state; the worked
example in docs/es/flujos-bot.md is exactly the shipped flow and tests, so the docs cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.flow_files import SHIPPED_FLOWS_DIR, SHIPPED_SCENARIOS_DIR, flow_files, read_flow, scenario_files
from adapters.flow_files.scenario_runs import run_scenario_file, states_not_visited

DOC = Path(__file__).resolve().parents[2] / "docs" / "es" / "flujos-bot.md"


@pytest.mark.parametrize("path", scenario_files(SHIPPED_SCENARIOS_DIR), ids=lambda p: p.name)
def test_scripted_conversations_pass(path: Path) -> None:
    run = run_scenario_file(path)
    failures = [f"{r.name}: {'; '.join(r.failures)}" for r in run.results if not r.passed]
    assert run.results and not failures, failures
    assert not any(states_not_visited([run]).values()), f"states no test visits: {states_not_visited([run])}"


def test_every_shipped_flow_has_scripted_conversations() -> None:
    tested = {run_scenario_file(path).flow.name for path in scenario_files(SHIPPED_SCENARIOS_DIR)}
    assert {read_flow(path).name for path in flow_files(SHIPPED_FLOWS_DIR)} <= tested


@pytest.mark.parametrize(("block", "shipped"), [("ejemplo-flujo", SHIPPED_FLOWS_DIR / "autoservicio_pagos.yaml"),
                                                ("ejemplo-pruebas", SHIPPED_SCENARIOS_DIR / "autoservicio_pagos.yaml")])
def test_the_worked_example_in_the_docs_is_the_shipped_one(block: str, shipped: Path) -> None:
    match = re.search(rf"```yaml {block}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert match, f"docs/es/flujos-bot.md has no ```yaml {block} block"
    lines = shipped.read_text(encoding="utf-8").strip().splitlines()
    while lines and lines[0].startswith("#"):  # the file's header points back to the guide
        lines.pop(0)
    assert match.group(1).strip() == "\n".join(lines).strip()
