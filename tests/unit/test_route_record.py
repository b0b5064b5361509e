"""The route recorder notes (method, path template) per running test and writes one JSON file for the run."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient

from tests.route_record import WORKER_KEY, RouteRecorder, matching_template, route_templates


def small_app(tmp_path: Path) -> FastAPI:
    app = FastAPI()
    chats = APIRouter(prefix="/chats")

    @chats.get("/{chat_id}")
    def chat(chat_id: str) -> dict[str, str]:
        return {"id": chat_id}

    @chats.post("/{chat_id}/close")
    def close(chat_id: str) -> dict[str, str]:
        return {"closed": chat_id}

    @app.get("/files/{path:path}", include_in_schema=False)
    def file(path: str) -> dict[str, str]:
        return {"path": path}

    app.include_router(chats)
    app.mount("/static", StaticFiles(directory=tmp_path), name="static")
    return app


def test_a_request_is_matched_to_its_route_template_as_the_router_would(tmp_path: Path) -> None:
    templates = route_templates(small_app(tmp_path))

    assert matching_template(templates, "GET", "/chats/42") == "/chats/{chat_id}"
    assert matching_template(templates, "POST", "/chats/42/close") == "/chats/{chat_id}/close"
    assert matching_template(templates, "GET", "/files/a/b.pdf") == "/files/{path:path}"
    assert matching_template(templates, "GET", "/static/app.css") == "/static/{path:path}"
    assert matching_template(templates, "DELETE", "/chats/42") is None
    assert matching_template(templates, "GET", "/nowhere") is None


def test_requests_are_recorded_under_the_running_test_and_nothing_between_tests(tmp_path: Path) -> None:
    recorder = RouteRecorder(tmp_path / "record.json")
    recorder.install()
    try:
        client = TestClient(small_app(tmp_path))
        recorder.current_test = "tests/x.py::test_reads"
        client.get("/chats/1")
        client.get("/chats/2")
        recorder.current_test = "tests/x.py::test_closes"
        client.post("/chats/1/close")
        recorder.current_test = None
        client.get("/chats/3")
    finally:
        recorder.uninstall()

    assert dict(recorder.hits) == {"GET /chats/{chat_id}": {"tests/x.py::test_reads"},
                                   "POST /chats/{chat_id}/close": {"tests/x.py::test_closes"}}


def test_outcomes_keep_a_failure_of_any_phase() -> None:
    recorder = RouteRecorder(Path("unused.json"))
    reports = [("a", "setup", "passed"), ("a", "call", "passed"), ("a", "teardown", "failed"),
               ("b", "setup", "passed"), ("b", "call", "passed"), ("b", "teardown", "passed"),
               ("c", "setup", "skipped")]
    for node_id, when, outcome in reports:
        recorder.pytest_runtest_logreport(SimpleNamespace(  # type: ignore[arg-type]
            nodeid=node_id, when=when, failed=outcome == "failed", skipped=outcome == "skipped",
            passed=outcome == "passed"))

    assert recorder.outcomes == {"a": "failed", "b": "passed", "c": "skipped"}


def test_the_controller_merges_what_each_worker_recorded_into_one_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "record.json"
    controller = RouteRecorder(path)
    controller.outcomes = {"t1": "passed", "t2": "failed"}
    for worker_hits in ({"GET /a": ["t1"]}, {"GET /a": ["t2"], "POST /b": ["t2"]}):
        controller.pytest_testnodedown(SimpleNamespace(workeroutput={WORKER_KEY: worker_hits}), None)

    controller.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace()))  # type: ignore[arg-type]

    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["routes"] == {"GET /a": ["t1", "t2"], "POST /b": ["t2"]}
    assert record["outcomes"] == {"t1": "passed", "t2": "failed"}


def test_a_worker_hands_its_map_to_the_controller_and_writes_no_file(tmp_path: Path) -> None:
    worker = RouteRecorder(tmp_path / "record.json")
    worker.hits["GET /a"] = {"t2", "t1"}
    config = SimpleNamespace(workeroutput={})

    worker.pytest_sessionfinish(SimpleNamespace(config=config))  # type: ignore[arg-type]

    assert config.workeroutput == {WORKER_KEY: {"GET /a": ["t1", "t2"]}}
    assert not (tmp_path / "record.json").exists()
