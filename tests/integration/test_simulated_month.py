"""`despacho simulate month` on one small simulated day (SQLite): the realistic mix really happened, the log it
leaves passes the routing audit and rebuilds into the same read tables, and the same seed gives the same run."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from despacho.cli import main
from despacho.settings import Settings
from despacho.simulation.month import MonthPlan, simulate_month
from despacho.simulation.people import PERSONAS

PLAN = MonthPlan(seed=11, days=1, campaigns=2, agents=4, customers_per_day=24, transcripts=False)


def run(var_dir: Path) -> dict[str, Any]:
    return simulate_month(PLAN, Settings(var_dir=var_dir))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    first = tmp_path_factory.mktemp("first")
    return first, run(first), run(tmp_path_factory.mktemp("second"))


def test_the_same_seed_gives_the_same_summary(runs: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, first, second = runs

    assert first == second


def test_a_simulated_day_has_every_kind_of_event(runs: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, summary, _ = runs
    chats, simulated = summary["chats"], summary["simulated"]

    assert {f"persona_{name}" for name, _ in PERSONAS} <= set(simulated)
    assert chats["total"] >= PLAN.customers_per_day
    assert chats["bot_drop_outs"] > 0
    assert chats["closes_by_reason"].keys() >= {"agent", "auto_24h", "opt_out"}
    assert len(chats["dispositions"]) >= 2
    assert summary["assignments_by_kind"].keys() >= {"automatic", "reassigned", "requeued"}
    assert summary["outbound_by_status"].get("failed", 0) + summary["outbound_by_status"].get("undelivered", 0) > 0
    assert simulated["logins"] == simulated["logouts"] == PLAN.agents and simulated["breaks"] >= PLAN.agents
    assert simulated["customers_back_after_close"] > 0
    assert chats["by_status"] == {"closed": chats["total"]}, "the day after, every chat has been closed"
    assert summary["jobs_failed"] == 0


def test_the_log_passes_the_routing_audit_and_rebuilds_the_same(
        runs: tuple[Path, dict[str, Any], dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    var_dir, _, _ = runs
    monkeypatch.setenv("DESPACHO_VAR_DIR", str(var_dir))
    cli = CliRunner()

    audit = cli.invoke(main, ["audit", "routing"])
    rebuild = cli.invoke(main, ["projections", "rebuild", "--verify"])

    assert audit.exit_code == 0, audit.output
    assert rebuild.exit_code == 0, rebuild.output


def test_every_metric_of_the_simulated_day_counts_the_same_from_the_log(
        runs: tuple[Path, dict[str, Any], dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """What CI runs on a simulated day: `metrics verify` recounts every registered metric from the raw log."""
    var_dir, _, _ = runs
    monkeypatch.setenv("DESPACHO_VAR_DIR", str(var_dir))
    last = PLAN.start + timedelta(days=PLAN.days)  # the run goes on past midnight for the 24-hour closes

    verify = CliRunner().invoke(main, ["metrics", "verify", "--from", PLAN.start.isoformat(),
                                       "--to", last.isoformat()])

    assert verify.exit_code == 0, verify.output
    compared = re.search(r"^0 differences in (\d+) rows", verify.output, re.MULTILINE)
    assert compared is not None and int(compared.group(1)) >= PLAN.campaigns, verify.output


def test_the_command_refuses_a_database_that_already_has_events(
        runs: tuple[Path, dict[str, Any], dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    var_dir, _, _ = runs
    monkeypatch.setenv("DESPACHO_VAR_DIR", str(var_dir))

    result = CliRunner().invoke(main, ["simulate", "month", "--seed", "1", "--days", "1"])

    assert result.exit_code == 1
    assert "ya tiene eventos" in result.output
