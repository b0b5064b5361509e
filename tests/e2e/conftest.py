"""End-to-end fixtures: a real HTTP server over a built Despacho with demo data, and a browser page.

`live_server` runs uvicorn in a background thread on a free port, with the embedded projector
and worker, over SQLite in a temporary directory loaded by `despacho.demo.load_demo`.
`browser_page` is a fresh Chromium page (Debian's /usr/bin/chromium, driven by Playwright) in
Spanish (Colombia). Browser tests are marked `browser`; without Chromium they skip loudly.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.demo import load_demo
from despacho.runtime import background
from despacho.settings import Settings
from tests.services import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    despacho: Despacho

    def url(self, path: str) -> str:
        return self.base_url + path


def _wait_until_serving(server: uvicorn.Server, thread: threading.Thread, base_url: str) -> None:
    for _ in range(200):
        if server.started:
            httpx.get(base_url + "/healthz", timeout=5).raise_for_status()
            return
        if not thread.is_alive():
            break
        threading.Event().wait(0.05)
    raise RuntimeError("the test server did not start")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Despacho in embedded mode with the demo data, served over real HTTP for this test module."""
    settings = Settings(mode="embedded", var_dir=tmp_path_factory.mktemp("live") / "var")
    load_demo(settings)
    despacho = build(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(despacho), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    with background(despacho, projector=True, worker=True, scheduler=False):
        thread = threading.Thread(target=server.run, name="live-server", daemon=True)
        thread.start()
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_serving(server, thread, base_url)
            yield LiveServer(base_url, despacho)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    despacho.close()


def _chromium_or_skip() -> None:
    if CHROMIUM.exists() or shutil.which("chromium"):
        return
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("DESPACHO_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(f"SKIPPED LOUDLY: {message}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright; `playwright install` is never needed nor called."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A fresh page with no cookies, in Spanish (Colombia) like the call center's browsers."""
    context = browser.new_context(locale="es-CO", timezone_id="America/Bogota")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
