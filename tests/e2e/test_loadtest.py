"""`despacho loadtest` against the production processes (`despacho api`, `worker`, `projector` on PostgreSQL and
Redis), sized for CI: a handful of customers for a quarter of a minute. The run sets its campaign up through the
API, its customers talk over signed webhooks and its agents answer and close; every invariant count is 0 and the
report carries throughput and each latency's percentiles."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.production_support import create_admin, despacho_command, healthy, processes, production_env, wait_for
from tests.services import free_port, fresh_postgres_database, fresh_redis_database

# One at a time on one worker: each starts its own processes, and two side by side starve both on two cores.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.xdist_group("production_processes")]

ADMIN_PASSWORD = "clave-de-carga-123"
START_SECONDS = 120  # importing the app takes a while on CI's two busy cores
INVARIANTS = {"entrantes perdidos", "entrantes aplicados dos veces", "salientes enviados dos veces",
              "salientes pedidos y nunca enviados", "chats sin asignación", "cierres sin confirmación o PDF",
              "hallazgos de audit routing", "diferencias de projections rebuild"}
LATENCIES = {"webhook_answer", "first_bot_reply", "queue_to_assignment", "agent_reply_sent"}


def test_a_small_load_keeps_every_invariant_and_reports_its_figures(tmp_path: Path) -> None:
    api_port, twilio_port = free_port(), free_port()
    with fresh_postgres_database() as database_url, fresh_redis_database() as redis_database:
        env = production_env(database_url, redis_database, tmp_path / "var",
                             DESPACHO_PUBLIC_URL=f"http://127.0.0.1:{api_port}",
                             DESPACHO_TWILIO_API_BASE_URL=f"http://127.0.0.1:{twilio_port}")
        create_admin(env, tmp_path, "admin", ADMIN_PASSWORD)
        with processes(env, tmp_path) as start, httpx.Client(base_url=f"http://127.0.0.1:{api_port}") as client:
            running = [start("api", "api", "--host", "127.0.0.1", "--port", str(api_port)),
                       start("worker", "worker", "--threads", "2"), start("projector", "projector")]
            wait_for(lambda: healthy(client), "the API to answer /healthz", running, seconds=START_SECONDS)
            run = subprocess.run(despacho_command(
                "loadtest", "--customers", "6", "--minutes", "0.25", "--agents", "2", "--think-seconds", "0.5",
                "--reply-seconds", "1", "--settle-seconds", "90", "--admin-password", ADMIN_PASSWORD, "--json"),
                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)

    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(run.stdout)
    assert set(figures["invariants"]) == INVARIANTS
    assert set(figures["invariants"].values()) == {0}
    assert set(figures["refused"].values()) == {0}
    assert figures["webhooks"] >= 6 * 4 and figures["webhooks_per_second"] > 0
    assert figures["agent_replies"] > 0 and figures["closes"] > 0
    for name in LATENCIES:
        latency = figures["latencies_ms"][name]
        assert latency["samples"] > 0, name
        assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"], name
