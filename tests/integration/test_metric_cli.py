"""`despacho metrics verify` and `despacho metrics docs` on an embedded installation: a served day verifies
clean, a tampered counter makes it print the difference and exit 1; the docs command writes the registry's page."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.clock import FixedClock
from despacho.bootstrap import build
from despacho.cli import main as despacho_cli
from despacho.settings import Settings
from domain.metrics.docs import metrics_markdown
from projections.metric_facts import MetricsProjector
from tests.conftest import START
from tests.metric_world import MetricCenter

DAY = ("--from", "2026-11-02", "--to", "2026-11-02")


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A day where ana answers one chat in 30 s, in an embedded installation the CLI reads."""
    var_dir = tmp_path / "var"
    clock = FixedClock(START)
    despacho = build(Settings(var_dir=var_dir), clock=clock)
    center = MetricCenter(despacho, clock)
    center.available("ana")
    chat = center.identified("whatsapp:+573005550001")
    center.advance(30)
    center.reply("ana", chat)
    despacho.close()
    for name in ("DESPACHO_MODE", "DESPACHO_DATABASE_URL", "DESPACHO_READ_DATABASE_URL", "DESPACHO_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DESPACHO_VAR_DIR", str(var_dir))
    return var_dir


def test_verify_passes_on_a_served_day_and_fails_on_a_tampered_counter(var_dir: Path) -> None:
    runner = CliRunner()
    clean = runner.invoke(despacho_cli, ["metrics", "verify", *DAY], catch_exceptions=False)
    assert clean.exit_code == 0, clean.output
    assert "0 differences" in clean.output

    despacho = build(Settings(var_dir=var_dir))
    table = MetricsProjector().counters["campaign", "day"]
    with despacho.read_engine.begin() as connection:
        connection.execute(table.update().values(chats=table.c.chats + 1))
    despacho.close()
    tampered = runner.invoke(despacho_cli, ["metrics", "verify", *DAY], catch_exceptions=False)
    assert tampered.exit_code == 1
    assert "2026-11-02 campaign" in tampered.output and "chats_total: log 1.0 ≠ queries 2.0" in tampered.output


def test_a_bad_date_is_refused_plainly(var_dir: Path) -> None:
    result = CliRunner().invoke(despacho_cli, ["metrics", "verify", "--from", "ayer", "--to", "2026-11-02"])
    assert result.exit_code == 2 and "AAAA-MM-DD" in result.output


def test_docs_writes_the_registrys_page(tmp_path: Path) -> None:
    output = tmp_path / "metrics.md"
    result = CliRunner().invoke(despacho_cli, ["metrics", "docs", "--output", str(output)], catch_exceptions=False)
    assert result.exit_code == 0 and output.read_text(encoding="utf-8") == metrics_markdown()
