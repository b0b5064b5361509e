"""Production mode as deployed: separate `despacho api`, `worker` and two `projector` processes.

They share a fresh PostgreSQL database and a Redis database, are configured only by environment
variables, and are stopped with SIGTERM. A campaign created through the API reaches the read
tables through the projector processes; two projectors at once apply every event exactly once.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from adapters.event_store import sqlalchemy_url
from tests.conftest import WITH_CLOSING_TEMPLATE
from tests.e2e.production_support import (  # noqa: F401
    create_admin,
    despacho_command,
    healthy,
    postgres_database_fixture,
    processes,
    production_env,
    redis_database_fixture,
    wait_for,
)
from tests.services import free_port

# One at a time on one worker: each starts its own processes, and two side by side starve both on two cores.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.xdist_group("production_processes")]

ADMIN_PASSWORD = "clave-de-produccion-123"
AGENT_PASSWORD = "clave-de-asesor-456"


def log_in(client: httpx.Client, login: str, password: str) -> str:
    """Sign in like a browser; returns the CSRF token for the signed-in session."""
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    response = client.post("/login", data={"login": login, "password": password, "csrf_token": token.group(1)})
    assert response.status_code == 303, response.text
    home = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert home
    return home.group(1)


def listed_campaign(client: httpx.Client, code: str) -> dict[str, Any] | None:
    return next((c for c in client.get("/api/campaigns").json() if c["code"] == code), None)


def row_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            return {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("campaigns", "campaign_senders", "agents", "agent_campaigns",
                                  "agent_campaign_history", "agent_sessions")}
    finally:
        engine.dispose()



def test_production_processes_serve_project_and_stop_cleanly(database_url: str, redis_database: str,
                                                              tmp_path: Path) -> None:
    env = production_env(database_url, redis_database, tmp_path / "var")
    create_admin(env, tmp_path, "admin", ADMIN_PASSWORD)
    port = free_port()

    with processes(env, tmp_path) as start, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        running = [start("api", "api", "--host", "127.0.0.1", "--port", str(port)),
                   start("worker", "worker", "--threads", "2"),
                   start("projector-1", "projector"), start("projector-2", "projector")]
        wait_for(lambda: healthy(client), "the API to answer /healthz", running)
        csrf = {"X-CSRF-Token": log_in(client, "admin", ADMIN_PASSWORD)}

        response = client.post("/api/campaigns", headers=csrf,
                               json={"code": "banco_a", "name": "Banco A — Cobranza", "display_name": "Banco A",
                                     "settings": WITH_CLOSING_TEMPLATE})
        assert response.status_code == 201, response.text
        campaign_id = response.json()["id"]
        assert wait_for(lambda: listed_campaign(client, "banco_a"), "the campaign in the read table", running)

        for address, channel in (("whatsapp:+5716000001", "whatsapp"), ("+5716000011", "sms")):
            linked = client.post(f"/api/campaigns/{campaign_id}/senders", headers=csrf,
                                 json={"address": address, "channel": channel})
            assert linked.status_code == 204, linked.text
        for login in ("ana", "bruno", "carla"):
            agent = client.post("/api/agents", headers=csrf, json={
                "login": login, "name": login.title(), "password": AGENT_PASSWORD, "campaign_ids": [campaign_id]})
            assert agent.status_code == 201, agent.text
        wait_for(lambda: len(client.get("/api/agents").json()) == 4, "the agents in the read table", running)
        wait_for(lambda: all(lag == 0 for lag in client.get("/healthz").json()["projections"].values()),
                 "both projectors to reach the head of the log", running)

        # Two campaigns: banco_a and the unidentified customers' one, created by the install.
        assert row_counts(database_url) == {"campaigns": 2, "campaign_senders": 2, "agents": 4, "agent_campaigns": 3,
                                            "agent_campaign_history": 3, "agent_sessions": 1}
        assert len(listed_campaign(client, "banco_a")["senders"]) == 2  # type: ignore[index]
        verify = subprocess.run(despacho_command("projections", "rebuild", "--verify"), env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60, check=False)
        assert verify.returncode == 0, verify.stdout + verify.stderr

        for process in running:
            process.send_signal(signal.SIGTERM)
        exit_codes = [process.wait(timeout=20) for process in running]
        # uvicorn shuts down cleanly, then re-raises the signal it caught, as its exit status.
        assert exit_codes[0] in (0, -signal.SIGTERM)
        assert exit_codes[1:] == [0, 0, 0]
        for name in ("projector-1", "projector-2"):
            errors = [line for line in (tmp_path / f"{name}.log").read_text().splitlines() if '"ERROR"' in line]
            assert errors == [], f"{name} logged errors"
