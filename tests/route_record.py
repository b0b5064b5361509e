"""A pytest plugin recording which test calls which route, for `despacho report endpoints`.

With `--record-routes=PATH` every request any FastAPI app of the test process serves (through
TestClient or the live server's thread) is matched against that app's route table, and the pair
(method, path template) is noted for the running test. The routes a test called travel with its
teardown report (`user_properties`), so under pytest-xdist the controller, which alone sees every
report, gathers them as they arrive and writes PATH (JSON: the map and each test's outcome) at the
end, even when the run is interrupted. Without the option nothing is patched: the plugin costs nothing.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, compile_path

OPTION = "--record-routes"
PROPERTY = "despacho_routes"
RECORD_VERSION = 1

Template = tuple[frozenset[str] | None, re.Pattern[str], str]  # methods (None: any), regex, path template


class RouteRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.current_test: str | None = None
        self.current_routes: set[str] = set()
        self.hits: dict[str, set[str]] = defaultdict(set)  # "METHOD /template" → node ids
        self.outcomes: dict[str, str] = {}
        self._templates: WeakKeyDictionary[FastAPI, list[Template]] = WeakKeyDictionary()
        self._original_call: Callable[..., Awaitable[None]] | None = None

    def install(self) -> None:
        recorder = self
        original = self._original_call = FastAPI.__call__

        async def recording_call(app: FastAPI, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and recorder.current_test is not None:
                recorder.note(app, scope["method"], scope["path"])
            await original(app, scope, receive, send)

        FastAPI.__call__ = recording_call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original_call is not None:
            FastAPI.__call__ = self._original_call  # type: ignore[method-assign]

    def note(self, app: FastAPI, method: str, path: str) -> None:
        method = "GET" if method == "HEAD" else method  # Starlette answers HEAD with the GET route
        template = matching_template(self._route_templates(app), method, path)
        if template is not None:
            self.current_routes.add(f"{method} {template}")

    def _route_templates(self, app: FastAPI) -> list[Template]:
        if app not in self._templates:  # built once per app: the route table does not change while it serves
            self._templates[app] = route_templates(app)
        return self._templates[app]

    # --- hooks ---

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Any:
        self.current_test, self.current_routes = item.nodeid, set()
        yield
        self.current_test = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        if call.when == "teardown" and self.current_routes:
            outcome.get_result().user_properties.append((PROPERTY, sorted(self.current_routes)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, routes in report.user_properties:
            if name == PROPERTY:
                for route in routes:
                    self.hits[route].add(report.nodeid)
        previous = self.outcomes.get(report.nodeid)
        if report.failed or previous == "failed":
            self.outcomes[report.nodeid] = "failed"
        elif report.skipped and previous is None:
            self.outcomes[report.nodeid] = "skipped"
        elif report.when == "call" and report.passed:
            self.outcomes[report.nodeid] = "passed"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.uninstall()
        if hasattr(session.config, "workerinput"):  # an xdist worker: the controller writes the file
            return
        write_record(self.path, self.hits, self.outcomes)


def route_templates(app: FastAPI) -> list[Template]:
    """The app's routes in matching order, as Starlette tries them."""
    templates: list[Template] = []
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None:
            continue
        if isinstance(route.original_route, Mount):
            templates.append((None, re.compile(re.escape(path) + "(/.*)?$"), path + "/{path:path}"))
            continue
        regex, _, _ = compile_path(path)
        methods = frozenset(route.methods) if route.methods else None
        templates.append((methods, regex, path))
    return templates


def matching_template(templates: list[Template], method: str, path: str) -> str | None:
    for methods, regex, template in templates:
        if regex.match(path) and (methods is None or method in methods):
            return template
    return None


def write_record(path: Path, hits: dict[str, set[str]], outcomes: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"version": RECORD_VERSION,
              "routes": {route: sorted(tests) for route, tests in sorted(hits.items())},
              "outcomes": dict(sorted(outcomes.items()))}
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(OPTION, metavar="PATH", default=None,
                     help="write which test calls which route, and each test's outcome, to PATH (JSON)")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption(OPTION)
    if not path:
        return
    recorder = RouteRecorder(Path(path))
    recorder.install()
    config.pluginmanager.register(recorder, "despacho-route-recorder")
