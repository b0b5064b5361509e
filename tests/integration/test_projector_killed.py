"""A `despacho projector` process killed with SIGKILL in the middle of projecting, then restarted,
loses and duplicates nothing: the rebuilt tables equal the live ones and every position is at the head."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest

from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from projections.rebuild import rebuild
from tests.services import fresh_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
AGENTS = 60
ROUNDS = 25


def projector(url: str, var_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESPACHO_")} | {
        "DESPACHO_DATABASE_URL": url, "DESPACHO_VAR_DIR": str(var_dir), "DESPACHO_PROJECTION_BATCH_SIZE": "20"}
    return subprocess.Popen([sys.executable, "-m", "despacho.cli", "projector"], env=env, cwd=var_dir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_projector_resumes_exactly_where_it_committed(tmp_path: Path) -> None:
    with fresh_postgres_database() as url:
        despacho = build(Settings(var_dir=tmp_path, database_url=url))
        try:
            ids: list[UUID] = [despacho.staff.register(f"asesor{n:03d}", f"Asesor {n}", "agent", password="x" * 12,
                                                       actor="t") for n in range(AGENTS)]
            sessions = {agent_id: despacho.staff.open_session(agent_id, "t") for agent_id in ids}
            for round_ in range(ROUNDS):
                for agent_id in ids:
                    status = ("available", "break")[round_ % 2]
                    despacho.staff.change_status(agent_id, status, session_id=sessions[agent_id], actor="t",
                                                 reason="almuerzo" if status == "break" else "")
            head = despacho.runner.head()
            first = projector(url, tmp_path)
            try:
                _wait_until(lambda: 0 < _lowest_position(despacho) < head, "the projector to start projecting")
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait(10)
            stopped_at = _lowest_position(despacho)
            assert stopped_at < head, "killed too late to prove anything; the log should be longer"
            second = projector(url, tmp_path)
            try:
                _wait_until(lambda: _lowest_position(despacho) >= head, "the restarted projector to catch up")
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(20)
            for projector_class in {type(p) for p in despacho.runner.projectors}:
                assert rebuild(despacho.store, despacho.read_engine, projector_class, replace_live=False) == []
        finally:
            despacho.close()


def _lowest_position(despacho: Despacho) -> int:
    return min(s.position for s in despacho.runner.status())


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")
