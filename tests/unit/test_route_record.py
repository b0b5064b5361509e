"""The route recorder notes (method, path template) per running test and writes one JSON file for the run."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient

from tests.route_record import PROPERTY, RouteRecorder, matching_template, route_templates


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


def test_the_routes_a_test_called_travel_with_its_report_and_nothing_is_noted_between_tests(tmp_path: Path) -> None:
    recorder = RouteRecorder(tmp_path / "record.json")
    recorder.install()
    try:
        client = TestClient(small_app(tmp_path))
        recorder.current_test, recorder.current_routes = "tests/x.py::test_reads", set()
        client.get("/chats/1")
        client.head("/chats/2")
        client.post("/chats/1/close")
        routes = set(recorder.current_routes)
        recorder.current_test, recorder.current_routes = None, set()
        client.get("/chats/3")
    finally:
        recorder.uninstall()

    assert routes == {"GET /chats/{chat_id}", "POST /chats/{chat_id}/close"}
    assert recorder.current_routes == set()


def report(node_id: str, when: str, outcome: str, routes: list[str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(nodeid=node_id, when=when, failed=outcome == "failed", skipped=outcome == "skipped",
                           passed=outcome == "passed", user_properties=[(PROPERTY, routes)] if routes else [])


def test_outcomes_keep_a_failure_of_any_phase() -> None:
    recorder = RouteRecorder(Path("unused.json"))
    reports = [("a", "setup", "passed"), ("a", "call", "passed"), ("a", "teardown", "failed"),
               ("b", "setup", "passed"), ("b", "call", "passed"), ("b", "teardown", "passed"),
               ("c", "setup", "skipped")]
    for node_id, when, outcome in reports:
        recorder.pytest_runtest_logreport(report(node_id, when, outcome))  # type: ignore[arg-type]

    assert recorder.outcomes == {"a": "failed", "b": "passed", "c": "skipped"}


def test_the_controller_gathers_the_reports_of_every_worker_into_one_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "record.json"
    controller = RouteRecorder(path)
    for node_id, outcome, routes in (("t1", "passed", ["GET /a"]), ("t2", "failed", ["GET /a", "POST /b"])):
        controller.pytest_runtest_logreport(report(node_id, "call", outcome))  # type: ignore[arg-type]
        controller.pytest_runtest_logreport(report(node_id, "teardown", "passed", routes))  # type: ignore[arg-type]

    controller.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace()))  # type: ignore[arg-type]

    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["routes"] == {"GET /a": ["t1", "t2"], "POST /b": ["t2"]}
    assert record["outcomes"] == {"t1": "passed", "t2": "failed"}


def test_a_worker_writes_no_file(tmp_path: Path) -> None:
    worker = RouteRecorder(tmp_path / "record.json")
    worker.hits["GET /a"] = {"t1"}

    worker.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace(workerinput={})))  # type: ignore[arg-type]

    assert not (tmp_path / "record.json").exists()
