"""`despacho report endpoints`: every route of the app in docs/endpoints.md, with its roles, tests and state."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from fastapi.routing import iter_route_contexts

from api.app import create_app
from despacho.bootstrap import Despacho
from despacho.cli import main
from despacho.reports.endpoints import Endpoint, RunRecord, State, app_endpoints

CHAT = "/chats/{chat_id}"


def rows_of(markdown: str) -> dict[str, list[str]]:
    """Each table row by "METHOD /path": its cells."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and "`" in line:
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[f"{cells[0]} {cells[1].strip('`')}"] = cells
    return rows


def run_report(tmp_path: Path, record: dict[str, object] | None) -> dict[str, list[str]]:
    record_path = tmp_path / "record.json"
    if record is not None:
        record_path.write_text(json.dumps(record), encoding="utf-8")
    output = tmp_path / "endpoints.md"

    result = CliRunner().invoke(main, ["report", "endpoints", "--record", str(record_path), "--output", str(output)])

    assert result.exit_code == 0, result.output
    return rows_of(output.read_text(encoding="utf-8"))


def test_each_endpoint_is_functional_failing_or_only_implemented_as_the_recorded_run_says(tmp_path: Path) -> None:
    record = {"routes": {f"GET {CHAT}": ["tests/a.py::test_reads[sqlite]", "tests/a.py::test_reads[postgres]"],
                         f"POST {CHAT}/close": ["tests/a.py::test_reads[sqlite]", "tests/b.py::test_closes"]},
              "outcomes": {"tests/a.py::test_reads[sqlite]": "passed", "tests/a.py::test_reads[postgres]": "passed",
                           "tests/b.py::test_closes": "failed"}}

    rows = run_report(tmp_path, record)

    assert rows[f"GET {CHAT}"][3:] == ["página", "administrador, supervisor, asesor, auditor",
                                       "`tests/a.py::test_reads`", "funcional"]
    assert rows[f"POST {CHAT}/close"][-2:] == ["`tests/a.py::test_reads`, `tests/b.py::test_closes`", "**con fallas**"]
    assert rows["POST /webhooks/twilio/messages"][3:] == ["webhook de Twilio", "Twilio (firma)", "—", "implementado"]
    assert rows["GET /healthz"][4] == "público"


def test_without_a_record_the_table_is_written_and_says_there_is_no_test_data(tmp_path: Path) -> None:
    rows = run_report(tmp_path, None)

    assert rows and {cells[-1] for cells in rows.values()} == {State.NO_DATA.value}
    assert "sin datos de pruebas" in (tmp_path / "endpoints.md").read_text(encoding="utf-8")


def test_every_route_of_the_app_is_in_the_report(sqlite_despacho: Despacho, tmp_path: Path) -> None:
    app = create_app(sqlite_despacho)
    listed = {endpoint.key for endpoint in app_endpoints(app)}
    served = {f"{method} {route.path}" for route in iter_route_contexts(app.routes) if route.methods
              for method in route.methods if method != "HEAD"}

    assert served - listed == set()
    assert {"GET /live", "POST /webhooks/twilio/messages", "GET /chats/{chat_id}/transcript.pdf",
            "GET /static/{path:path}", "GET /openapi.json"} <= listed
    assert set(run_report(tmp_path, None)) == listed


def test_a_test_that_did_not_pass_nor_fail_leaves_its_endpoint_implemented() -> None:
    record = RunRecord(routes={"GET /a": ["t"]}, outcomes={"t": "skipped"})

    assert record.state_of(Endpoint("GET", "/a", "", "público", in_openapi=False)) is State.IMPLEMENTED
